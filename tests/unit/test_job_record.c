/*
 * How a run tells, after a store step whose answer was lost, that its
 * own change landed (job_record_shows): the record holds every value
 * the change set, times included, and none of the fields it deleted; a
 * record another run or the reaper changed since does not count, and
 * increments are not looked at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jobs/job_record.h"

/* The end of a run that completed, as worker.c makes it: status, times
 * and result set, run deleted, completions incremented. */
static sd_assign end_assign[] = {
    {.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = "completed", .len = 9},
    {.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = "1796673688872", .len = 13},
    {.name = JOB_F_RUN, .op = SD_ASSIGN_DEL},
    {.name = JOB_F_RESULT, .op = SD_ASSIGN_SET, .value = "{\"n\":1}", .len = 7},
    {.name = JOB_F_COMPLETIONS, .op = SD_ASSIGN_INCR, .incr = 1},
};

static const sd_update end_change = {.mode = SD_UPDATE_EXISTING, .assign = end_assign,
                                     .assign_count = sizeof end_assign / sizeof end_assign[0]};

/* Whether a record of fields (name, value pairs, NULL-terminated)
 * shows the end of the run. */
static bool shows_end(const char *const *fields)
{
    sd_record r = SD_RECORD_INIT;
    for (size_t i = 0; fields[i] != NULL; i += 2)
        assert_int_equal(sd_record_set(&r, fields[i], fields[i + 1], strlen(fields[i + 1])),
                         SD_OK);
    bool shows = job_record_shows(&r, &end_change);
    sd_record_clear(&r);
    return shows;
}

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_record_after_the_change_shows_it(void **state)
{
    (void)state;
    assert_true(shows_end(FIELDS("status", "completed", "updated_ms", "1796673688872", "result",
                                 "{\"n\":1}", "kind", "research")));
}

static void test_increments_are_not_compared(void **state)
{
    (void)state;
    assert_true(shows_end(FIELDS("status", "completed", "updated_ms", "1796673688872", "result",
                                 "{\"n\":1}", "completions", "7")));
}

static void test_record_still_holding_a_deleted_field_does_not_show_it(void **state)
{
    (void)state;
    assert_false(shows_end(FIELDS("status", "completed", "updated_ms", "1796673688872", "result",
                                  "{\"n\":1}", "run", "a:n0")));
}

static void test_record_another_run_changed_does_not_show_it(void **state)
{
    (void)state;
    /* The same status and result from another run, at another time. */
    assert_false(shows_end(FIELDS("status", "completed", "updated_ms", "1796673699000", "result",
                                  "{\"n\":1}")));
}

static void test_record_requeued_by_the_reaper_does_not_show_it(void **state)
{
    (void)state;
    assert_false(shows_end(FIELDS("status", "queued", "updated_ms", "1796673688872")));
}

static void test_value_set_is_compared_by_length_too(void **state)
{
    (void)state;
    assert_false(shows_end(FIELDS("status", "completed", "updated_ms", "1796673688872", "result",
                                  "{\"n\":1}0")));
    /* A field the change sets, absent. */
    assert_false(shows_end(FIELDS("status", "completed", "updated_ms", "1796673688872")));
}

static void test_last_assignment_of_a_field_counts(void **state)
{
    (void)state;
    /* A retry's change: due now, then due at the retry's time. */
    sd_assign a[] = {
        {.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = "queued", .len = 6},
        {.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = "1000", .len = 4},
        {.name = JOB_F_RUN, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = "2000", .len = 4},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .assign = a, .assign_count = 4};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_record_set(&r, "status", "queued", 6), SD_OK);
    assert_int_equal(sd_record_set(&r, "due_ms", "2000", 4), SD_OK);
    assert_true(job_record_shows(&r, &u));
    assert_int_equal(sd_record_set(&r, "due_ms", "1000", 4), SD_OK);
    assert_false(job_record_shows(&r, &u));
    sd_record_clear(&r);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_after_the_change_shows_it),
        cmocka_unit_test(test_increments_are_not_compared),
        cmocka_unit_test(test_record_still_holding_a_deleted_field_does_not_show_it),
        cmocka_unit_test(test_record_another_run_changed_does_not_show_it),
        cmocka_unit_test(test_record_requeued_by_the_reaper_does_not_show_it),
        cmocka_unit_test(test_value_set_is_compared_by_length_too),
        cmocka_unit_test(test_last_assignment_of_a_field_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
