/*
 * Store contract cases for hash records: reads, update modes, conditions,
 * each assignment, TTL, renewal, the deadline cap, expiry and delete.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

static void deadline_text(char *buf, size_t cap, int64_t at_ms)
{
    snprintf(buf, cap, "%" PRId64, at_ms);
}

/* ---- reads, creates and modes ---- */

static void test_get_missing_is_not_found(void **state)
{
    sc_assert_absent(*state, "nope");
}

static void test_bad_arguments_are_invalid(void **state)
{
    sd_store *s = *state;
    sd_record r = SD_RECORD_INIT;
    sd_assign a = sc_set("f", "v");
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_get(s, NULL, "x", 0, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_get(s, SC_NS, "", 0, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_get(s, "", "x", 0, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_get(s, SC_NS, "x", -1, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_update(s, SC_NS, "x", NULL, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_store_update(s, SC_NS, NULL, &u, NULL), SD_ERR_INVALID);
    u.ttl_ms = -5;
    assert_int_equal(sd_store_update(s, SC_NS, "x", &u, NULL), SD_ERR_INVALID);
    u.ttl_ms = 0;
    a.name = NULL;
    assert_int_equal(sd_store_update(s, SC_NS, "x", &u, NULL), SD_ERR_INVALID);
    a = (sd_assign){"f", SD_ASSIGN_SET, NULL, 3, 0};
    assert_int_equal(sd_store_update(s, SC_NS, "x", &u, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_store_del(s, SC_NS, ""), SD_ERR_INVALID);
    sc_assert_absent(s, "x");
}

static void test_create_then_get_returns_every_field(void **state)
{
    sd_store *s = *state;
    static const char bin[] = {'a', '\0', 'b'};
    sd_assign a[] = {sc_set("status", "queued"), sc_set("empty", ""),
                     {"bin", SD_ASSIGN_SET, bin, sizeof bin, 0}};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, a, 3, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.expires_ms, 0);
    sc_assert_field(&r, "status", "queued");
    sc_assert_field(&r, "empty", "");
    size_t len = 0;
    const char *v = sd_record_get(&r, "bin", &len);
    assert_non_null(v);
    assert_int_equal(len, 3);
    assert_memory_equal(v, bin, 3);
    assert_null(sd_record_get(&r, "missing", NULL));
    sd_record_clear(&r);
}

static void test_create_of_existing_is_exists_and_changes_nothing(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "status", "queued", 0);
    sd_assign a = sc_set("status", "other");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, &a, 1, NULL), SD_ERR_EXISTS);
    sc_assert_stored(s, "r1", "status", "queued");
}

static void test_update_existing_of_missing_is_not_found(void **state)
{
    sd_store *s = *state;
    sd_assign a = sc_set("status", "x");
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 1000, &a, 1, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(r.count, 0);
    sc_assert_absent(s, "r1");
}

static void test_upsert_creates_then_updates_in_place(void **state)
{
    sd_store *s = *state;
    sd_assign a1[] = {sc_set("a", "1"), sc_set("b", "2")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_UPSERT, 0, a1, 2, NULL), SD_OK);
    sd_assign a2 = sc_set("b", "3");
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_UPSERT, 0, &a2, 1, &r), SD_OK);
    assert_int_equal(r.count, 2);
    sc_assert_field(&r, "a", "1");
    sc_assert_field(&r, "b", "3");
    sd_record_clear(&r);
    sc_assert_stored(s, "r1", "b", "3");
}

/* ---- conditions ---- */

static sd_err cond_update(sd_store *s, const char *const *vals, size_t nvals,
                          const char *new_status, sd_record *out)
{
    sd_assign a[] = {sc_set("status", new_status), sc_set("touched", "yes")};
    sd_update u = {SD_UPDATE_EXISTING, "status", vals, nvals, a, 2, 0, false, 0};
    return sd_store_update(s, SC_NS, "job", &u, out);
}

