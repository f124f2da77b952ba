/*
 * Idempotency-Key on POST /research and POST /uploads over real HTTP, on
 * the memory store and on Redis: a replay returns the same job or run
 * and runs nothing twice, another body with the key is 409, bad keys are
 * 400, keys are per endpoint and expire with the job, a request that
 * fails does not keep its key, racing requests with one key make one
 * job, and on Redis a replay through a second instance. Nothing here
 * depends on timing: every wait polls with a long deadline.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "test_http_uploads_common.h"

#define RACERS 8
#define QUERY "{\"query\":\"lion\"}"
#define RUN "{\"post_id\":\"p\",\"run_id\":\"r\",\"fields\":[{\"field\":\"a\",\"source\":\"x\"}]}"

static const char *const SHORT_AGE[] = {"--set", "job_max_age=2", NULL};
/* One worker and one queue slot, jobs of three 1 s stages: the queue
 * stays full for a while. */
static const char *const NARROW[] = {"--set", "workers=1", "--set", "queue_capacity=1",
                                     "--set", "demo_step_ms=1000", NULL};

static int memory_setup(void **state) { return up_setup(state, false, NULL, NULL); }
static int redis_setup(void **state) { return up_setup(state, true, NULL, NULL); }
static int short_memory_setup(void **state) { return up_setup(state, false, NULL, SHORT_AGE); }
static int short_redis_setup(void **state) { return up_setup(state, true, NULL, SHORT_AGE); }
static int narrow_memory_setup(void **state) { return up_setup(state, false, NULL, NARROW); }

static unsigned port_of(void **state) { return test_fixture_port(state); }

/* ---- helpers ---- */

/* POST path with an Idempotency-Key header (key NULL: none). */
static void post_keyed(unsigned port, const char *path, const char *key, const char *body,
                       http_resp *r)
{
    char headers[600] = "";
    if (key != NULL)
        snprintf(headers, sizeof headers, "Idempotency-Key: %s\r\n", key);
    up_call(port, "POST", path, headers, body, r);
}

/* POST /research with key; asserts the status and returns the job id
 * (the caller frees it). */
static char *research(unsigned port, const char *key, const char *body, int status)
{
    http_resp r;
    post_keyed(port, "/research", key, body, &r);
    if (r.status != status)
        fail_msg("POST /research: expected %d, got %d: %s", status, r.status,
                 r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    const char *id = test_jstr(v, "id");
    assert_true(test_is_uuid_v4(id));
    char location[64];
    test_status_path(location, sizeof location, id);
    assert_string_equal(http_header(&r, "Location"), location);
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    if (status == 200)
        assert_string_equal(http_header(&r, "Idempotent-Replayed"), "true");
    else
        assert_null(http_header(&r, "Idempotent-Replayed"));
    char *copy = strdup(id);
    assert_non_null(copy);
    cJSON_Delete(v);
    http_resp_free(&r);
    return copy;
}

/* Live jobs in the store, all statuses together (GET /stats). */
static int jobs_total(unsigned port)
{
    http_resp r;
    up_call(port, "GET", "/stats", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *stats = test_body_json(&r);
    http_resp_free(&r);
    int total = 0;
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(stats, "jobs")) total += n->valueint;
    cJSON_Delete(stats);
    return total;
}

/* ---- POST /research ---- */

static void test_same_key_and_body_returns_the_same_job_and_runs_it_once(void **state)
{
    unsigned port = port_of(state);
    char *first = research(port, "order-1", QUERY, 202);
    char *again = research(port, "order-1", QUERY, 200);
    assert_string_equal(again, first);
    assert_int_equal(jobs_total(port), 1);
    cJSON *v = test_wait_job_status(port, first, "completed", 0, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);

    /* after the job completed, the key still returns it, as it is now */
    http_resp r;
    post_keyed(port, "/research", "order-1", QUERY, &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Retry-After"));
    v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "id"), first);
    assert_string_equal(test_jstr(v, "status"), "completed");
    cJSON_Delete(v);
    http_resp_free(&r);
    assert_int_equal(jobs_total(port), 1);
    free(again);
    free(first);
}

