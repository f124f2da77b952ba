/*
 * Store contract cases for everything but single hash records: lists,
 * listing with cursors, counts, clear, rate limits, ping, and concurrent
 * writers on one record.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

/* ---- lists ---- */

static sd_err append(sd_store *s, const char *id, const char *const *items, size_t n,
                     size_t max_len, int64_t ttl_ms, sd_list *out)
{
    size_t lens[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(items[i]);
    return sd_store_list_append(s, SC_NS, id, items, lens, n, max_len, ttl_ms, out);
}

static void assert_list(const sd_list *l, const char *const *want, size_t n)
{
    assert_int_equal(l->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l->lens[i], strlen(want[i]));
        assert_string_equal(l->items[i], want[i]);
    }
}

static void test_list_append_keeps_order_and_newest_max_len(void **state)
{
    sd_store *s = *state;
    const char *first[] = {"m1", "m2", "m3"}, *second[] = {"m4", "m5", "m6", "m7"};
    const char *want[] = {"m3", "m4", "m5", "m6", "m7"};
    sd_list l = SD_LIST_INIT;
    assert_int_equal(append(s, "c1", first, 3, 5, 0, &l), SD_OK);
    assert_list(&l, first, 3);
    assert_int_equal(append(s, "c1", second, 4, 5, 0, &l), SD_OK);
    assert_list(&l, want, 5);
    assert_int_equal(sd_store_list_get(s, SC_NS, "c1", 0, &l), SD_OK);
    assert_list(&l, want, 5);
    sd_list_clear(&l);
}

static void test_list_append_beyond_max_len_at_once_keeps_newest(void **state)
{
    sd_store *s = *state;
    const char *items[] = {"a", "b", "c", "d", "e"}, *want[] = {"d", "e"};
    sd_list l = SD_LIST_INIT;
    assert_int_equal(append(s, "c1", items, 5, 2, 0, &l), SD_OK);
    assert_list(&l, want, 2);
    sd_list_clear(&l);
}

static void test_list_max_len_zero_is_unbounded(void **state)
{
    sd_store *s = *state;
    const char *one[] = {"x"};
    sd_list l = SD_LIST_INIT;
    for (int i = 0; i < 100; i++)
        assert_int_equal(append(s, "c1", one, 1, 0, 0, NULL), SD_OK);
    assert_int_equal(sd_store_list_get(s, SC_NS, "c1", 0, &l), SD_OK);
    assert_int_equal(l.count, 100);
    assert_int_equal(l.expires_ms, 0);
    sd_list_clear(&l);
}

static void test_list_ttl_is_set_renewed_and_expires(void **state)
{
    sd_store *s = *state;
    const char *one[] = {"x"};
    sd_list l = SD_LIST_INIT;
    int64_t before = sd_now_ms();
    assert_int_equal(append(s, "c1", one, 1, 10, 5000, &l), SD_OK);
    assert_in_range(l.expires_ms, before + 5000, sd_now_ms() + 5000);
    before = sd_now_ms();
    assert_int_equal(sd_store_list_get(s, SC_NS, "c1", 60000, &l), SD_OK);
    assert_in_range(l.expires_ms, before + 60000, sd_now_ms() + 60000);
    int64_t exp = l.expires_ms;
    assert_int_equal(append(s, "c1", one, 1, 10, 0, &l), SD_OK);
    assert_int_equal(l.expires_ms, exp);
    assert_int_equal(append(s, "c2", one, 1, 10, 100, &l), SD_OK);
    sc_wait_past(l.expires_ms);
    assert_int_equal(sd_store_list_get(s, SC_NS, "c2", 0, &l), SD_ERR_NOT_FOUND);
    assert_int_equal(l.count, 0);
    assert_int_equal(sd_store_del(s, SC_NS, "c2"), SD_ERR_NOT_FOUND);
    assert_int_equal(append(s, "c2", one, 1, 10, 0, &l), SD_OK);
    assert_int_equal(l.count, 1);
    sd_list_clear(&l);
}

