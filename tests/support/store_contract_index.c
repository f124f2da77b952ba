/*
 * Store contract cases for value counts (index and count_by): which
 * records count under which value after every kind of change (create,
 * update, a failed update, deleting the field, delete, expiry, renewal,
 * clear), the refusals, and concurrent changes leaving counts that match
 * the records.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

#define FIELD "status"

/* count_by(SC_NS, value), which must succeed. */
static int64_t count_by(sd_store *s, const char *value)
{
    int64_t n = -1;
    assert_int_equal(sd_store_count_by(s, SC_NS, value, &n), SD_OK);
    return n;
}

static int64_t count_of(sd_store *s)
{
    int64_t n = -1;
    assert_int_equal(sd_store_count(s, SC_NS, &n), SD_OK);
    return n;
}

static void index_status(sd_store *s)
{
    assert_int_equal(sd_store_index(s, SC_NS, FIELD), SD_OK);
}

/* Sets FIELD of the existing record id to value, with ttl_ms as update. */
static sd_err set_status(sd_store *s, const char *id, const char *value, int64_t ttl_ms)
{
    sd_assign a = sc_set(FIELD, value);
    return sc_update(s, id, SD_UPDATE_EXISTING, ttl_ms, &a, 1, NULL);
}

/* ---- creates and updates ---- */

static void test_count_by_counts_each_value_after_creates(void **state)
{
    sd_store *s = *state;
    index_status(s);
    assert_int_equal(count_by(s, "queued"), 0);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "queued", 60000);
    sc_put1(s, "r3", FIELD, "running", 0);
    sc_put1(s, "r4", FIELD, "", 0);
    sc_put1(s, "r5", "other", "queued", 0);
    const char *items[] = {"queued"};
    size_t lens[] = {6};
    assert_int_equal(sd_store_list_append(s, SC_NS, "l1", items, lens, 1, 0, 0, NULL), SD_OK);
    sd_assign a = sc_set(FIELD, "queued");
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "elsewhere", "r1", &u, NULL), SD_OK);

    assert_int_equal(count_by(s, "queued"), 2);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(count_by(s, ""), 1);
    assert_int_equal(count_by(s, "done"), 0);
    assert_int_equal(count_by(s, "Queued"), 0);
    assert_int_equal(count_by(s, "queue"), 0);
    assert_int_equal(count_of(s), 6);
}

static void test_values_and_namespaces_with_separators_count_apart(void **state)
{
    sd_store *s = *state;
    index_status(s);
    static const char *const values[] = {"a:b", "a%3Ab", "a%b", "a", "a:", ":b"};
    size_t n = sizeof values / sizeof *values;
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%zu", i);
        sc_put1(s, id, FIELD, values[i], 0);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(count_by(s, values[i]), 1);
    assert_int_equal(count_by(s, "b"), 0);

    /* "x" counting value "y:v" and "x:y" counting value "v" are apart. */
    assert_int_equal(sd_store_index(s, "x", FIELD), SD_OK);
    assert_int_equal(sd_store_index(s, "x:y", FIELD), SD_OK);
    sd_assign a = sc_set(FIELD, "y:v");
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "x", "r1", &u, NULL), SD_OK);
    int64_t got = -1;
    assert_int_equal(sd_store_count_by(s, "x", "y:v", &got), SD_OK);
    assert_int_equal(got, 1);
    assert_int_equal(sd_store_count_by(s, "x:y", "v", &got), SD_OK);
    assert_int_equal(got, 0);
    a = sc_set(FIELD, "v");
    assert_int_equal(sd_store_update(s, "x:y", "r1", &u, NULL), SD_OK);
    assert_int_equal(sd_store_count_by(s, "x:y", "v", &got), SD_OK);
    assert_int_equal(got, 1);
    assert_int_equal(sd_store_count_by(s, "x", "y:v", &got), SD_OK);
    assert_int_equal(got, 1);
}

