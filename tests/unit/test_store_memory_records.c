/*
 * How the memory store keeps a hash record: one block per record, field
 * names pooled per namespace up to a bound, updates staged from the
 * caller's own (not NUL-terminated) values and rebuilt whole. Through the
 * public store interface: every field, value and count must read back
 * exactly, whatever path a name or a value took.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "statusd/store.h"

static int setup_store(void **state)
{
    sd_memory_opts opts = {4, 3600 * 1000, 0};
    sd_store *s = NULL;
    sd_err e = sd_memory_store_new(&opts, &s);
    *state = s;
    return e == SD_OK ? 0 : -1;
}

static int teardown_store(void **state)
{
    sd_store_free(*state);
    return 0;
}

static sd_err apply(sd_store *s, const char *id, sd_update_mode mode, const sd_assign *a,
                    size_t n, int64_t ttl_ms, sd_record *out)
{
    sd_update u = {mode, NULL, NULL, 0, a, n, ttl_ms, false, 0};
    return sd_store_update(s, "rec", id, &u, out);
}

static void assert_field(const sd_record *r, const char *name, const char *value, size_t len)
{
    size_t got = SIZE_MAX;
    const char *v = sd_record_get(r, name, &got);
    assert_non_null(v);
    assert_int_equal(got, len);
    assert_memory_equal(v, value, len);
    assert_int_equal(v[len], '\0');
}

/* More fields and INCRs in one update than the stage holds without
 * allocating. */
static void test_update_of_many_fields_and_incrs_reads_back_exactly(void **state)
{
    sd_store *s = *state;
    enum { SETS = 20, INCRS = 12 };
    char names[SETS + INCRS][32], values[SETS][32];
    sd_assign a[SETS + INCRS];
    for (int i = 0; i < SETS; i++) {
        snprintf(names[i], sizeof names[i], "field%02d", i);
        snprintf(values[i], sizeof values[i], "value-%d", i * 7);
        a[i] = (sd_assign){names[i], SD_ASSIGN_SET, values[i], strlen(values[i]), 0};
    }
    for (int i = 0; i < INCRS; i++) {
        snprintf(names[SETS + i], sizeof names[SETS + i], "count%02d", i);
        a[SETS + i] = (sd_assign){names[SETS + i], SD_ASSIGN_INCR, NULL, 0, i - 5};
    }
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(apply(s, "many", SD_UPDATE_CREATE, a, SETS + INCRS, 0, &r), SD_OK);
    assert_int_equal(r.count, SETS + INCRS);
    sd_record_clear(&r);
    assert_int_equal(apply(s, "many", SD_UPDATE_EXISTING, a + SETS, INCRS, 0, NULL), SD_OK);

    assert_int_equal(sd_store_get(s, "rec", "many", 0, &r), SD_OK);
    assert_int_equal(r.count, SETS + INCRS);
    for (int i = 0; i < SETS; i++)
        assert_field(&r, names[i], values[i], strlen(values[i]));
    for (int i = 0; i < INCRS; i++) {
        int64_t v = 0;
        assert_int_equal(sd_record_get_i64(&r, names[SETS + i], &v), SD_OK);
        assert_int_equal(v, 2 * (i - 5));
    }
    sd_record_clear(&r);
}

/* A namespace pools 255 names at most: names past that, and names too
 * long to pool, are kept in each record, and all read back. */
