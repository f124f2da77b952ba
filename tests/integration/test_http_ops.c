/*
 * GET /stats and DELETE /admin/data, on the memory store and on Redis:
 * the shape of /stats and its counts as jobs move through their states
 * and as sessions and conversations come, go and expire; two instances
 * on one Redis counting alike; the admin route's token and confirm rules;
 * and a clear that removes every record statusd keeps (stopping the jobs
 * that were running or queued) and nothing else (keys outside the
 * prefix, another instance's prefix). /metrics and the
 * TTLs of the Redis keys are in test_http_ops_metrics.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "ops_test.h"
#include "statusd/util.h"

#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define API_TOKEN "api-token-0123456789abcdef"
#define ADMIN_AUTH "Authorization: Bearer " ADMIN_TOKEN "\r\n"
#define CLEAR_PATH "/admin/data?confirm=true"

/* ---- fixtures ---- */

/* Jobs end at once (a failing one after three attempts, retried within
 * milliseconds); two workers; a queue of 64. */
static const char *const QUICK[] = {"--set", "demo_step_ms=0", "--set", "workers=2",
                                    "--set", "queue_capacity=64",
                                    "--set", "retry_backoff_ms=10",
                                    "--set", "retry_backoff_max_ms=20", NULL};
/* One worker, busy for three minutes with each job. */
static const char *const SLOW[] = {"--set", "demo_step_ms=60000", "--set", "workers=1", NULL};
static const char *const SHORT_SESSION[] = {"--set", "session_ttl=1", NULL};
static const char *const ADMIN[] = {"--set", "admin_token=" ADMIN_TOKEN, "--set",
                                    "demo_step_ms=0", "--set", "retry_backoff_ms=10", NULL};
static const char *const ADMIN_SLOW[] = {"--set", "admin_token=" ADMIN_TOKEN, "--set",
                                         "demo_step_ms=60000", "--set", "workers=1", NULL};
static const char *const ADMIN_API[] = {"--set", "admin_token=" ADMIN_TOKEN, "--set",
                                        "api_token=" API_TOKEN, NULL};

static int quick_memory(void **state) { return test_fixture_setup(state, false, NULL, QUICK); }
static int quick_redis(void **state) { return test_fixture_setup(state, true, NULL, QUICK); }
static int slow_memory(void **state) { return test_fixture_setup(state, false, NULL, SLOW); }
static int slow_redis(void **state) { return test_fixture_setup(state, true, NULL, SLOW); }
static int short_memory(void **state) { return test_fixture_setup(state, false, NULL, SHORT_SESSION); }
static int short_redis(void **state) { return test_fixture_setup(state, true, NULL, SHORT_SESSION); }
static int plain_memory(void **state) { return test_fixture_setup(state, false, NULL, NULL); }
static int admin_memory(void **state) { return test_fixture_setup(state, false, NULL, ADMIN); }
static int admin_redis(void **state) { return test_fixture_setup(state, true, NULL, ADMIN); }
static int admin_slow_memory(void **state) { return test_fixture_setup(state, false, NULL, ADMIN_SLOW); }
static int admin_slow_redis(void **state) { return test_fixture_setup(state, true, NULL, ADMIN_SLOW); }
static int admin_api_memory(void **state) { return test_fixture_setup(state, false, NULL, ADMIN_API); }

/* ---- helpers ---- */

/* Asserts that obj is an object of exactly n members. */
static void assert_members(const cJSON *obj, int n)
{
    assert_true(cJSON_IsObject(obj));
    assert_int_equal(cJSON_GetArraySize(obj), n);
}

static void assert_counts(unsigned port, int sessions, int conversations)
{
    cJSON *s = ops_stats(port);
    assert_int_equal(ops_stat(s, NULL, "sessions"), sessions);
    assert_int_equal(ops_stat(s, NULL, "conversations"), conversations);
    cJSON_Delete(s);
}