static void test_same_key_with_another_body_is_409_and_runs_nothing(void **state)
{
    unsigned port = port_of(state);
    char *first = research(port, "order-2", QUERY, 202);
    /* another query, and the same query spelt with other bytes */
    const char *others[] = {"{\"query\":\"tiger\"}", "{\"query\": \"lion\"}",
                            "{\"query\":\"lion\",\"params\":{}}"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        http_resp r;
        post_keyed(port, "/research", "order-2", others[i], &r);
        test_assert_problem(&r, 409, "conflict",
                            "this Idempotency-Key was used with a different body");
        http_resp_free(&r);
    }
    assert_int_equal(jobs_total(port), 1);
    free(first);
}

static void test_different_keys_make_different_jobs(void **state)
{
    unsigned port = port_of(state);
    char *a = research(port, "key-a", QUERY, 202);
    char *b = research(port, "key-b", QUERY, 202);
    char *plain = research(port, NULL, QUERY, 202);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, plain);
    assert_int_equal(jobs_total(port), 3);
    free(a);
    free(b);
    free(plain);
}

static void test_bad_keys_are_400_on_both_endpoints(void **state)
{
    unsigned port = port_of(state);
    char too_long[300], longest[300];
    memset(too_long, 'k', 256);
    too_long[256] = '\0';
    memset(longest, 'k', 255);
    longest[255] = '\0';
    const char *bad[] = {"", "a b", "caf\xc3\xa9", too_long};
    const char *paths[] = {"/research", "/uploads"};
    const char *bodies[] = {QUERY, RUN};
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            http_resp r;
            post_keyed(port, paths[p], bad[i], bodies[p], &r);
            test_assert_problem(&r, 400, "invalid-request",
                                "Idempotency-Key must be 1 to 255 printable ASCII characters "
                                "without spaces");
            http_resp_free(&r);
        }
    }
    assert_int_equal(jobs_total(port), 0);
    /* the longest key, and every kind of printable character */
    free(research(port, longest, QUERY, 202));
    free(research(port, "{x}%/\\\"~", QUERY, 202));
    assert_int_equal(jobs_total(port), 2);
}