static void test_update_moves_record_between_values(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "queued", 0);
    assert_int_equal(set_status(s, "r1", "running", 0), SD_OK);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_by(s, "running"), 1);

    /* Other fields, the same value again, and SETNX of a present field
     * move nothing. */
    sd_assign other = sc_set("progress", "50");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 60000, &other, 1, NULL), SD_OK);
    assert_int_equal(set_status(s, "r1", "running", 0), SD_OK);
    sd_assign nx = sc_setnx(FIELD, "done");
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &nx, 1, NULL), SD_OK);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(count_by(s, "done"), 0);

    /* Only the value after every assignment counts. */
    sd_assign two[] = {sc_set(FIELD, "a"), sc_set(FIELD, "b")};
    assert_int_equal(sc_update(s, "r2", SD_UPDATE_EXISTING, 0, two, 2, NULL), SD_OK);
    assert_int_equal(count_by(s, "queued"), 0);
    assert_int_equal(count_by(s, "a"), 0);
    assert_int_equal(count_by(s, "b"), 1);

    sd_assign up = sc_set(FIELD, "done");
    assert_int_equal(sc_update(s, "r3", SD_UPDATE_UPSERT, 0, &up, 1, NULL), SD_OK);
    assert_int_equal(sc_update(s, "r2", SD_UPDATE_UPSERT, 0, &up, 1, NULL), SD_OK);
    assert_int_equal(count_by(s, "done"), 2);
    assert_int_equal(count_by(s, "b"), 0);
    assert_int_equal(count_by(s, "running"), 1);
}

static void test_failed_updates_do_not_move_counts(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sd_assign make[] = {sc_set(FIELD, "queued"), sc_set("word", "x")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, make, 2, NULL), SD_OK);

    const char *running[] = {"running"};
    sd_assign done = sc_set(FIELD, "done");
    sd_update cond = {SD_UPDATE_EXISTING, FIELD, running, 1, &done, 1, 0, false, 0};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &cond, &r), SD_ERR_CONFLICT);
    sc_assert_field(&r, FIELD, "queued");
    sd_record_clear(&r);

    sd_assign bad[] = {sc_set(FIELD, "done"), sc_incr("word", 1)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, bad, 2, NULL), SD_ERR_INVALID);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, &done, 1, NULL), SD_ERR_EXISTS);
    assert_int_equal(sc_update(s, "r9", SD_UPDATE_EXISTING, 0, &done, 1, NULL),
                     SD_ERR_NOT_FOUND);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_by(s, "done"), 0);

    const char *queued[] = {"queued"};
    cond.cond_values = queued;
    assert_int_equal(sd_store_update(s, SC_NS, "r1", &cond, NULL), SD_OK);
    assert_int_equal(count_by(s, "queued"), 0);
    assert_int_equal(count_by(s, "done"), 1);
}

/* ---- removal ---- */

static void test_deleting_the_field_stops_counting(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sd_assign make[] = {sc_set(FIELD, "queued"), sc_set("kind", "demo")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, make, 2, NULL), SD_OK);
    sc_put1(s, "r2", FIELD, "queued", 60000);
    assert_int_equal(count_by(s, "queued"), 2);

    sd_assign del = sc_del(FIELD);
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_EXISTING, 0, &del, 1, NULL), SD_OK);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_by(s, ""), 0);
    sc_assert_stored(s, "r1", "kind", "demo");
    assert_int_equal(set_status(s, "r1", "running", 0), SD_OK);
    assert_int_equal(count_by(s, "running"), 1);

    /* r2's only field: the record goes with it. */
    assert_int_equal(sc_update(s, "r2", SD_UPDATE_EXISTING, 0, &del, 1, NULL), SD_OK);
    sc_assert_absent(s, "r2");
    assert_int_equal(count_by(s, "queued"), 0);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(count_of(s), 1);
}

