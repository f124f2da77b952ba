/*
 * The memory store: the shared store contract (with one and with many
 * shards), then what only the memory store has: its sweeper, its stop on
 * free, sharding options and what it reports about itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "statusd/store.h"
#include "statusd/util.h"
#include "store_contract.h"

#define WAIT_LIMIT_MS 10000

static sd_store *make_memory_store(void *arg)
{
    sd_store *s = NULL;
    return sd_memory_store_new(arg, &s) == SD_OK ? s : NULL;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
}

static sd_err put(sd_store *s, const char *ns, const char *id, int64_t ttl_ms)
{
    sd_assign a = {"f", SD_ASSIGN_SET, "v", 1, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, ttl_ms, false, 0};
    return sd_store_update(s, ns, id, &u, NULL);
}

static int64_t count_of(sd_store *s, const char *ns)
{
    int64_t n = -1;
    assert_int_equal(sd_store_count(s, ns, &n), SD_OK);
    return n;
}

/* A store whose sweeper runs every 20 ms. */
static int setup_fast_sweep(void **state)
{
    sd_memory_opts opts = {0, 20, 0};
    sd_store *s = NULL;
    sd_err e = sd_memory_store_new(&opts, &s);
    *state = s;
    return e == SD_OK ? 0 : -1;
}

/* A store whose sweeper would next run in an hour. */
static int setup_slow_sweep(void **state)
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

static void test_sweeper_drops_expired_records_nobody_reads(void **state)
{
    sd_store *s = *state;
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        assert_int_equal(put(s, "sweep", id, 50), SD_OK);
    }
    assert_int_equal(put(s, "sweep", "kept", 0), SD_OK);
    /* count is a counter, not a scan: only the sweeper can lower it here. */
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    while (count_of(s, "sweep") != 1 && sd_mono_ms() < until)
        sleep_ms(20);
    assert_int_equal(count_of(s, "sweep"), 1);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 1);
}