static int job_status_code(unsigned port, const char *id)
{
    char path[64];
    test_status_path(path, sizeof path, id);
    return test_get_status(port, path);
}

static int session_status_code(unsigned port, const char *id)
{
    char path[192];
    snprintf(path, sizeof path, "/sessions/%s", id);
    return test_get_status(port, path);
}

/* An RFC 3339 UTC time with milliseconds as epoch milliseconds; asserts
 * its shape. */
static int64_t time_ms(const char *text)
{
    assert_true(test_is_rfc3339_ms(text));
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    char *end = NULL;
    long ms = strtol(rest + 1, &end, 10);
    assert_true(rest[0] == '.' && end == rest + 4 && *end == 'Z');
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* DELETE path; asserts the status and frees the answer. */
static void delete_expect(unsigned port, const char *path, int status)
{
    http_resp r;
    test_call(port, "DELETE", path, NULL, NULL, &r);
    if (r.status != status)
        fail_msg("DELETE %s: expected %d, got %d: %s", path, status, r.status, r.body);
    http_resp_free(&r);
}

/* DELETE /admin/data?confirm=true with the admin token; asserts
 * exactly {"deleted": n + 1}: n records and the instance's heartbeat
 * record (written again at once), the only live instance's. */
static void clear_expect(unsigned port, int n)
{
    http_resp r;
    test_call(port, "DELETE", CLEAR_PATH, ADMIN_AUTH, NULL, &r);
    cJSON *v = ops_json(&r, 200);
    assert_members(v, 1);
    assert_int_equal(test_jint(v, "deleted"), n + 1);
    cJSON_Delete(v);
}

/* ---- /stats ---- */

static void test_stats_of_a_fresh_instance_are_zero_with_the_configured_sizes(void **state)
{
    http_resp r;
    test_call(test_fixture_port(state), "GET", "/stats", NULL, NULL, &r);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    assert_non_null(http_header(&r, "X-Request-Id"));
    cJSON *s = ops_json(&r, 200);
    assert_members(s, 10);
    assert_int_equal(ops_stat(s, NULL, "instances"), 1);
    /* each kind's outcomes, all 0 */
    const cJSON *outcomes = cJSON_GetObjectItemCaseSensitive(s, "outcomes");
    assert_members(outcomes, 2);
    static const char *const names[] = {"completed", "failed", "canceled", "retried", "lost"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ops_stat(outcomes, "research", names[i]), 0);
        assert_int_equal(ops_stat(outcomes, "upload", names[i]), 0);
    }
    assert_members(cJSON_GetObjectItemCaseSensitive(s, "jobs"), 5);
    ops_assert_jobs(s, 0, 0, 0, 0, 0);
    assert_int_equal(ops_stat(s, NULL, "sessions"), 0);
    assert_int_equal(ops_stat(s, NULL, "conversations"), 0);
    assert_members(cJSON_GetObjectItemCaseSensitive(s, "queue"), 5);
    assert_int_equal(ops_stat(s, "queue", "depth"), 0);
    assert_int_equal(ops_stat(s, "queue", "capacity"), 64);
    assert_int_equal(ops_stat(s, "queue", "ready"), 0);
    assert_int_equal(ops_stat(s, "queue", "delayed"), 0);
    assert_int_equal(ops_stat(s, "queue", "leased"), 0);
    assert_members(cJSON_GetObjectItemCaseSensitive(s, "workers"), 2);
    assert_int_equal(ops_stat(s, "workers", "total"), 2);
    assert_int_equal(ops_stat(s, "workers", "busy"), 0);
    assert_members(cJSON_GetObjectItemCaseSensitive(s, "recovery"), 4);
    assert_int_equal(ops_stat(s, "recovery", "retries"), 0);
    assert_int_equal(ops_stat(s, "recovery", "requeued"), 0);
    assert_int_equal(ops_stat(s, "recovery", "worker_lost"), 0);
    assert_int_equal(ops_stat(s, "recovery", "handed_back"), 0);
    assert_true(ops_stat(s, NULL, "uptime_s") >= 0);
    /* The memory store counts what it holds against its cap (auto: a
     * quarter of the machine's memory); Redis bounds itself. */
    const cJSON *store = cJSON_GetObjectItemCaseSensitive(s, "store");
    assert_members(store, 2);
    const cJSON *held = cJSON_GetObjectItemCaseSensitive(store, "bytes_held");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(store, "bytes_max");
    if (((test_fixture *)*state)->redis) {
        assert_true(cJSON_IsNull(held) && cJSON_IsNull(max));
    } else {
        assert_true(cJSON_IsNumber(held) && held->valuedouble > 0);
        assert_true(cJSON_IsNumber(max) && max->valuedouble > held->valuedouble);
    }
    cJSON_Delete(s);
}