static void test_lists_and_hashes_do_not_mix(void **state)
{
    sd_store *s = *state;
    const char *one[] = {"x"};
    sc_put1(s, "h", "a", "1", 0);
    assert_int_equal(append(s, "l", one, 1, 0, 0, NULL), SD_OK);
    sd_list l = SD_LIST_INIT;
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_list_get(s, SC_NS, "h", 0, &l), SD_ERR_NOT_FOUND);
    assert_int_equal(append(s, "h", one, 1, 0, 0, NULL), SD_ERR_CONFLICT);
    assert_int_equal(sd_store_get(s, SC_NS, "l", 0, &r), SD_ERR_NOT_FOUND);
    sd_assign a = sc_set("a", "1");
    assert_int_equal(sc_update(s, "l", SD_UPDATE_UPSERT, 0, &a, 1, NULL), SD_ERR_CONFLICT);
    assert_int_equal(sc_update(s, "l", SD_UPDATE_CREATE, 0, &a, 1, NULL), SD_ERR_EXISTS);
    assert_int_equal(sd_store_del(s, SC_NS, "l"), SD_OK);
    assert_int_equal(sd_store_list_get(s, SC_NS, "l", 0, &l), SD_ERR_NOT_FOUND);
    sc_assert_stored(s, "h", "a", "1");
}

static void test_list_append_rejects_bad_arguments(void **state)
{
    sd_store *s = *state;
    const char *items[] = {"x", NULL};
    size_t lens[] = {1, 4};
    assert_int_equal(sd_store_list_append(s, SC_NS, "c", items, lens, 0, 0, 0, NULL),
                     SD_ERR_INVALID);
    assert_int_equal(sd_store_list_append(s, SC_NS, "c", items, lens, 2, 0, 0, NULL),
                     SD_ERR_INVALID);
    assert_int_equal(sd_store_list_append(s, SC_NS, "c", items, lens, 1, 0, -1, NULL),
                     SD_ERR_INVALID);
    assert_int_equal(sd_store_list_append(s, "", "c", items, lens, 1, 0, 0, NULL),
                     SD_ERR_INVALID);
    sd_list l = SD_LIST_INIT;
    assert_int_equal(sd_store_list_get(s, SC_NS, "c", 0, &l), SD_ERR_NOT_FOUND);
}

/* ---- listing and counting ---- */

#define SCAN_IDS 100

static void scan_id(char *buf, size_t cap, const char *prefix, int i)
{
    snprintf(buf, cap, "%s-%03d", prefix, i);
}

/* Collects every page of SC_NS into seen[] (counting ids "id-NNN"); after the
 * first page, calls between(s) once. Returns the number of pages. */
static int scan_all(sd_store *s, int seen[SCAN_IDS], int *foreign,
                    void (*between)(sd_store *))
{
    sd_page p = SD_PAGE_INIT;
    char *cursor = NULL;
    int pages = 0;
    do {
        assert_int_equal(sd_store_scan(s, SC_NS, cursor, 7, &p), SD_OK);
        assert_true(p.count <= 7);
        for (size_t i = 0; i < p.count; i++) {
            int n = -1;
            char tail = 0;
            if (sscanf(p.ids[i], "id-%3d%c", &n, &tail) == 1 && n >= 0 && n < SCAN_IDS)
                seen[n]++;
            else
                (*foreign)++;
        }
        free(cursor);
        cursor = p.next_cursor != NULL ? strdup(p.next_cursor) : NULL;
        assert_true(p.next_cursor == NULL || cursor != NULL);
        sd_page_clear(&p);
        if (pages++ == 0 && between != NULL)
            between(s);
        assert_true(pages < 1000);
    } while (cursor != NULL);
    return pages;
}

static void put_scan_ids(sd_store *s, const char *prefix, int n)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        scan_id(id, sizeof id, prefix, i);
        sc_put1(s, id, "a", "1", 0);
    }
}