static void test_condition_matching_one_value_applies(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "job", "status", "processing", 0);
    const char *vals[] = {"queued", "processing"};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(cond_update(s, vals, 2, "completed", &r), SD_OK);
    sc_assert_field(&r, "status", "completed");
    sc_assert_field(&r, "touched", "yes");
    sd_record_clear(&r);
}

static void test_condition_mismatch_is_conflict_with_current_record(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "job", "status", "completed", 0);
    const char *vals[] = {"queued", "processing"};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(cond_update(s, vals, 2, "canceled", &r), SD_ERR_CONFLICT);
    assert_int_equal(r.count, 1);
    sc_assert_field(&r, "status", "completed");
    sd_record_clear(&r);
    sc_assert_stored(s, "job", "status", "completed");
    assert_int_equal(sd_store_get(s, SC_NS, "job", 0, &r), SD_OK);
    assert_null(sd_record_get(&r, "touched", NULL));
    sd_record_clear(&r);
    assert_int_equal(cond_update(s, vals, 2, "canceled", NULL), SD_ERR_CONFLICT);
}

static void test_condition_on_absent_field_is_conflict(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "job", "other", "x", 0);
    const char *vals[] = {""};
    assert_int_equal(cond_update(s, vals, 1, "processing", NULL), SD_ERR_CONFLICT);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "job", 0, &r), SD_OK);
    assert_int_equal(r.count, 1);
    sd_record_clear(&r);
}

static void test_condition_not_checked_when_upsert_creates(void **state)
{
    sd_store *s = *state;
    const char *vals[] = {"queued"};
    sd_assign a = sc_set("status", "processing");
    sd_update u = {SD_UPDATE_UPSERT, "status", vals, 1, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, SC_NS, "job", &u, NULL), SD_OK);
    sc_assert_stored(s, "job", "status", "processing");
    assert_int_equal(sd_store_update(s, SC_NS, "job", &u, NULL), SD_ERR_CONFLICT);
}

/* ---- assignments ---- */

static void test_setnx_keeps_existing_and_sets_absent(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "old", 0);
    sd_assign a[] = {sc_setnx("a", "new"), sc_setnx("b", "first")};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a, 2, &r), SD_OK);
    sc_assert_field(&r, "a", "old");
    sc_assert_field(&r, "b", "first");
    sd_record_clear(&r);
}

static void test_incr_adds_to_number_and_absent_counts_as_zero(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "n", "5", 0);
    sd_assign a[] = {sc_incr("n", 3), sc_incr("m", -7), sc_incr("z", 0)};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a, 3, &r), SD_OK);
    sc_assert_field(&r, "n", "8");
    sc_assert_field(&r, "m", "-7");
    sc_assert_field(&r, "z", "0");
    int64_t v = 0;
    assert_int_equal(sd_record_get_i64(&r, "m", &v), SD_OK);
    assert_int_equal(v, -7);
    sd_record_clear(&r);
}

static void test_incr_of_non_number_is_invalid_and_changes_nothing(void **state)
{
    sd_store *s = *state;
    sd_assign init[] = {sc_set("word", "abc"), sc_set("keep", "1"), sc_set("num", "12x")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, init, 3, NULL), SD_OK);
    sd_assign a1[] = {sc_set("keep", "2"), sc_incr("word", 1)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a1, 2, NULL), SD_ERR_INVALID);
    sd_assign a2[] = {sc_del("keep"), sc_incr("num", 1)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a2, 2, NULL), SD_ERR_INVALID);
    sd_assign a3[] = {sc_set("fresh", "x"), sc_incr("fresh", 1)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a3, 2, NULL), SD_ERR_INVALID);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.count, 3);
    sc_assert_field(&r, "word", "abc");
    sc_assert_field(&r, "keep", "1");
    sc_assert_field(&r, "num", "12x");
    int64_t v = 0;
    assert_int_equal(sd_record_get_i64(&r, "word", &v), SD_ERR_INVALID);
    assert_int_equal(sd_record_get_i64(&r, "nothing", &v), SD_ERR_NOT_FOUND);
    sd_record_clear(&r);
}