static void test_names_past_the_pool_and_long_names_read_back(void **state)
{
    sd_store *s = *state;
    enum { NAMES = 300 };
    char name[80], value[32];
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof name, i % 3 == 0 ? "n%03d-a-name-longer-than-any-pooled-one" : "n%03d", i);
        snprintf(value, sizeof value, "v%d", i);
        sd_assign a = {name, SD_ASSIGN_SET, value, strlen(value), 0};
        assert_int_equal(apply(s, "wide", SD_UPDATE_UPSERT, &a, 1, 0, NULL), SD_OK);
    }
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "rec", "wide", 0, &r), SD_OK);
    assert_int_equal(r.count, NAMES);
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof name, i % 3 == 0 ? "n%03d-a-name-longer-than-any-pooled-one" : "n%03d", i);
        snprintf(value, sizeof value, "v%d", i);
        assert_string_equal(r.fields[i].name, name);
        assert_field(&r, name, value, strlen(value));
    }
    sd_record_clear(&r);

    /* Another record mixing pooled, unpooled and new names. */
    sd_assign b[] = {
        {"n001", SD_ASSIGN_SET, "x", 1, 0},
        {"n299", SD_ASSIGN_SET, "y", 1, 0},
        {"never-seen-before", SD_ASSIGN_SET, "z", 1, 0},
    };
    assert_int_equal(apply(s, "other", SD_UPDATE_CREATE, b, 3, 0, NULL), SD_OK);
    assert_int_equal(sd_store_get(s, "rec", "other", 0, &r), SD_OK);
    assert_int_equal(r.count, 3);
    assert_field(&r, "n001", "x", 1);
    assert_field(&r, "n299", "y", 1);
    assert_field(&r, "never-seen-before", "z", 1);
    sd_record_clear(&r);
}

/* SET values are bytes[0..len) of the caller's buffer, read in place
 * until the record is rebuilt: an INCR in the same update must see only
 * those bytes. */
static void test_incr_after_set_in_one_update_reads_only_the_set_bytes(void **state)
{
    sd_store *s = *state;
    const char buf[] = "41999";
    sd_assign a[] = {
        {"n", SD_ASSIGN_SET, buf, 2, 0},
        {"n", SD_ASSIGN_INCR, NULL, 0, 1},
        {"m", SD_ASSIGN_SET, buf, 3, 0},
    };
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(apply(s, "incr", SD_UPDATE_CREATE, a, 3, 0, &r), SD_OK);
    assert_field(&r, "n", "42", 2);
    assert_field(&r, "m", "419", 3);
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, "rec", "incr", 0, &r), SD_OK);
    assert_field(&r, "n", "42", 2);
    assert_field(&r, "m", "419", 3);
    sd_record_clear(&r);
}

/* A string literal's bytes and their count, NULs inside included. */
#define BYTES(lit) lit, sizeof lit - 1

/* Numbers read as sd_parse_i64 reads them: leading zeros, however many,
 * and a sign; not an embedded NUL, a trailing sign or a bare sign. */
static void test_incr_reads_numbers_with_leading_zeros_and_refuses_others(void **state)
{
    sd_store *s = *state;
    static const struct {
        const char *value;
        size_t len;
        const char *after; /* NULL: INCR refused */
    } cases[] = {
        {BYTES("0000000000000000000000000000000000000041"), "42"},
        {BYTES("-007"), "-6"},
        {BYTES("-0000000000000000000000000000009223372036854775808"), "-9223372036854775807"},
        {BYTES("9223372036854775806"), "9223372036854775807"},
        {BYTES("4\0"), NULL},
        {BYTES("0-5"), NULL},
        {BYTES("-"), NULL},
        {BYTES(""), NULL},
        {BYTES("00000000000000000000000000000000000000000000x"), NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "num%zu", i);
        sd_assign set = {"n", SD_ASSIGN_SET, cases[i].value, cases[i].len, 0};
        assert_int_equal(apply(s, id, SD_UPDATE_CREATE, &set, 1, 0, NULL), SD_OK);
        sd_assign incr = {"n", SD_ASSIGN_INCR, NULL, 0, 1};
        sd_err want = cases[i].after != NULL ? SD_OK : SD_ERR_INVALID;
        assert_int_equal(apply(s, id, SD_UPDATE_EXISTING, &incr, 1, 0, NULL), want);
        sd_record r = SD_RECORD_INIT;
        assert_int_equal(sd_store_get(s, "rec", id, 0, &r), SD_OK);
        if (cases[i].after != NULL)
            assert_field(&r, "n", cases[i].after, strlen(cases[i].after));
        else
            assert_field(&r, "n", cases[i].value, cases[i].len);
        sd_record_clear(&r);
    }
}