static void test_stats_count_completed_and_failed_jobs(void **state)
{
    unsigned port = test_fixture_port(state);
    char *a = ops_job(port, "one", false, "completed");
    cJSON *s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 1, 0, 0);
    cJSON_Delete(s);
    char *b = ops_job(port, "two", false, "completed");
    char *c = ops_job(port, "three", true, "failed");
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 2, 1, 0);
    /* the failing job ran three times: two retries */
    assert_int_equal(ops_stat(s, "recovery", "retries"), 2);
    assert_int_equal(ops_stat(s, "queue", "leased"), 0);
    const cJSON *research = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "outcomes"), "research");
    assert_int_equal(ops_stat(research, NULL, "completed"), 2);
    assert_int_equal(ops_stat(research, NULL, "failed"), 1);
    assert_int_equal(ops_stat(research, NULL, "retried"), 2);
    cJSON_Delete(s);
    /* canceling a finished job is refused and counts nothing */
    char path[64];
    test_status_path(path, sizeof path, a);
    delete_expect(port, path, 409);
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 2, 1, 0);
    cJSON_Delete(s);
    ops_wait_stat(port, "workers", "busy", 0);
    ops_wait_stat(port, "queue", "depth", 0);
    free(a);
    free(b);
    free(c);
}

static void test_stats_count_processing_queued_and_canceled_jobs(void **state)
{
    unsigned port = test_fixture_port(state);
    char *a = ops_job(port, "slow", false, "processing");
    cJSON *s = ops_stats(port);
    ops_assert_jobs(s, 0, 1, 0, 0, 0);
    cJSON_Delete(s);
    ops_wait_stat(port, "workers", "busy", 1);

    /* the only worker is busy for minutes: the next job waits */
    char *b = test_submit_job(port, "{\"query\":\"waiting\"}");
    s = ops_stats(port);
    ops_assert_jobs(s, 1, 1, 0, 0, 0);
    assert_int_equal(ops_stat(s, "queue", "depth"), 1);
    assert_int_equal(ops_stat(s, "queue", "ready"), 1);
    assert_int_equal(ops_stat(s, "queue", "delayed"), 0);
    assert_int_equal(ops_stat(s, "queue", "leased"), 1);
    assert_int_equal(ops_stat(s, "workers", "busy"), 1);
    cJSON_Delete(s);

    test_cancel_job(port, b);
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 1, 0, 0, 1);
    cJSON_Delete(s);
    test_cancel_job(port, a);
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 0, 0, 2);
    cJSON_Delete(s);
    ops_wait_stat(port, "workers", "busy", 0);
    ops_wait_stat(port, "queue", "depth", 0);
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 0, 0, 2);
    cJSON_Delete(s);
    free(a);
    free(b);
}