static void test_incr_past_int64_is_invalid(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "n", "9223372036854775806", 0);
    sd_assign a = sc_incr("n", 2);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &a, 1, NULL), SD_ERR_INVALID);
    sc_assert_stored(s, "r1", "n", "9223372036854775806");
    a = sc_incr("n", 1);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &a, 1, NULL), SD_OK);
    sc_assert_stored(s, "r1", "n", "9223372036854775807");
}

static void test_assignments_apply_in_order(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "y", "old", 0);
    sd_assign a[] = {sc_set("x", "1"), sc_incr("x", 2), sc_del("y"), sc_setnx("y", "new"),
                     sc_set("z", "a"), sc_set("z", "b")};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a, 6, &r), SD_OK);
    assert_int_equal(r.count, 3);
    sc_assert_field(&r, "x", "3");
    sc_assert_field(&r, "y", "new");
    sc_assert_field(&r, "z", "b");
    sd_record_clear(&r);
}

static void test_del_assign_removes_field(void **state)
{
    sd_store *s = *state;
    sd_assign init[] = {sc_set("a", "1"), sc_set("b", "2")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, init, 2, NULL), SD_OK);
    sd_assign a[] = {sc_del("a"), sc_del("never")};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, a, 2, &r), SD_OK);
    assert_int_equal(r.count, 1);
    assert_null(sd_record_get(&r, "a", NULL));
    sc_assert_field(&r, "b", "2");
    sd_record_clear(&r);
}

static void test_deleting_last_field_removes_record(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "1", 0);
    sd_assign a = sc_del("a");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &a, 1, NULL), SD_OK);
    sc_assert_absent(s, "r1");
    sc_assert_count_becomes(s, SC_NS, 0);
}

/* ---- TTL and deadline ---- */

static void test_ttl_sets_expiry_and_zero_keeps_it(void **state)
{
    sd_store *s = *state;
    sd_assign a = sc_set("a", "1");
    sd_record r = SD_RECORD_INIT;
    int64_t before = sd_now_ms();
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 5000, &a, 1, &r), SD_OK);
    int64_t after = sd_now_ms();
    int64_t exp = r.expires_ms;
    assert_in_range(exp, before + 5000, after + 5000);
    sd_record_clear(&r);
    a = sc_set("a", "2");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &a, 1, &r), SD_OK);
    assert_int_equal(r.expires_ms, exp);
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, exp);
    sd_record_clear(&r);
}

static void test_record_created_without_ttl_never_expires(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "1", 0);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, 0);
    sd_record_clear(&r);
}

static void test_get_renews_ttl(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "1", 200);
    sd_record r = SD_RECORD_INIT;
    int64_t before = sd_now_ms();
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 60000, &r), SD_OK);
    int64_t after = sd_now_ms();
    int64_t exp = r.expires_ms;
    assert_in_range(exp, before + 60000, after + 60000);
    sd_record_clear(&r);
    sc_sleep_ms(400);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, exp);
    sc_assert_field(&r, "a", "1");
    sd_record_clear(&r);
}

/* A poll that would move the expiry by no more than a tenth of the TTL
 * leaves it (and costs no write); one that moves it further renews, and
 * a get renews whatever the drift. */
static void test_poll_renewal_within_a_tenth_of_the_ttl_keeps_the_expiry(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "1", 60000);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    int64_t put_exp = r.expires_ms;
    sd_record_clear(&r);
    sc_sleep_ms(20);
    assert_int_equal(sd_store_poll(s, SC_NS, "r1", 60000, &r), SD_OK);
    assert_int_equal(r.expires_ms, put_exp);
    sc_assert_field(&r, "a", "1");
    sd_record_clear(&r);
    int64_t before = sd_now_ms();
    assert_int_equal(sd_store_poll(s, SC_NS, "r1", 120000, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 120000, sd_now_ms() + 120000);
    int64_t renewed = r.expires_ms;
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, renewed);
    sd_record_clear(&r);
    sc_sleep_ms(20);
    before = sd_now_ms();
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 120000, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 120000, sd_now_ms() + 120000);
    assert_true(r.expires_ms > renewed);
    sd_record_clear(&r);
}