/* Values are bytes: NULs inside and an empty SET without a value. */
static void test_values_with_nul_bytes_and_empty_values_read_back(void **state)
{
    sd_store *s = *state;
    sd_assign a[] = {
        {"bin", SD_ASSIGN_SET, "a\0b\0", 4, 0},
        {"empty", SD_ASSIGN_SET, NULL, 0, 0},
        {"status", SD_ASSIGN_SETNX, "", 0, 0},
    };
    assert_int_equal(apply(s, "bytes", SD_UPDATE_CREATE, a, 3, 0, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "rec", "bytes", 0, &r), SD_OK);
    assert_int_equal(r.count, 3);
    assert_field(&r, "bin", "a\0b\0", 4);
    assert_field(&r, "empty", "", 0);
    assert_field(&r, "status", "", 0);
    sd_record_clear(&r);
}

/* A rebuild keeps what the update does not change: other fields, their
 * order, the expiry. */
static void test_update_keeps_other_fields_order_and_expiry(void **state)
{
    sd_store *s = *state;
    sd_assign a[] = {
        {"one", SD_ASSIGN_SET, "1", 1, 0},
        {"two", SD_ASSIGN_SET, "2", 1, 0},
        {"three", SD_ASSIGN_SET, "3", 1, 0},
    };
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(apply(s, "keep", SD_UPDATE_CREATE, a, 3, 3600 * 1000, &r), SD_OK);
    int64_t expires = r.expires_ms;
    assert_true(expires > 0);
    sd_record_clear(&r);

    sd_assign b[] = {
        {"two", SD_ASSIGN_SET, "22", 2, 0},
        {"one", SD_ASSIGN_DEL, NULL, 0, 0},
        {"four", SD_ASSIGN_SET, "4", 1, 0},
    };
    assert_int_equal(apply(s, "keep", SD_UPDATE_EXISTING, b, 3, 0, NULL), SD_OK);
    assert_int_equal(sd_store_get(s, "rec", "keep", 0, &r), SD_OK);
    assert_int_equal(r.expires_ms, expires);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.fields[0].name, "two");
    assert_string_equal(r.fields[0].value, "22");
    assert_string_equal(r.fields[1].name, "three");
    assert_string_equal(r.fields[1].value, "3");
    assert_string_equal(r.fields[2].name, "four");
    assert_string_equal(r.fields[2].value, "4");
    sd_record_clear(&r);
}

/* The rebuilt record keeps counting under its indexed value until the
 * value itself changes, and a delete gives the count back. */
static void test_index_counts_follow_rebuilt_records(void **state)
{
    sd_store *s = *state;
    assert_int_equal(sd_store_index(s, "rec", "status"), SD_OK);
    sd_assign a[] = {
        {"status", SD_ASSIGN_SET, "queued", 6, 0},
        {"n", SD_ASSIGN_INCR, NULL, 0, 1},
    };
    assert_int_equal(apply(s, "job", SD_UPDATE_CREATE, a, 2, 0, NULL), SD_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(apply(s, "job", SD_UPDATE_EXISTING, a + 1, 1, 0, NULL), SD_OK);
    int64_t n = -1;
    assert_int_equal(sd_store_count_by(s, "rec", "queued", &n), SD_OK);
    assert_int_equal(n, 1);

    sd_assign done = {"status", SD_ASSIGN_SET, "done", 4, 0};
    assert_int_equal(apply(s, "job", SD_UPDATE_EXISTING, &done, 1, 0, NULL), SD_OK);
    assert_int_equal(sd_store_count_by(s, "rec", "queued", &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_store_count_by(s, "rec", "done", &n), SD_OK);
    assert_int_equal(n, 1);

    assert_int_equal(sd_store_del(s, "rec", "job"), SD_OK);
    assert_int_equal(sd_store_count_by(s, "rec", "done", &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_store_count(s, "rec", &n), SD_OK);
    assert_int_equal(n, 0);
}

/* Namespaces pool their names apart: the same names in two namespaces,
 * and records of the store's own (rate limits) beside them. */
static void test_same_names_in_two_namespaces_read_back_apart(void **state)
{
    sd_store *s = *state;
    sd_assign a = {"data", SD_ASSIGN_SET, "first", 5, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "one", "x", &u, NULL), SD_OK);
    a.value = "second";
    a.len = 6;
    assert_int_equal(sd_store_update(s, "two", "x", &u, NULL), SD_OK);
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(s, "x", 2, 1000, &rate), SD_OK);
    assert_true(rate.allowed);

    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "one", "x", 0, &r), SD_OK);
    assert_field(&r, "data", "first", 5);
    sd_record_clear(&r);
    assert_int_equal(sd_store_get(s, "two", "x", 0, &r), SD_OK);
    assert_field(&r, "data", "second", 6);
    sd_record_clear(&r);
}