static void test_count_keeps_unswept_record_until_access_expires_it(void **state)
{
    sd_store *s = *state;
    sd_assign a = {"f", SD_ASSIGN_SET, "v", 1, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 30, false, 0};
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_update(s, "lazy", "r1", &u, &r), SD_OK);
    while (sd_now_ms() <= r.expires_ms + 20)
        sleep_ms(10);
    sd_record_clear(&r);
    assert_int_equal(count_of(s, "lazy"), 1);
    assert_int_equal(sd_store_get(s, "lazy", "r1", 0, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(count_of(s, "lazy"), 0);
}

static void test_clear_does_not_count_expired_records(void **state)
{
    sd_store *s = *state;
    assert_int_equal(put(s, "ns", "short", 20), SD_OK);
    assert_int_equal(put(s, "ns", "long", 0), SD_OK);
    sleep_ms(80);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(count_of(s, "ns"), 0);
}

static void test_free_stops_a_long_sweep_interval_at_once(void **state)
{
    (void)state;
    /* With an hour between sweeps, a sleeping sweeper would hold this test
     * until the suite's timeout; the condition variable ends it now. */
    for (int i = 0; i < 5; i++) {
        sd_memory_opts opts = {0, 3600 * 1000, 0};
        sd_store *s = NULL;
        assert_int_equal(sd_memory_store_new(&opts, &s), SD_OK);
        assert_non_null(s);
        assert_int_equal(put(s, "ns", "r", 1), SD_OK);
        sd_store_free(s);
    }
}

static void test_free_while_sweeping_releases_everything(void **state)
{
    (void)state;
    for (int round = 0; round < 10; round++) {
        sd_memory_opts opts = {2, 1, 0};
        sd_store *s = NULL;
        assert_int_equal(sd_memory_store_new(&opts, &s), SD_OK);
        assert_non_null(s);
        const char *items[] = {"a", "b"};
        size_t lens[] = {1, 1};
        for (int i = 0; i < 300; i++) {
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            assert_int_equal(put(s, "ns", id, i % 3 == 0 ? 0 : 1 + i % 5), SD_OK);
            assert_int_equal(sd_store_list_append(s, "list", id, items, lens, 2, 0,
                                                  i % 2 ? 2 : 0, NULL), SD_OK);
        }
        sd_rate rate;
        assert_int_equal(sd_store_rate_check(s, "k", 10, 1000, &rate), SD_OK);
        sd_store_free(s);
    }
}

static void test_shard_counts_round_up_and_hold_many_records(void **state)
{
    (void)state;
    static const unsigned shards[] = {1, 3, 100000};
    for (size_t k = 0; k < sizeof shards / sizeof *shards; k++) {
        sd_memory_opts opts = {shards[k], 0, 0};
        sd_store *s = NULL;
        assert_int_equal(sd_memory_store_new(&opts, &s), SD_OK);
        assert_non_null(s);
        for (int i = 0; i < 5000; i++) {
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            assert_int_equal(put(s, "many", id, 0), SD_OK);
        }
        assert_int_equal(count_of(s, "many"), 5000);
        sd_record r = SD_RECORD_INIT;
        assert_int_equal(sd_store_get(s, "many", "r4321", 0, &r), SD_OK);
        assert_string_equal(sd_record_get(&r, "f", NULL), "v");
        sd_record_clear(&r);
        sd_store_free(s);
    }
}

static void test_default_options_give_a_working_store(void **state)
{
    (void)state;
    sd_store *s = NULL;
    assert_int_equal(sd_memory_store_new(NULL, &s), SD_OK);
    assert_non_null(s);
    assert_int_equal(sd_store_ping(s), SD_OK);
    assert_int_equal(put(s, "ns", "r", 0), SD_OK);
    assert_int_equal(count_of(s, "ns"), 1);
    sd_store_free(s);
    sd_store_free(NULL);
}

static void test_info_reports_memory_backend(void **state)
{
    sd_store_info info;
    memset(&info, 'x', sizeof info);
    sd_store_info_get(*state, &info);
    assert_string_equal(info.backend, "memory");
    assert_string_equal(info.url, "");
    assert_string_equal(((sd_store *)*state)->ops->name, "memory");
}

static void test_scan_cursor_must_be_lowercase_hex_of_an_id(void **state)
{
    sd_store *s = *state;
    assert_int_equal(put(s, "ns", "a", 0), SD_OK);
    assert_int_equal(put(s, "ns", "b", 0), SD_OK);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(s, "ns", NULL, 1, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], "a");
    assert_string_equal(p.next_cursor, "61");
    assert_int_equal(sd_store_scan(s, "ns", "61", 1, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], "b");
    assert_null(p.next_cursor);
    assert_int_equal(sd_store_scan(s, "ns", "6", 1, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan(s, "ns", "6A", 1, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan(s, "ns", "0061", 1, &p), SD_ERR_INVALID);
    sd_page_clear(&p);
}

int main(void)
{
    static sd_memory_opts sharded = {0, 20, 0};
    static sd_memory_opts single = {1, 20, 0};
    int failed = 0;
    sd_store_contract_set_factory(make_memory_store, &sharded);
    failed += sd_store_contract_run("store_contract_memory");
    sd_store_contract_set_factory(make_memory_store, &single);
    failed += sd_store_contract_run("store_contract_memory_one_shard");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweeper_drops_expired_records_nobody_reads,
                                        setup_fast_sweep, teardown_store),
        cmocka_unit_test_setup_teardown(test_count_keeps_unswept_record_until_access_expires_it,
                                        setup_slow_sweep, teardown_store),
        cmocka_unit_test_setup_teardown(test_clear_does_not_count_expired_records,
                                        setup_slow_sweep, teardown_store),
        cmocka_unit_test(test_free_stops_a_long_sweep_interval_at_once),
        cmocka_unit_test(test_free_while_sweeping_releases_everything),
        cmocka_unit_test(test_shard_counts_round_up_and_hold_many_records),
        cmocka_unit_test(test_default_options_give_a_working_store),
        cmocka_unit_test_setup_teardown(test_info_reports_memory_backend,
                                        setup_fast_sweep, teardown_store),
        cmocka_unit_test_setup_teardown(test_scan_cursor_must_be_lowercase_hex_of_an_id,
                                        setup_slow_sweep, teardown_store),
    };
    failed += cmocka_run_group_tests_name("store_memory", tests, NULL, NULL);
    return failed != 0;
}