static void test_deleted_record_stops_counting(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "queued", 60000);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_OK);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_ERR_NOT_FOUND);
    assert_int_equal(count_by(s, "queued"), 1);
    sc_put1(s, "r1", FIELD, "running", 0);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(sd_store_del(s, SC_NS, "r2"), SD_OK);
    assert_int_equal(count_by(s, "queued"), 0);
}

static void test_expired_record_stops_counting(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sd_assign a = sc_set(FIELD, "queued");
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "short", SD_UPDATE_CREATE, 100, &a, 1, &r), SD_OK);
    int64_t last = r.expires_ms;
    sd_record_clear(&r);
    sc_put1(s, "kept", FIELD, "queued", 0);
    /* Made to expire by an update of another field. */
    sc_put1(s, "shortened", FIELD, "queued", 0);
    sd_assign other = sc_set("stage", "x");
    assert_int_equal(sc_update(s, "shortened", SD_UPDATE_EXISTING, 150, &other, 1, &r), SD_OK);
    if (r.expires_ms > last)
        last = r.expires_ms;
    sd_record_clear(&r);
    assert_int_equal(count_by(s, "queued"), 3);
    sc_wait_past(last);
    sc_assert_count_by_becomes(s, SC_NS, "queued", 1);
    sc_assert_count_becomes(s, SC_NS, 1);
    sc_assert_absent(s, "short");
    sc_assert_absent(s, "shortened");
    assert_int_equal(count_by(s, "queued"), 1);
}

/* More expired records than a store drops in one step (Redis: 1000 a
 * script): once count no longer counts them, count_by does not either. */
#define BACKLOG 2500

static void test_count_by_drops_a_backlog_of_expired_records_no_later_than_count(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sd_assign a = sc_set(FIELD, "queued");
    sd_record r = SD_RECORD_INIT;
    int64_t last = 0;
    for (int i = 0; i < BACKLOG; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        assert_int_equal(sc_update(s, id, SD_UPDATE_CREATE, 200, &a, 1, &r), SD_OK);
        if (r.expires_ms > last)
            last = r.expires_ms;
        sd_record_clear(&r);
    }
    sc_put1(s, "kept1", FIELD, "queued", 0);
    sc_put1(s, "kept2", FIELD, "queued", 0);
    sc_put1(s, "other", FIELD, "running", 0);
    sc_wait_past(last);
    sc_assert_count_becomes(s, SC_NS, 3);
    assert_int_equal(count_by(s, "queued"), 2);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(count_of(s), 3);
}

static void test_renewed_record_keeps_counting(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sd_assign a = sc_set(FIELD, "queued");
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sc_update(s, "got", SD_UPDATE_CREATE, 1000, &a, 1, &r), SD_OK);
    int64_t first = r.expires_ms;
    assert_int_equal(sc_update(s, "updated", SD_UPDATE_CREATE, 1000, &a, 1, &r), SD_OK);
    if (r.expires_ms > first)
        first = r.expires_ms;
    assert_int_equal(sd_store_get(s, SC_NS, "got", 60000, &r), SD_OK);
    sd_assign other = sc_set("stage", "x");
    assert_int_equal(sc_update(s, "updated", SD_UPDATE_EXISTING, 60000, &other, 1, &r), SD_OK);
    sd_record_clear(&r);
    sc_wait_past(first);
    assert_int_equal(count_by(s, "queued"), 2);
    assert_int_equal(count_of(s), 2);
    sc_assert_stored(s, "got", FIELD, "queued");
    sc_assert_stored(s, "updated", FIELD, "queued");
}

static void test_renewal_past_deadline_stops_counting(void **state)
{
    sd_store *s = *state;
    index_status(s);
    char deadline[32];
    int64_t at = sd_now_ms() + 100;
    snprintf(deadline, sizeof deadline, "%" PRId64, at);
    sd_assign a[] = {sc_set(FIELD, "queued"), sc_set(SD_FIELD_DEADLINE, deadline)};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, a, 2, NULL), SD_OK);
    sc_put1(s, "r2", FIELD, "queued", 0);
    sc_wait_past(at);
    /* No expiry yet (created without one): still counted until renewed. */
    assert_int_equal(count_by(s, "queued"), 2);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 60000, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_of(s), 1);
}

