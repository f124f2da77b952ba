/*
 * The memory store's cap (memory_max_bytes): what it counts, what it
 * refuses once full, and that what is held, reads, deletes, expiry and
 * the steps of accepted jobs go on while it is full.
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

/* Room for the table's empty shards and a few dozen small records. */
#define SMALL_CAP (64 * 1024)
#define SHORT_TTL_MS 300

static sd_store *store_with_cap(int64_t max_bytes)
{
    sd_memory_opts opts = {4, 20, max_bytes};
    sd_store *s = NULL;
    assert_int_equal(sd_memory_store_new(&opts, &s), SD_OK);
    assert_non_null(s);
    return s;
}

static int64_t held(sd_store *s)
{
    sd_store_info info;
    sd_store_info_get(s, &info);
    return info.bytes_held;
}

static sd_err put(sd_store *s, const char *id, const char *value, int64_t ttl_ms)
{
    sd_assign a = {"data", SD_ASSIGN_SET, value, strlen(value), 0};
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, ttl_ms, false, 0};
    return sd_store_update(s, "session", id, &u, NULL);
}

static void assert_value(sd_store *s, const char *id, const char *want)
{
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "session", id, 0, &r), SD_OK);
    assert_string_equal(sd_record_get(&r, "data", NULL), want);
    sd_record_clear(&r);
}

/* Writes records of 200-byte values until the store refuses one; returns
 * how many were acknowledged. */
static int fill(sd_store *s, const char *prefix, int64_t ttl_ms)
{
    char value[201];
    memset(value, 'x', 200);
    value[200] = '\0';
    for (int i = 0; i < 100000; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s%d", prefix, i);
        sd_err err = put(s, id, value, ttl_ms);
        if (err == SD_ERR_STORE_FULL)
            return i;
        assert_int_equal(err, SD_OK);
    }
    fail_msg("the store never filled up");
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
}

static void test_info_reports_bytes_held_and_the_cap(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(SMALL_CAP);
    sd_store_info info;
    sd_store_info_get(s, &info);
    assert_int_equal(info.bytes_max, SMALL_CAP);
    /* The empty table's bucket arrays are held already. */
    assert_true(info.bytes_held > 0 && info.bytes_held < SMALL_CAP / 2);
    int64_t empty = info.bytes_held;
    assert_int_equal(put(s, "a", "hello", 0), SD_OK);
    assert_true(held(s) > empty);
    sd_store_free(s);

    s = store_with_cap(0);
    sd_store_info_get(s, &info);
    assert_int_equal(info.bytes_max, 0);
    sd_store_free(s);
}

/* Every kind of state counts while held and is given back when it goes,
 * however it goes: the count returns to the empty table's. */
static void test_count_returns_to_empty_after_everything_is_gone(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(0);
    int64_t empty = held(s);
    char id[32];
    for (int i = 0; i < 500; i++) {
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(put(s, id, "some session data", 0), SD_OK);
        assert_int_equal(put(s, id, "replaced by a longer value than before", 0), SD_OK);
    }
    const char *items[] = {"first message", "second"};
    size_t lens[] = {13, 6};
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "u%d", i);
        for (int k = 0; k < 10; k++)
            assert_int_equal(sd_store_list_append(s, "chat", id, items, lens, 2, 5, 0, NULL),
                             SD_OK);
    }
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(s, "create:10.0.0.1", 5, 60000, &rate), SD_OK);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "j%d", i);
        assert_int_equal(sd_queue_push(s, "jobs", id, 0, 0, NULL), SD_OK);
    }
    assert_true(held(s) > empty + 500 * 64);
    sd_queue_item items_out[100];
    size_t n = 0;
    sd_queue_take t = {.owner = "w", .lease_ms = 60000, .max = 100};
    assert_int_equal(sd_queue_take_items(s, "jobs", &t, NULL, items_out, &n), SD_OK);
    assert_int_equal(n, 100);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sd_queue_ack(s, "jobs", items_out[i].item, "w", NULL), SD_OK);
    sd_queue_items_clear(items_out, n);
    for (int i = 0; i < 250; i++) {
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(sd_store_del(s, "session", id), SD_OK);
    }
    int64_t deleted = 0;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    /* What stays: the grown bucket arrays of the shards and the queue. */
    int64_t after = held(s);
    assert_true(after >= empty);
    assert_true(after < empty + 64 * 1024);
    sd_store_free(s);
}