static void test_stats_count_sessions_and_conversations_until_deleted(void **state)
{
    unsigned port = test_fixture_port(state);
    char *s1 = ops_create_session(port);
    assert_counts(port, 1, 0);
    char *s2 = ops_create_session(port);
    ops_chat(port, "+59170000001");
    assert_counts(port, 2, 1);
    /* a second message is the same conversation */
    ops_chat(port, "+59170000001");
    ops_chat(port, "alice@example.com");
    assert_counts(port, 2, 2);

    char path[192];
    snprintf(path, sizeof path, "/sessions/%s", s1);
    delete_expect(port, path, 204);
    assert_counts(port, 1, 2);
    delete_expect(port, "/chat/history/+59170000001", 204);
    assert_counts(port, 1, 1);
    /* deleting again changes nothing */
    delete_expect(port, path, 404);
    delete_expect(port, "/chat/history/+59170000001", 404);
    assert_counts(port, 1, 1);
    snprintf(path, sizeof path, "/sessions/%s", s2);
    delete_expect(port, path, 204);
    delete_expect(port, "/chat/history/alice@example.com", 204);
    assert_counts(port, 0, 0);
    free(s1);
    free(s2);
}

static void test_stats_stop_counting_an_expired_session(void **state)
{
    unsigned port = test_fixture_port(state);
    http_resp r;
    test_call(port, "POST", "/sessions", NULL, "{}", &r);
    cJSON *v = ops_json(&r, 201);
    char *id = strdup(test_jstr(v, "id"));
    assert_non_null(id);
    int64_t expires_ms = time_ms(test_jstr(v, "expires_at"));
    cJSON_Delete(v);

    /* Counted while it lives: a read that began before its expiry sees it. */
    int64_t asked = sd_now_ms();
    cJSON *s = ops_stats(port);
    if (asked < expires_ms)
        assert_int_equal(ops_stat(s, NULL, "sessions"), 1);
    cJSON_Delete(s);

    ops_wait_stat(port, NULL, "sessions", 0);
    assert_int_equal(session_status_code(port, id), 404);
    assert_counts(port, 0, 0);
    free(id);
}

/* Both instances have one worker held for minutes by each job; the jobs
 * of the shared queue go to whichever is free. */
static void test_stats_of_two_instances_on_one_redis_agree(void **state)
{
    unsigned a = test_fixture_port(state);
    test_statusd *other = ops_start_on_redis(SLOW);
    assert_non_null(other);
    unsigned b = other->proc.port;
    char *j1 = ops_job(a, "one", false, "processing");
    char *j2 = ops_job(b, "two", false, "processing");
    /* one runs on each instance now; the third waits for a worker */
    char *j3 = test_submit_job(a, "{\"query\":\"three\"}");
    char *sess = ops_create_session(b);
    ops_chat(a, "shared-user");

    unsigned ports[] = {a, b};
    for (size_t i = 0; i < 2; i++) {
        ops_wait_stat(ports[i], "workers", "busy", 1);
        cJSON *s = ops_stats(ports[i]);
        ops_assert_jobs(s, 1, 2, 0, 0, 0);
        assert_int_equal(ops_stat(s, NULL, "instances"), 2);
        assert_int_equal(ops_stat(s, NULL, "sessions"), 1);
        assert_int_equal(ops_stat(s, NULL, "conversations"), 1);
        assert_int_equal(ops_stat(s, "queue", "depth"), 1);
        assert_int_equal(ops_stat(s, "queue", "leased"), 2);
        cJSON_Delete(s);
    }
    /* canceled through b, counted alike by both */
    test_cancel_job(b, j3);
    for (size_t i = 0; i < 2; i++) {
        cJSON *s = ops_stats(ports[i]);
        ops_assert_jobs(s, 0, 2, 0, 0, 1);
        assert_int_equal(ops_stat(s, "queue", "depth"), 0);
        cJSON_Delete(s);
    }
    /* each canceled through the instance that does not run it, maybe */
    test_cancel_job(b, j1);
    test_cancel_job(a, j2);
    for (size_t i = 0; i < 2; i++) {
        cJSON *s = ops_stats(ports[i]);
        ops_assert_jobs(s, 0, 0, 0, 0, 3);
        cJSON_Delete(s);
    }
    /* the workers learn of the cancels from the store */
    for (size_t i = 0; i < 2; i++) {
        ops_wait_stat(ports[i], "workers", "busy", 0);
        ops_wait_stat(ports[i], "queue", "leased", 0);
    }
    assert_int_equal(test_statusd_stop(other), 0);
    /* a stopped instance takes its heartbeat record along */
    cJSON *s = ops_stats(a);
    assert_int_equal(ops_stat(s, NULL, "instances"), 1);
    cJSON_Delete(s);
    free(j1);
    free(j2);
    free(j3);
    free(sess);
}