static void test_scan_pages_list_every_id_once(void **state)
{
    sd_store *s = *state;
    put_scan_ids(s, "id", SCAN_IDS);
    sd_assign a = sc_set("a", "1");
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "elsewhere", "id-000x", &u, NULL), SD_OK);
    int seen[SCAN_IDS] = {0}, foreign = 0;
    int pages = scan_all(s, seen, &foreign, NULL);
    for (int i = 0; i < SCAN_IDS; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(foreign, 0);
    assert_true(pages >= SCAN_IDS / 7);
}

static void add_more_ids(sd_store *s) { put_scan_ids(s, "added", 50); }

static void test_scan_misses_no_live_id_while_ids_are_added(void **state)
{
    sd_store *s = *state;
    put_scan_ids(s, "id", SCAN_IDS);
    int seen[SCAN_IDS] = {0}, foreign = 0;
    scan_all(s, seen, &foreign, add_more_ids);
    for (int i = 0; i < SCAN_IDS; i++)
        assert_true(seen[i] >= 1);
    assert_true(foreign <= 50);
}

static void test_scan_of_empty_namespace_is_one_empty_page(void **state)
{
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(*state, "nothing-here", NULL, 10, &p), SD_OK);
    assert_int_equal(p.count, 0);
    assert_null(p.next_cursor);
    assert_int_equal(sd_store_scan(*state, "nothing-here", "", 10, &p), SD_OK);
    assert_int_equal(p.count, 0);
    sd_page_clear(&p);
}