static void test_full_store_refuses_writes_with_store_full_and_keeps_what_it_held(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(SMALL_CAP);
    int stored = fill(s, "s", 0);
    assert_true(stored > 10);
    assert_true(held(s) <= SMALL_CAP);

    /* Everything acknowledged is there. */
    char value[201];
    memset(value, 'x', 200);
    value[200] = '\0';
    for (int i = 0; i < stored; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%d", i);
        assert_value(s, id, value);
    }
    /* Every write that adds state is refused, changing nothing. */
    assert_int_equal(put(s, "new", value, 0), SD_ERR_STORE_FULL);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "session", "new", 0, &r), SD_ERR_NOT_FOUND);
    const char *item = "a long message that does not fit any more";
    size_t len = strlen(item);
    assert_int_equal(sd_store_list_append(s, "chat", "u", &item, &len, 1, 0, 0, NULL),
                     SD_ERR_STORE_FULL);
    sd_assign st = {"status", SD_ASSIGN_SET, "queued", 6, 0};
    sd_update create = {SD_UPDATE_CREATE, NULL, NULL, 0, &st, 1, 0, false, 0};
    sd_queue_rec qr = {"jobs", &create, NULL, SD_OK};
    assert_int_equal(sd_queue_push(s, "jobs", "j9", 0, 0, &qr), SD_ERR_STORE_FULL);
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(s, "create:10.0.0.9", 5, 60000, &rate),
                     SD_ERR_STORE_FULL);
    /* A record may grow no further, but a change that keeps its size or
     * shrinks it passes. */
    char longer[4096];
    memset(longer, 'y', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(put(s, "s0", longer, 0), SD_ERR_STORE_FULL);
    assert_value(s, "s0", value);
    assert_int_equal(put(s, "s0", value, 0), SD_OK);
    assert_int_equal(put(s, "s1", "short", 0), SD_OK);
    assert_value(s, "s1", "short");
    /* A delete makes room for a write again. */
    for (int i = 2; i < 8; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(sd_store_del(s, "session", id), SD_OK);
    }
    assert_int_equal(put(s, "new", value, 0), SD_OK);
    assert_value(s, "new", value);
    sd_store_free(s);
}

/* A job accepted before the store filled up runs to its end: take,
 * renew and ack, each with its record change, are not refused, even when
 * the result makes the record grow past the cap. */
static void test_accepted_job_completes_on_a_full_store(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(SMALL_CAP);
    sd_assign queued = {"status", SD_ASSIGN_SET, "queued", 6, 0};
    sd_update create = {SD_UPDATE_CREATE, NULL, NULL, 0, &queued, 1, 0, false, 0};
    sd_queue_rec rec = {"job", &create, NULL, SD_OK};
    assert_int_equal(sd_queue_push(s, "jobs", "j1", 0, 0, &rec), SD_OK);
    fill(s, "s", 0);
    assert_int_equal(sd_queue_push(s, "jobs", "j2", 0, 0, &rec), SD_ERR_STORE_FULL);

    sd_assign running = {"status", SD_ASSIGN_SET, "running", 7, 0};
    sd_update start = {SD_UPDATE_EXISTING, NULL, NULL, 0, &running, 1, 0, false, 0};
    sd_queue_rec start_rec = {"job", &start, NULL, SD_OK};
    sd_queue_take t = {.owner = "w", .lease_ms = 60000, .max = 1};
    sd_queue_item it[1];
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, "jobs", &t, &start_rec, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "j1");
    sd_queue_items_clear(it, n);
    assert_int_equal(sd_queue_renew(s, "jobs", "j1", "w", 60000, &start_rec), SD_OK);

    char result[2048];
    memset(result, 'r', sizeof result - 1);
    result[sizeof result - 1] = '\0';
    sd_assign done[] = {{"status", SD_ASSIGN_SET, "done", 4, 0},
                        {"result", SD_ASSIGN_SET, result, strlen(result), 0}};
    sd_update finish = {SD_UPDATE_EXISTING, NULL, NULL, 0, done, 2, 0, false, 0};
    sd_queue_rec finish_rec = {"job", &finish, NULL, SD_OK};
    assert_int_equal(sd_queue_ack(s, "jobs", "j1", "w", &finish_rec), SD_OK);
    assert_int_equal(finish_rec.err, SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "job", "j1", 0, &r), SD_OK);
    assert_string_equal(sd_record_get(&r, "status", NULL), "done");
    assert_string_equal(sd_record_get(&r, "result", NULL), result);
    sd_record_clear(&r);
    sd_store_free(s);
}