/* ---- DELETE /admin/data: who and when ---- */

static void test_admin_data_is_forbidden_while_admin_token_is_unset(void **state)
{
    unsigned port = test_fixture_port(state);
    const char *headers[] = {NULL, "Authorization: Bearer " ADMIN_TOKEN "\r\n"};
    for (size_t i = 0; i < 2; i++) {
        http_resp r;
        test_call(port, "DELETE", CLEAR_PATH, headers[i], NULL, &r);
        test_assert_problem(&r, 403, "forbidden", "admin_token is not set");
        assert_null(http_header(&r, "WWW-Authenticate"));
        http_resp_free(&r);
    }
}

static void test_admin_data_needs_the_admin_token(void **state)
{
    unsigned port = test_fixture_port(state);
    char *sess = NULL;
    http_resp r;
    test_call(port, "POST", "/sessions", "Authorization: Bearer " API_TOKEN "\r\n", "{}", &r);
    cJSON *v = ops_json(&r, 201);
    sess = strdup(test_jstr(v, "id"));
    assert_non_null(sess);
    cJSON_Delete(v);

    const char *refused[] = {
        NULL,
        "Authorization: Bearer wrong-token-0123456789abcdef\r\n",
        "Authorization: Bearer " API_TOKEN "\r\n",           /* the API token */
        "Authorization: Basic " ADMIN_TOKEN "\r\n",          /* not Bearer */
        "Authorization: Bearer " ADMIN_TOKEN "x\r\n",        /* one byte longer */
        "Authorization: Bearer admin-token-0123456789abcde\r\n", /* one byte shorter */
        "Authorization: Bearer\r\n",
    };
    const char *paths[] = {CLEAR_PATH, "/admin/data"};
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            test_call(port, "DELETE", paths[p], refused[i], NULL, &r);
            test_assert_problem(&r, 401, "unauthorized", "Authorization: Bearer");
            assert_string_equal(http_header(&r, "WWW-Authenticate"), "Bearer realm=\"statusd\"");
            http_resp_free(&r);
        }
    }
    assert_int_equal(session_status_code(port, sess), 200);
    /* the right token, case-insensitive scheme */
    test_call(port, "DELETE", CLEAR_PATH, "Authorization: bearer " ADMIN_TOKEN "\r\n", NULL, &r);
    cJSON_Delete(ops_json(&r, 200));
    assert_int_equal(session_status_code(port, sess), 404);
    free(sess);
}

static void test_admin_data_needs_confirm_true(void **state)
{
    unsigned port = test_fixture_port(state);
    char *sess = ops_create_session(port);
    const char *paths[] = {"/admin/data",           "/admin/data?confirm=yes",
                           "/admin/data?confirm=1", "/admin/data?confirm=TRUE",
                           "/admin/data?confirm=",  "/admin/data?confirm",
                           "/admin/data?confirmed=true"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_resp r;
        test_call(port, "DELETE", paths[i], ADMIN_AUTH, NULL, &r);
        test_assert_problem(&r, 400, "invalid-request", "?confirm=true");
        http_resp_free(&r);
    }
    assert_int_equal(session_status_code(port, sess), 200);
    assert_counts(port, 1, 0);
    free(sess);
}