static void test_scan_rejects_malformed_cursor_and_zero_limit(void **state)
{
    sd_store *s = *state;
    put_scan_ids(s, "id", 3);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(s, SC_NS, "%%%", 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan(s, SC_NS, "zz-not-a-cursor", 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan(s, SC_NS, NULL, 0, &p), SD_ERR_INVALID);
    assert_int_equal(p.count, 0);
    sd_page_clear(&p);
}

static void test_count_is_per_namespace(void **state)
{
    sd_store *s = *state;
    sd_assign a = sc_set("a", "1");
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    const char *one[] = {"x"};
    sc_put1(s, "r1", "a", "1", 0);
    sc_put1(s, "r2", "a", "1", 0);
    assert_int_equal(append(s, "r3", one, 1, 0, 0, NULL), SD_OK);
    assert_int_equal(sd_store_update(s, "other", "r1", &u, NULL), SD_OK);
    int64_t n = -1;
    assert_int_equal(sd_store_count(s, SC_NS, &n), SD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(sd_store_count(s, "other", &n), SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sd_store_count(s, "unknown", &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_store_del(s, SC_NS, "r2"), SD_OK);
    assert_int_equal(sd_store_count(s, SC_NS, &n), SD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sd_store_count(s, "", &n), SD_ERR_INVALID);
}

static void test_clear_deletes_every_record(void **state)
{
    sd_store *s = *state;
    sd_assign a = sc_set("a", "1");
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    const char *one[] = {"x"};
    put_scan_ids(s, "id", 4);
    assert_int_equal(sd_store_update(s, "other", "r1", &u, NULL), SD_OK);
    assert_int_equal(append(s, "l1", one, 1, 0, 0, NULL), SD_OK);
    int64_t deleted = -1, n = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 6);
    sc_assert_absent(s, "id-000");
    assert_int_equal(sd_store_count(s, SC_NS, &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_store_count(s, "other", &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 0);
}

/* ---- rate limits ---- */

static void test_rate_allows_limit_then_denies(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    for (int64_t i = 0; i < 5; i++) {
        assert_int_equal(sd_store_rate_check(s, "user:a", 5, 60000, &r), SD_OK);
        assert_true(r.allowed);
        assert_int_equal(r.limit, 5);
        assert_int_equal(r.remaining, 4 - i);
        assert_int_equal(r.retry_after_ms, 0);
        assert_in_range(r.reset_ms, 1, 60000);
    }
    assert_int_equal(sd_store_rate_check(s, "user:a", 5, 60000, &r), SD_OK);
    assert_false(r.allowed);
    assert_int_equal(r.limit, 5);
    assert_int_equal(r.remaining, 0);
    assert_in_range(r.retry_after_ms, 1, 12000);
    assert_in_range(r.reset_ms, 48000, 60000);
}

static void test_rate_keys_are_independent(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    assert_int_equal(sd_store_rate_check(s, "k1", 1, 60000, &r), SD_OK);
    assert_true(r.allowed);
    assert_int_equal(sd_store_rate_check(s, "k1", 1, 60000, &r), SD_OK);
    assert_false(r.allowed);
    assert_int_equal(sd_store_rate_check(s, "k2", 1, 60000, &r), SD_OK);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
}

static void test_rate_allows_again_after_retry_after(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sd_store_rate_check(s, "k", 2, 400, &r), SD_OK);
        assert_true(r.allowed);
    }
    assert_int_equal(sd_store_rate_check(s, "k", 2, 400, &r), SD_OK);
    assert_false(r.allowed);
    assert_in_range(r.retry_after_ms, 1, 200);
    sc_sleep_ms(r.retry_after_ms + 30);
    assert_int_equal(sd_store_rate_check(s, "k", 2, 400, &r), SD_OK);
    assert_true(r.allowed);
}

static void test_rate_state_expires_when_replenished(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    for (int i = 0; i < 3; i++)
        assert_int_equal(sd_store_rate_check(s, "k", 3, 300, &r), SD_OK);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_in_range(r.reset_ms, 1, 300);
    sc_sleep_ms(r.reset_ms + 50);
    assert_int_equal(sd_store_rate_check(s, "k", 3, 300, &r), SD_OK);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);
}

static void test_rate_state_is_not_a_namespace_record(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    assert_int_equal(sd_store_rate_check(s, "k", 3, 60000, &r), SD_OK);
    static const char *const names[] = {"rate", "ratelimit", "rl", SC_NS};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int64_t n = -1;
        sd_page p = SD_PAGE_INIT;
        assert_int_equal(sd_store_count(s, names[i], &n), SD_OK);
        assert_int_equal(n, 0);
        assert_int_equal(sd_store_scan(s, names[i], NULL, 10, &p), SD_OK);
        assert_int_equal(p.count, 0);
        sd_page_clear(&p);
    }
}

static void test_rate_rejects_bad_arguments(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    assert_int_equal(sd_store_rate_check(s, "k", 0, 1000, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_rate_check(s, "k", -1, 1000, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_rate_check(s, "k", 1, 0, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_rate_check(s, "", 1, 1000, &r), SD_ERR_INVALID);
    assert_int_equal(sd_store_rate_check(s, NULL, 1, 1000, &r), SD_ERR_INVALID);
}

static void test_clear_resets_rate_state(void **state)
{
    sd_store *s = *state;
    sd_rate r;
    assert_int_equal(sd_store_rate_check(s, "k", 1, 60000, &r), SD_OK);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    assert_int_equal(sd_store_rate_check(s, "k", 1, 60000, &r), SD_OK);
    assert_true(r.allowed);
}

/* ---- health ---- */

static void test_ping_succeeds_and_leaves_nothing(void **state)
{
    sd_store *s = *state;
    assert_int_equal(sd_store_ping(s), SD_OK);
    assert_int_equal(sd_store_ping(s), SD_OK);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 0);
    sd_store_info info;
    sd_store_info_get(s, &info);
    assert_non_null(info.backend);
}

/* ---- concurrency ---- */

#define INCR_THREADS 16
#define INCR_EACH 500
#define SET_THREADS 8
#define SET_EACH 25

typedef struct worker {
    sd_store *s;
    int index;
    int failures;
} worker;

static void *incr_worker(void *arg)
{
    worker *w = arg;
    sd_assign a = sc_incr("n", 1);
    for (int i = 0; i < INCR_EACH; i++)
        if (sc_update(w->s, "counter", SD_UPDATE_UPSERT, 60000, &a, 1, NULL) != SD_OK)
            w->failures++;
    return NULL;
}

static void *set_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < SET_EACH; i++) {
        char name[32], value[32];
        snprintf(name, sizeof name, "f%d_%d", w->index, i);
        snprintf(value, sizeof value, "v%d", w->index * 1000 + i);
        sd_assign a = sc_set(name, value);
        if (sc_update(w->s, "shared", SD_UPDATE_UPSERT, 60000, &a, 1, NULL) != SD_OK)
            w->failures++;
    }
    return NULL;
}