/* Expiry drains a full store by itself (the sweeper, nobody reading). */
/* What an app reports at the end of a run it carries, and the hand-off
 * of such a run, go through while the store is full; a write that is
 * not marked settles does not. */
static void test_settling_writes_and_hand_offs_pass_a_full_store(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(SMALL_CAP);
    assert_int_equal(put(s, "job", "processing", 0), SD_OK);
    assert_true(fill(s, "f", 0) > 0);

    char result[2048];
    memset(result, 'r', sizeof result - 1);
    result[sizeof result - 1] = '\0';
    sd_assign a = {"result", SD_ASSIGN_SET, result, strlen(result), 0};
    sd_update grow = {SD_UPDATE_EXISTING, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "session", "job", &grow, NULL), SD_ERR_STORE_FULL);
    sd_update end = grow;
    end.settles = true;
    assert_int_equal(sd_store_update(s, "session", "job", &end, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, "session", "job", 0, &r), SD_OK);
    assert_string_equal(sd_record_get(&r, "result", NULL), result);
    sd_record_clear(&r);

    /* A push with a record change is new work: refused; without one (a
     * hand-off of work already accepted) or with a settling one: taken. */
    sd_assign st = {"status", SD_ASSIGN_SET, "queued", 6, 0};
    sd_update create = {SD_UPDATE_CREATE, NULL, NULL, 0, &st, 1, 0, false, 0};
    sd_queue_rec rec = {"jobs", &create, NULL, SD_OK};
    assert_int_equal(sd_queue_push(s, "q", "new", 0, 0, &rec), SD_ERR_STORE_FULL);
    assert_int_equal(sd_queue_push(s, "handoff", "job", 0, 0, NULL), SD_OK);
    sd_queue_stats qs;
    assert_int_equal(sd_queue_stats_get(s, "handoff", &qs), SD_OK);
    assert_int_equal(qs.ready, 1);
    sd_store_free(s);
}

static void test_full_store_takes_writes_again_after_expiry(void **state)
{
    (void)state;
    sd_store *s = store_with_cap(SMALL_CAP);
    int stored = fill(s, "t", SHORT_TTL_MS);
    assert_true(stored > 10);
    char value[201];
    memset(value, 'x', 200);
    value[200] = '\0';
    assert_int_equal(put(s, "later", value, 0), SD_ERR_STORE_FULL);
    int64_t until = sd_mono_ms() + 10000;
    while (put(s, "later", value, 0) == SD_ERR_STORE_FULL && sd_mono_ms() < until)
        sleep_ms(20);
    assert_value(s, "later", value);
    sd_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_reports_bytes_held_and_the_cap),
        cmocka_unit_test(test_count_returns_to_empty_after_everything_is_gone),
        cmocka_unit_test(test_full_store_refuses_writes_with_store_full_and_keeps_what_it_held),
        cmocka_unit_test(test_accepted_job_completes_on_a_full_store),
        cmocka_unit_test(test_settling_writes_and_hand_offs_pass_a_full_store),
        cmocka_unit_test(test_full_store_takes_writes_again_after_expiry),
    };
    return cmocka_run_group_tests_name("store_memory_cap", tests, NULL, NULL);
}