static void test_a_refused_request_does_not_claim_its_key(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    post_keyed(port, "/research", "fix-me", "{\"query\":\"\"}", &r);
    test_assert_problem(&r, 400, "invalid-request", "'query' must be 1 to 1000 characters");
    http_resp_free(&r);
    post_keyed(port, "/uploads", "fix-me", "{\"post_id\":\"p\",\"run_id\":\"r\",\"fields\":[]}",
               &r);
    test_assert_problem(&r, 400, "invalid-request", "'fields' must hold 1 to 100 fields");
    http_resp_free(&r);
    /* the corrected requests are new */
    free(research(port, "fix-me", QUERY, 202));
    post_keyed(port, "/uploads", "fix-me", RUN, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
}

/* True once the job is processing. */
static bool is_processing(const cJSON *v, void *arg)
{
    (void)arg;
    const char *s = test_jstr(v, "status");
    return s != NULL && strcmp(s, "processing") == 0;
}

/* A request answered 503 gave its key back: sent again once there is
 * room, it makes its job. */
static void test_a_request_refused_with_queue_full_releases_its_key(void **state)
{
    unsigned port = port_of(state);
    char *running = research(port, NULL, "{\"query\":\"first\"}", 202);
    cJSON *v = NULL;
    assert_true(test_wait_job(port, running, is_processing, NULL, TEST_DEADLINE_MS, &v));
    cJSON_Delete(v);
    char *waiting = research(port, NULL, "{\"query\":\"second\"}", 202);
    http_resp r;
    post_keyed(port, "/research", "full", QUERY, &r);
    test_assert_problem(&r, 503, "queue-full", NULL);
    http_resp_free(&r);
    assert_int_equal(jobs_total(port), 2);

    /* once the first job is done, the queue has room again */
    cJSON_Delete(test_wait_job_status(port, running, "completed", 0, TEST_DEADLINE_MS));
    int status = 0;
    for (int i = 0; i < 1000 && status != 202; i++) {
        post_keyed(port, "/research", "full", QUERY, &r);
        status = r.status;
        if (status != 202 && status != 503)
            fail_msg("expected 202 or 503, got %d: %s", r.status, r.body);
        http_resp_free(&r);
        if (status != 202)
            test_sleep_ms(20);
    }
    assert_int_equal(status, 202);
    free(research(port, "full", QUERY, 200));
    free(waiting);
    free(running);
}

/* job_max_age = 2: the key lives no longer than the job it names. */
static void test_key_expires_with_its_job(void **state)
{
    unsigned port = port_of(state);
    char *first = research(port, "short-lived", QUERY, 202);
    cJSON_Delete(test_wait_job_status(port, first, "completed", 0, TEST_DEADLINE_MS));
    char status[32] = "completed";
    for (int i = 0; i < 1000 && status[0] != '\0'; i++) {
        test_job_status(port, first, status, sizeof status);
        if (status[0] != '\0')
            test_sleep_ms(20);
    }
    assert_string_equal(status, "");
    char *second = research(port, "short-lived", QUERY, 202);
    assert_string_not_equal(second, first);
    free(research(port, "short-lived", QUERY, 200));
    free(second);
    free(first);
}

/* ---- racing requests ---- */

typedef struct racer {
    unsigned port;
    pthread_barrier_t *start;
    int status;
    char id[64];
    char detail[256];
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    http_resp resp;
    if (http_do(r->port, "POST", "/research", "Idempotency-Key: racing\r\n", QUERY, &resp) !=
        0) {
        r->status = -1;
        return NULL;
    }
    r->status = resp.status;
    cJSON *v = cJSON_ParseWithLength(resp.body, resp.body_len);
    snprintf(r->id, sizeof r->id, "%s", test_jstr(v, "id") != NULL ? test_jstr(v, "id") : "");
    snprintf(r->detail, sizeof r->detail, "%s",
             test_jstr(v, "detail") != NULL ? test_jstr(v, "detail") : "");
    cJSON_Delete(v);
    http_resp_free(&resp);
    return NULL;
}

/* Of requests racing with one key, one makes the job; the others get
 * it (200) or, while it is being made, a 409 to retry. */
static void test_racing_requests_with_one_key_make_one_job(void **state)
{
    unsigned port = port_of(state);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    racer r[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].port = port;
        r[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    int created = -1;
    for (int i = 0; i < RACERS; i++) {
        if (r[i].status == 202) {
            assert_int_equal(created, -1);
            created = i;
        }
    }
    assert_true(created >= 0);
    for (int i = 0; i < RACERS; i++) {
        if (r[i].status == 200)
            assert_string_equal(r[i].id, r[created].id);
        else if (r[i].status == 409)
            assert_non_null(strstr(r[i].detail, "still being processed"));
        else if (i != created)
            fail_msg("racer %d answered %d", i, r[i].status);
    }
    assert_int_equal(jobs_total(port), 1);
    free(research(port, "racing", QUERY, 200));
}

/* ---- POST /uploads ---- */

static void test_uploads_same_key_and_body_returns_the_run_without_a_second(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    post_keyed(port, "/uploads", "post-p-run-r", RUN, &r);
    assert_int_equal(r.status, 202);
    assert_null(http_header(&r, "Idempotent-Replayed"));
    http_resp_free(&r);
    cJSON_Delete(up_wait(port, "p", "r", "completed"));

    post_keyed(port, "/uploads", "post-p-run-r", RUN, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Idempotent-Replayed"), "true");
    assert_string_equal(http_header(&r, "Location"), "/upload-status?post_id=p&run_id=r");
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    cJSON *v = test_body_json(&r);
    up_assert_view(v, "p", "r", "completed", 1, 0, 0);
    assert_int_equal(test_jint(up_field(v, "uploaded_fields", "a"), "attempts"), 1);
    cJSON_Delete(v);
    http_resp_free(&r);
    assert_int_equal(jobs_total(port), 1);

    /* the key with another body */
    post_keyed(port, "/uploads", "post-p-run-r",
               "{\"post_id\":\"p\",\"run_id\":\"r2\",\"fields\":[{\"field\":\"a\",\"source\":\"x\"}]}",
               &r);
    test_assert_problem(&r, 409, "conflict", "different body");
    http_resp_free(&r);
    /* the run again without the key, or with another key: it exists */
    post_keyed(port, "/uploads", NULL, RUN, &r);
    test_assert_problem(&r, 409, "already-exists", "a run is created once");
    http_resp_free(&r);
    post_keyed(port, "/uploads", "another", RUN, &r);
    test_assert_problem(&r, 409, "already-exists", NULL);
    http_resp_free(&r);
    assert_int_equal(jobs_total(port), 1);
    /* "another" was given back when its run was refused */
    post_keyed(port, "/uploads", "another",
               "{\"post_id\":\"p\",\"run_id\":\"r3\",\"fields\":[{\"field\":\"a\",\"source\":\"x\"}]}",
               &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
}

static void test_keys_are_per_endpoint(void **state)
{
    unsigned port = port_of(state);
    free(research(port, "shared-key", QUERY, 202));
    http_resp r;
    post_keyed(port, "/uploads", "shared-key", RUN, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    assert_int_equal(jobs_total(port), 2);
}

/* ---- two instances ---- */

static void test_replays_through_a_second_instance_on_one_redis(void **state)
{
    up_fixture *f = *state;
    test_statusd *peer = up_start_peer(f, NULL);
    assert_non_null(peer);
    unsigned other = peer->proc.port;
    char *first = research(f->fx.port, "across", QUERY, 202);
    char *again = research(other, "across", QUERY, 200);
    assert_string_equal(again, first);
    http_resp r;
    post_keyed(other, "/research", "across", "{\"query\":\"tiger\"}", &r);
    test_assert_problem(&r, 409, "conflict", "different body");
    http_resp_free(&r);

    post_keyed(other, "/uploads", "across", RUN, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    post_keyed(f->fx.port, "/uploads", "across", RUN, &r);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    int uploaded = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields"));
    int pending = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "pending_fields"));
    assert_int_equal(uploaded + pending, 1);
    up_assert_view(v, "p", "r", NULL, uploaded, pending, 0);
    cJSON_Delete(v);
    http_resp_free(&r);
    assert_int_equal(jobs_total(other), 2);
    free(again);
    free(first);
    assert_int_equal(test_statusd_stop(peer), 0);
}

/* ---- the group ---- */

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, up_teardown)
#define ON_BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, up_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_same_key_and_body_returns_the_same_job_and_runs_it_once, memory_setup,
                redis_setup),
        ON_BOTH(test_same_key_with_another_body_is_409_and_runs_nothing, memory_setup,
                redis_setup),
        ON_BOTH(test_different_keys_make_different_jobs, memory_setup, redis_setup),
        ON_BOTH(test_bad_keys_are_400_on_both_endpoints, memory_setup, redis_setup),
        ON_BOTH(test_a_refused_request_does_not_claim_its_key, memory_setup, redis_setup),
        ON(test_a_request_refused_with_queue_full_releases_its_key, narrow_memory_setup),
        ON_BOTH(test_key_expires_with_its_job, short_memory_setup, short_redis_setup),
        ON_BOTH(test_racing_requests_with_one_key_make_one_job, memory_setup, redis_setup),
        ON_BOTH(test_uploads_same_key_and_body_returns_the_run_without_a_second,
                memory_setup, redis_setup),
        ON_BOTH(test_keys_are_per_endpoint, memory_setup, redis_setup),
        ON(test_replays_through_a_second_instance_on_one_redis, redis_setup),
    };
    return cmocka_run_group_tests_name("http_idempotency", tests, up_group_setup,
                                       up_group_teardown);
}