static void run_workers(sd_store *s, int n, void *(*fn)(void *))
{
    pthread_t threads[INCR_THREADS];
    worker w[INCR_THREADS];
    assert_true(n <= INCR_THREADS);
    for (int i = 0; i < n; i++) {
        w[i] = (worker){s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, fn, &w[i]), 0);
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(w[i].failures, 0);
}

static void test_concurrent_incr_loses_no_update(void **state)
{
    sd_store *s = *state;
    run_workers(s, INCR_THREADS, incr_worker);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "counter", 0, &r), SD_OK);
    int64_t v = 0;
    assert_int_equal(sd_record_get_i64(&r, "n", &v), SD_OK);
    assert_int_equal(v, INCR_THREADS * INCR_EACH);
    sd_record_clear(&r);
}

static void test_concurrent_sets_of_distinct_fields_all_land(void **state)
{
    sd_store *s = *state;
    run_workers(s, SET_THREADS, set_worker);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "shared", 0, &r), SD_OK);
    assert_int_equal(r.count, SET_THREADS * SET_EACH);
    for (int t = 0; t < SET_THREADS; t++) {
        for (int i = 0; i < SET_EACH; i++) {
            char name[32], value[32];
            snprintf(name, sizeof name, "f%d_%d", t, i);
            snprintf(value, sizeof value, "v%d", t * 1000 + i);
            sc_assert_field(&r, name, value);
        }
    }
    sd_record_clear(&r);
}

static const struct CMUnitTest data_tests[] = {
    SC_CASE(test_list_append_keeps_order_and_newest_max_len),
    SC_CASE(test_list_append_beyond_max_len_at_once_keeps_newest),
    SC_CASE(test_list_max_len_zero_is_unbounded),
    SC_CASE(test_list_ttl_is_set_renewed_and_expires),
    SC_CASE(test_lists_and_hashes_do_not_mix),
    SC_CASE(test_list_append_rejects_bad_arguments),
    SC_CASE(test_scan_pages_list_every_id_once),
    SC_CASE(test_scan_misses_no_live_id_while_ids_are_added),
    SC_CASE(test_scan_of_empty_namespace_is_one_empty_page),
    SC_CASE(test_scan_rejects_malformed_cursor_and_zero_limit),
    SC_CASE(test_count_is_per_namespace),
    SC_CASE(test_clear_deletes_every_record),
    SC_CASE(test_rate_allows_limit_then_denies),
    SC_CASE(test_rate_keys_are_independent),
    SC_CASE(test_rate_allows_again_after_retry_after),
    SC_CASE(test_rate_state_expires_when_replenished),
    SC_CASE(test_rate_state_is_not_a_namespace_record),
    SC_CASE(test_rate_rejects_bad_arguments),
    SC_CASE(test_clear_resets_rate_state),
    SC_CASE(test_ping_succeeds_and_leaves_nothing),
    SC_CASE(test_concurrent_incr_loses_no_update),
    SC_CASE(test_concurrent_sets_of_distinct_fields_all_land),
};

const struct CMUnitTest *sc_data_tests(size_t *count)
{
    *count = sizeof data_tests / sizeof data_tests[0];
    return data_tests;
}