static void test_clear_zeroes_counts_and_keeps_the_index(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "running", 60000);
    sc_put1(s, "r3", FIELD, "queued", 60000);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 3);
    assert_int_equal(count_by(s, "queued"), 0);
    assert_int_equal(count_by(s, "running"), 0);
    sc_put1(s, "r1", FIELD, "queued", 0);
    assert_int_equal(count_by(s, "queued"), 1);
}

/* ---- refusals ---- */

static void test_count_by_without_index_is_invalid(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "r1", FIELD, "queued", 0);
    int64_t n = 7;
    assert_int_equal(sd_store_count_by(s, SC_NS, "queued", &n), SD_ERR_INVALID);
    index_status(s);
    assert_int_equal(sd_store_count_by(s, "elsewhere", "queued", &n), SD_ERR_INVALID);
    assert_int_equal(sd_store_count_by(s, NULL, "queued", &n), SD_ERR_INVALID);
    assert_int_equal(sd_store_count_by(s, "", "queued", &n), SD_ERR_INVALID);
    assert_int_equal(sd_store_count_by(s, SC_NS, NULL, &n), SD_ERR_INVALID);
    assert_int_equal(sd_store_count_by(s, SC_NS, "queued", NULL), SD_ERR_INVALID);
    assert_int_equal(sd_store_index(s, NULL, FIELD), SD_ERR_INVALID);
    assert_int_equal(sd_store_index(s, "", FIELD), SD_ERR_INVALID);
    assert_int_equal(sd_store_index(s, "elsewhere", NULL), SD_ERR_INVALID);
    assert_int_equal(sd_store_index(s, "elsewhere", ""), SD_ERR_INVALID);
    assert_int_equal(sd_store_count_by(s, "elsewhere", "queued", &n), SD_ERR_INVALID);
}

static void test_index_with_another_field_is_invalid(void **state)
{
    sd_store *s = *state;
    index_status(s);
    assert_int_equal(sd_store_index(s, SC_NS, FIELD), SD_OK);
    assert_int_equal(sd_store_index(s, SC_NS, "kind"), SD_ERR_INVALID);
    assert_int_equal(sd_store_index(s, "elsewhere", "kind"), SD_OK);
    sd_assign a[] = {sc_set(FIELD, "queued"), sc_set("kind", "demo")};
    assert_int_equal(sc_update(s, "r1", SD_UPDATE_CREATE, 0, a, 2, NULL), SD_OK);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_by(s, "demo"), 0);
}

/* ---- concurrency ---- */

#define FLIP_THREADS 8
#define FLIP_EACH 200
#define FLIP_RECORDS 50
#define FLIP_VALUES 3

static const char *const flip_values[FLIP_VALUES] = {"queued", "running", "done"};

typedef struct flipper {
    sd_store *s;
    int index;
    int failures;
} flipper;

static void flip_id(char *buf, size_t cap, int i) { snprintf(buf, cap, "f%02d", i); }

/* FLIP_EACH updates of every kind on records shared with the other
 * threads: plain, with a TTL, through DEL then SET, and conditional (a
 * CONFLICT is expected now and then); every fourth also a renewal that
 * changes no value. */