/* ---- DELETE /admin/data: what ---- */

static void test_admin_data_deletes_every_record_and_counts_them(void **state)
{
    unsigned port = test_fixture_port(state);
    char *j1 = ops_job(port, "one", false, "completed");
    char *j2 = ops_job(port, "two", true, "failed");
    char *sess = ops_create_session(port);
    ops_chat(port, "+59170000002");

    /* two jobs, a session, and a conversation's messages and its id */
    clear_expect(port, 5);
    assert_int_equal(job_status_code(port, j1), 404);
    assert_int_equal(job_status_code(port, j2), 404);
    assert_int_equal(session_status_code(port, sess), 404);
    assert_int_equal(test_get_status(port, "/chat/history/+59170000002"), 404);
    cJSON *s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 0, 0, 0);
    assert_int_equal(ops_stat(s, NULL, "sessions"), 0);
    assert_int_equal(ops_stat(s, NULL, "conversations"), 0);
    cJSON_Delete(s);
    clear_expect(port, 0);

    /* the instance works on as before */
    char *j3 = ops_job(port, "after", false, "completed");
    s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 1, 0, 0);
    cJSON_Delete(s);
    free(j1);
    free(j2);
    free(j3);
    free(sess);
}

static void test_admin_data_stops_running_and_queued_jobs(void **state)
{
    unsigned port = test_fixture_port(state);
    char *running = ops_job(port, "running", false, "processing");
    char *queued = test_submit_job(port, "{\"query\":\"queued\"}");
    ops_wait_stat(port, "workers", "busy", 1);

    clear_expect(port, 2);
    /* the handler learns that its record is gone, as from a cancel */
    ops_wait_stat(port, "workers", "busy", 0);
    ops_wait_stat(port, "queue", "depth", 0);
    assert_int_equal(job_status_code(port, running), 404);
    assert_int_equal(job_status_code(port, queued), 404);
    cJSON *s = ops_stats(port);
    ops_assert_jobs(s, 0, 0, 0, 0, 0);
    cJSON_Delete(s);
    free(running);
    free(queued);
}

/* Keys a clear with prefix "statusd:" must not touch. */
static const char *const OUTSIDE[] = {"other:key", "statusdx:key", "statusd",
                                      "Statusd:key", "xstatusd:key", "{statusd:job}"};
#define NOUTSIDE (sizeof OUTSIDE / sizeof OUTSIDE[0])

static void test_admin_data_leaves_keys_outside_the_prefix(void **state)
{
    unsigned port = test_fixture_port(state);
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    for (size_t i = 0; i < NOUTSIDE; i++) {
        const char *set[] = {"SET", OUTSIDE[i], OUTSIDE[i], NULL};
        freeReplyObject(ops_redis_cmd(c, set));
    }
    const char *hset[] = {"HSET", "statusd_hash", "f", "v", NULL};
    assert_int_equal(ops_redis_int(c, hset), 1);
    char *job = ops_job(port, "one", false, "completed");
    char *sess = ops_create_session(port);
    ops_chat(port, "bob");

    clear_expect(port, 4);
    /* what is left is the instance's heartbeat record, written again at
     * once, and its namespace's indexes */
    const char *match[] = {"SCAN", "0", "MATCH", "statusd:*", "COUNT", "1000", NULL};
    redisReply *r = ops_redis_cmd(c, match);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "0");
    assert_int_equal(r->element[1]->elements, 3);
    for (size_t i = 0; i < 3; i++) {
        const char *key = r->element[1]->element[i]->str;
        if (strncmp(key, "statusd:{instance:", 18) != 0 &&
            strcmp(key, "statusd:exp:instance") != 0 && strcmp(key, "statusd:lex:instance") != 0)
            fail_msg("%s left after the clear", key);
    }
    freeReplyObject(r);
    for (size_t i = 0; i < NOUTSIDE; i++) {
        const char *get[] = {"GET", OUTSIDE[i], NULL};
        r = ops_redis_cmd(c, get);
        if (r->type != REDIS_REPLY_STRING || strcmp(r->str, OUTSIDE[i]) != 0)
            fail_msg("key %s did not survive the clear", OUTSIDE[i]);
        freeReplyObject(r);
    }
    const char *hget[] = {"HGET", "statusd_hash", "f", NULL};
    r = ops_redis_cmd(c, hget);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "v");
    freeReplyObject(r);
    const char *dbsize[] = {"DBSIZE", NULL};
    assert_int_equal(ops_redis_int(c, dbsize), (long long)NOUTSIDE + 1 + 3);
    redisFree(c);
    free(job);
    free(sess);
}