/* Threads adding new names to one namespace at once, past the pool's
 * bound, while reading each other's records: every record reads back. */
enum { POOL_THREADS = 4, POOL_NAMES = 80 };

typedef struct pool_run {
    sd_store *s;
    int thread;
    int failures;
} pool_run;

static void pool_name(char *buf, size_t len, int thread, int j)
{
    snprintf(buf, len, "t%d-name-%d", thread, j);
}

static void *pool_worker(void *arg)
{
    pool_run *run = arg;
    char id[32], name[32], value[32];
    snprintf(id, sizeof id, "thread-%d", run->thread);
    for (int j = 0; j < POOL_NAMES; j++) {
        pool_name(name, sizeof name, run->thread, j);
        snprintf(value, sizeof value, "%d", j);
        sd_assign a = {name, SD_ASSIGN_SET, value, strlen(value), 0};
        sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, 0, false, 0};
        if (sd_store_update(run->s, "rec", id, &u, NULL) != SD_OK)
            run->failures++;
        snprintf(id, sizeof id, "thread-%d", (run->thread + 1) % POOL_THREADS);
        sd_record r = SD_RECORD_INIT;
        sd_err err = sd_store_get(run->s, "rec", id, 0, &r);
        if (err != SD_OK && err != SD_ERR_NOT_FOUND)
            run->failures++;
        for (size_t i = 0; i < r.count; i++)
            if (strlen(r.fields[i].value) != r.fields[i].len)
                run->failures++;
        sd_record_clear(&r);
        snprintf(id, sizeof id, "thread-%d", run->thread);
    }
    return NULL;
}

static void test_concurrent_new_names_past_the_pool_all_read_back(void **state)
{
    sd_store *s = *state;
    pthread_t threads[POOL_THREADS];
    pool_run runs[POOL_THREADS];
    for (int t = 0; t < POOL_THREADS; t++) {
        runs[t] = (pool_run){s, t, 0};
        assert_int_equal(pthread_create(&threads[t], NULL, pool_worker, &runs[t]), 0);
    }
    for (int t = 0; t < POOL_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(runs[t].failures, 0);
    }
    for (int t = 0; t < POOL_THREADS; t++) {
        char id[32], name[32], value[32];
        snprintf(id, sizeof id, "thread-%d", t);
        sd_record r = SD_RECORD_INIT;
        assert_int_equal(sd_store_get(s, "rec", id, 0, &r), SD_OK);
        assert_int_equal(r.count, POOL_NAMES);
        for (int j = 0; j < POOL_NAMES; j++) {
            pool_name(name, sizeof name, t, j);
            snprintf(value, sizeof value, "%d", j);
            assert_string_equal(r.fields[j].name, name);
            assert_field(&r, name, value, strlen(value));
        }
        sd_record_clear(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_update_of_many_fields_and_incrs_reads_back_exactly,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_names_past_the_pool_and_long_names_read_back,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_incr_after_set_in_one_update_reads_only_the_set_bytes,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(
            test_incr_reads_numbers_with_leading_zeros_and_refuses_others, setup_store,
            teardown_store),
        cmocka_unit_test_setup_teardown(test_values_with_nul_bytes_and_empty_values_read_back,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_update_keeps_other_fields_order_and_expiry,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_index_counts_follow_rebuilt_records, setup_store,
                                        teardown_store),
        cmocka_unit_test_setup_teardown(test_same_names_in_two_namespaces_read_back_apart,
                                        setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_concurrent_new_names_past_the_pool_all_read_back,
                                        setup_store, teardown_store),
    };
    return cmocka_run_group_tests_name("store_memory_records", tests, NULL, NULL);
}