static void *flip_worker(void *arg)
{
    flipper *w = arg;
    for (int k = 0; k < FLIP_EACH; k++) {
        char id[16];
        flip_id(id, sizeof id, (w->index * 7 + k * 3) % FLIP_RECORDS);
        const char *value = flip_values[(w->index + k) % FLIP_VALUES];
        const char *from[] = {flip_values[(w->index + k + 1) % FLIP_VALUES]};
        sd_assign set = sc_set(FIELD, value);
        sd_assign del_set[] = {sc_del(FIELD), sc_set(FIELD, value)};
        sd_update u = {SD_UPDATE_EXISTING, NULL, NULL, 0, &set, 1, 0, false, 0};
        sd_err err;
        switch (k % 4) {
        case 0:
            err = sd_store_update(w->s, SC_NS, id, &u, NULL);
            break;
        case 1:
            u.ttl_ms = 60000;
            err = sd_store_update(w->s, SC_NS, id, &u, NULL);
            break;
        case 2:
            u.assign = del_set;
            u.assign_count = 2;
            err = sd_store_update(w->s, SC_NS, id, &u, NULL);
            break;
        default:
            u.cond_field = FIELD;
            u.cond_values = from;
            u.cond_count = 1;
            err = sd_store_update(w->s, SC_NS, id, &u, NULL);
            if (err == SD_ERR_CONFLICT)
                err = SD_OK;
            break;
        }
        if (err == SD_OK && k % 4 == 0) {
            sd_record r = SD_RECORD_INIT;
            err = sd_store_get(w->s, SC_NS, id, 60000, &r);
            sd_record_clear(&r);
        }
        if (err != SD_OK)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_flips_leave_counts_matching_records(void **state)
{
    sd_store *s = *state;
    index_status(s);
    for (int i = 0; i < FLIP_RECORDS; i++) {
        char id[16];
        flip_id(id, sizeof id, i);
        sc_put1(s, id, FIELD, flip_values[i % FLIP_VALUES], 0);
    }
    pthread_t threads[FLIP_THREADS];
    flipper w[FLIP_THREADS];
    for (int i = 0; i < FLIP_THREADS; i++) {
        w[i] = (flipper){s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, flip_worker, &w[i]), 0);
    }
    for (int i = 0; i < FLIP_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < FLIP_THREADS; i++)
        assert_int_equal(w[i].failures, 0);

    int64_t seen[FLIP_VALUES] = {0}, total = 0;
    for (int i = 0; i < FLIP_RECORDS; i++) {
        char id[16];
        flip_id(id, sizeof id, i);
        sd_record r = SD_RECORD_INIT;
        assert_int_equal(sd_store_get(s, SC_NS, id, 0, &r), SD_OK);
        const char *v = sd_record_get(&r, FIELD, NULL);
        assert_non_null(v);
        int match = -1;
        for (int j = 0; j < FLIP_VALUES; j++)
            if (strcmp(v, flip_values[j]) == 0)
                match = j;
        assert_true(match >= 0);
        seen[match]++;
        sd_record_clear(&r);
    }
    for (int j = 0; j < FLIP_VALUES; j++) {
        assert_int_equal(count_by(s, flip_values[j]), seen[j]);
        total += count_by(s, flip_values[j]);
    }
    assert_int_equal(total, FLIP_RECORDS);
    assert_int_equal(count_of(s), FLIP_RECORDS);
}

static const struct CMUnitTest index_tests[] = {
    SC_CASE(test_count_by_counts_each_value_after_creates),
    SC_CASE(test_values_and_namespaces_with_separators_count_apart),
    SC_CASE(test_update_moves_record_between_values),
    SC_CASE(test_failed_updates_do_not_move_counts),
    SC_CASE(test_deleting_the_field_stops_counting),
    SC_CASE(test_deleted_record_stops_counting),
    SC_CASE(test_expired_record_stops_counting),
    SC_CASE(test_count_by_drops_a_backlog_of_expired_records_no_later_than_count),
    SC_CASE(test_renewed_record_keeps_counting),
    SC_CASE(test_renewal_past_deadline_stops_counting),
    SC_CASE(test_clear_zeroes_counts_and_keeps_the_index),
    SC_CASE(test_count_by_without_index_is_invalid),
    SC_CASE(test_index_with_another_field_is_invalid),
    SC_CASE(test_concurrent_flips_leave_counts_matching_records),
};

const struct CMUnitTest *sc_index_tests(size_t *count)
{
    *count = sizeof index_tests / sizeof index_tests[0];
    return index_tests;
}