static void test_admin_data_leaves_another_prefix_alone(void **state)
{
    unsigned a = test_fixture_port(state);
    static const char *const OTHER[] = {"--set", "key_prefix=other:", "--set",
                                        "demo_step_ms=0", NULL};
    test_statusd *other = ops_start_on_redis(OTHER);
    assert_non_null(other);
    unsigned b = other->proc.port;
    char *bjob = ops_job(b, "kept", false, "completed");
    char *bsess = ops_create_session(b);
    ops_chat(b, "carol");
    char *ajob = ops_job(a, "gone", false, "completed");
    char *asess = ops_create_session(a);

    clear_expect(a, 2);
    assert_int_equal(job_status_code(a, ajob), 404);
    assert_int_equal(session_status_code(a, asess), 404);
    assert_int_equal(job_status_code(b, bjob), 200);
    assert_int_equal(session_status_code(b, bsess), 200);
    assert_int_equal(test_get_status(b, "/chat/history/carol"), 200);
    cJSON *s = ops_stats(b);
    ops_assert_jobs(s, 0, 0, 1, 0, 0);
    assert_int_equal(ops_stat(s, NULL, "sessions"), 1);
    assert_int_equal(ops_stat(s, NULL, "conversations"), 1);
    cJSON_Delete(s);
    s = ops_stats(a);
    ops_assert_jobs(s, 0, 0, 0, 0, 0);
    assert_int_equal(ops_stat(s, NULL, "sessions"), 0);
    cJSON_Delete(s);
    assert_int_equal(test_statusd_stop(other), 0);
    free(bjob);
    free(bsess);
    free(ajob);
    free(asess);
}

#define ON(test, setup, store) TEST_ON_STORE(test, setup, test_fixture_teardown, store)
#define BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, test_fixture_teardown)
#define ONE(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_stats_of_a_fresh_instance_are_zero_with_the_configured_sizes,
             quick_memory, quick_redis),
        BOTH(test_stats_count_completed_and_failed_jobs, quick_memory, quick_redis),
        BOTH(test_stats_count_processing_queued_and_canceled_jobs, slow_memory, slow_redis),
        BOTH(test_stats_count_sessions_and_conversations_until_deleted, quick_memory,
             quick_redis),
        BOTH(test_stats_stop_counting_an_expired_session, short_memory, short_redis),
        ON(test_stats_of_two_instances_on_one_redis_agree, slow_redis, "redis"),
        ONE(test_admin_data_is_forbidden_while_admin_token_is_unset, plain_memory),
        ONE(test_admin_data_needs_the_admin_token, admin_api_memory),
        ONE(test_admin_data_needs_confirm_true, admin_memory),
        BOTH(test_admin_data_deletes_every_record_and_counts_them, admin_memory, admin_redis),
        BOTH(test_admin_data_stops_running_and_queued_jobs, admin_slow_memory,
             admin_slow_redis),
        ON(test_admin_data_leaves_keys_outside_the_prefix, admin_redis, "redis"),
        ON(test_admin_data_leaves_another_prefix_alone, admin_redis, "redis"),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