/* An update with slack_ms leaves out a renewal that would move a live
 * record's expiry forward by no more than the slack, and writes its
 * fields all the same; a renewal past the slack, one that shortens the
 * expiry, and one the deadline caps are made. A negative slack is
 * refused. */
static void test_update_renewal_within_its_slack_keeps_the_expiry(void **state)
{
    sd_store *s = *state;
    char dl[32];
    int64_t t0 = sd_now_ms();
    deadline_text(dl, sizeof dl, t0 + 600000);
    sd_assign a[] = {sc_set("a", "1"), sc_set(SD_FIELD_DEADLINE, dl)};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 60000, a, 2, &r), SD_OK);
    int64_t created = r.expires_ms;
    sd_record_clear(&r);
    sc_sleep_ms(20);

    sd_assign b = sc_set("a", "2");
    sd_update u = {.mode = SD_UPDATE_EXISTING, .assign = &b, .assign_count = 1,
                   .ttl_ms = 60000, .slack_ms = 6000};
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &u, &r), SD_OK);
    assert_int_equal(r.expires_ms, created);
    sc_assert_field(&r, "a", "2");
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, created);
    sc_assert_field(&r, "a", "2");
    sd_record_clear(&r);

    /* Past the slack: renewed. */
    u.slack_ms = 10;
    int64_t before = sd_now_ms();
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &u, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 60000, sd_now_ms() + 60000);
    assert_true(r.expires_ms > created);
    int64_t renewed = r.expires_ms;
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, renewed);
    sd_record_clear(&r);

    /* Capped by the deadline, though within the slack: renewed to it. */
    u.ttl_ms = 700000;
    u.slack_ms = 600000;
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &u, &r), SD_OK);
    assert_int_equal(r.expires_ms, t0 + 600000);
    sd_record_clear(&r);

    /* A shorter TTL moves the expiry back, whatever the slack. */
    u.ttl_ms = 1000;
    u.slack_ms = 60000;
    before = sd_now_ms();
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &u, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 1000, sd_now_ms() + 1000);
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 0, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 1000, sd_now_ms() + 1000);
    sc_assert_field(&r, "a", "2");
    sd_record_clear(&r);

    u.slack_ms = -1;
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &u, &r), SD_ERR_INVALID);
}

static void test_update_ttl_capped_by_deadline(void **state)
{
    sd_store *s = *state;
    char dl[32];
    int64_t deadline = sd_now_ms() + 3000;
    deadline_text(dl, sizeof dl, deadline);
    sd_assign a[] = {sc_set("a", "1"), sc_set(SD_FIELD_DEADLINE, dl)};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 60000, a, 2, &r), SD_OK);
    assert_int_equal(r.expires_ms, deadline);
    sd_record_clear(&r);
    sd_assign b = sc_set("a", "2");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 60000, &b, 1, &r), SD_OK);
    assert_int_equal(r.expires_ms, deadline);
    sd_record_clear(&r);
}

static void test_get_renewal_capped_by_deadline(void **state)
{
    sd_store *s = *state;
    char dl[32];
    int64_t deadline = sd_now_ms() + 3000;
    deadline_text(dl, sizeof dl, deadline);
    sd_assign a = sc_set(SD_FIELD_DEADLINE, dl);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 1000, &a, 1, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 60000, &r), SD_OK);
    assert_int_equal(r.expires_ms, deadline);
    sd_record_clear(&r);
}

static void test_later_deadline_does_not_shorten_ttl(void **state)
{
    sd_store *s = *state;
    char dl[32];
    deadline_text(dl, sizeof dl, sd_now_ms() + 3600000);
    sd_assign a = sc_set(SD_FIELD_DEADLINE, dl);
    sd_record r = SD_RECORD_INIT;
    int64_t before = sd_now_ms();
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 5000, &a, 1, &r), SD_OK);
    assert_in_range(r.expires_ms, before + 5000, sd_now_ms() + 5000);
    sd_record_clear(&r);
}

static void test_update_with_passed_deadline_removes_record(void **state)
{
    sd_store *s = *state;
    char dl[32];
    deadline_text(dl, sizeof dl, sd_now_ms() - 1000);
    sd_assign a[] = {sc_set("a", "1"), sc_set(SD_FIELD_DEADLINE, dl)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 60000, a, 2, NULL), SD_OK);
    sc_assert_absent(s, "r1");
}

static void test_get_renewal_past_deadline_is_not_found(void **state)
{
    sd_store *s = *state;
    char dl[32];
    deadline_text(dl, sizeof dl, sd_now_ms() - 1000);
    sd_assign a = sc_set(SD_FIELD_DEADLINE, dl);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, &a, 1, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 1000, &r), SD_ERR_NOT_FOUND);
    sc_assert_absent(s, "r1");
}

static void test_expired_record_is_absent_for_every_operation(void **state)
{
    sd_store *s = *state;
    sd_assign a = sc_set("old", "1");
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 100, &a, 1, &r), SD_OK);
    sc_wait_past(r.expires_ms);
    sd_record_clear(&r);
    sc_assert_absent(s, "r1");
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 60000, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &a, 1, NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_ERR_NOT_FOUND);
    sd_list l = SD_LIST_INIT;
    assert_int_equal(sd_store_list_get(s, SC_NS, "r1", 0, &l), SD_ERR_NOT_FOUND);
    sc_assert_count_becomes(s, SC_NS, 0);
    sd_assign b = sc_set("new", "2");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, &b, 1, &r), SD_OK);
    assert_int_equal(r.count, 1);
    assert_null(sd_record_get(&r, "old", NULL));
    assert_int_equal(r.expires_ms, 0);
    sd_record_clear(&r);
}

static void test_del_removes_record_once(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", "a", "1", 0);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_OK);
    sc_assert_absent(s, "r1");
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_ERR_NOT_FOUND);
}

static const struct CMUnitTest hash_tests[] = {
    SC_CASE(test_get_missing_is_not_found),
    SC_CASE(test_bad_arguments_are_invalid),
    SC_CASE(test_create_then_get_returns_every_field),
    SC_CASE(test_create_of_existing_is_exists_and_changes_nothing),
    SC_CASE(test_update_existing_of_missing_is_not_found),
    SC_CASE(test_upsert_creates_then_updates_in_place),
    SC_CASE(test_condition_matching_one_value_applies),
    SC_CASE(test_condition_mismatch_is_conflict_with_current_record),
    SC_CASE(test_condition_on_absent_field_is_conflict),
    SC_CASE(test_condition_not_checked_when_upsert_creates),
    SC_CASE(test_setnx_keeps_existing_and_sets_absent),
    SC_CASE(test_incr_adds_to_number_and_absent_counts_as_zero),
    SC_CASE(test_incr_of_non_number_is_invalid_and_changes_nothing),
    SC_CASE(test_incr_past_int64_is_invalid),
    SC_CASE(test_assignments_apply_in_order),
    SC_CASE(test_del_assign_removes_field),
    SC_CASE(test_deleting_last_field_removes_record),
    SC_CASE(test_ttl_sets_expiry_and_zero_keeps_it),
    SC_CASE(test_record_created_without_ttl_never_expires),
    SC_CASE(test_get_renews_ttl),
    SC_CASE(test_poll_renewal_within_a_tenth_of_the_ttl_keeps_the_expiry),
    SC_CASE(test_update_renewal_within_its_slack_keeps_the_expiry),
    SC_CASE(test_update_ttl_capped_by_deadline),
    SC_CASE(test_get_renewal_capped_by_deadline),
    SC_CASE(test_later_deadline_does_not_shorten_ttl),
    SC_CASE(test_update_with_passed_deadline_removes_record),
    SC_CASE(test_get_renewal_past_deadline_is_not_found),
    SC_CASE(test_expired_record_is_absent_for_every_operation),
    SC_CASE(test_del_removes_record_once),
};

const struct CMUnitTest *sc_hash_tests(size_t *count)
{
    *count = sizeof hash_tests / sizeof hash_tests[0];
    return hash_tests;
}
