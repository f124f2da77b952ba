/*
 * statusd while its Redis fails: killed mid-traffic (every request
 * answers within redis_timeout_ms + 1 s, outage answers are 503
 * store-unavailable with Retry-After, and after a restart with an
 * append-only file statusd serves again within 3 s with every job it
 * accepted), down (readiness, submissions, reads and cancels refused the
 * same way while liveness stays up), restarted (the first requests after
 * it do not fail on the connections it closed), and stopped and continued twice in
 * a row (a reconnect that lost the command timeout would hang the second
 * time).
 *
 * Each test runs its own redis-server and statusd, both stopped by pid in
 * teardown. The upper bounds on a request's time are the feature under
 * test (the command timeout); every other wait polls with a long deadline.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_fixture.h"
#include "statusd/util.h"

#define REDIS_TIMEOUT_MS 500
#define LATENCY_BOUND_MS (REDIS_TIMEOUT_MS + 1000)
#define RECOVERY_MS 3000
#define TRAFFIC_THREADS 2
#define TRAFFIC_IDS 4096
#define TRAFFIC_PAUSE_MS 10
#define ACCEPTED_BEFORE_KILL 5
#define UNAVAILABLE_DURING_OUTAGE 20
#define MAIN_JOBS 10
#define OUTAGE_MS 2500          /* past the store's longest connect backoff (2 s) */

typedef redis_fixture fixture;

/* ---- fixtures ---- */

/* A private Redis (with an append-only file when aof) and one statusd on
 * it with redis_timeout_ms=500 and extra (a "--set" value, may be NULL). */
static int fault_setup(void **state, bool aof, const char *extra)
{
    const char *const sets[] = {"redis_timeout_ms=500", extra, NULL};
    return redis_fixture_setup(state, aof, sets);
}

static int aof_setup(void **state) { return fault_setup(state, true, NULL); }
static int plain_setup(void **state) { return fault_setup(state, false, NULL); }

/* One HTTP thread: every request goes through the same Redis connection,
 * so the second stop meets the connection opened after the first. */
static int one_thread_setup(void **state) { return fault_setup(state, false, "threads=1"); }

/* ---- helpers ---- */

typedef struct timed {
    http_resp r;
    int rc;                 /* http_do's */
    int64_t ms;             /* how long the request took */
} timed;

static void timed_do(unsigned port, const char *method, const char *path,
                     const char *body, timed *t)
{
    int64_t t0 = sd_mono_ms();
    t->rc = http_do(port, method, path, NULL, body, &t->r);
    t->ms = sd_mono_ms() - t0;
}

/* Asserts a 503 store-unavailable answer with Retry-After: 1 within the
 * latency bound; frees the answer. */
static void assert_unavailable(timed *t, const char *what)
{
    if (t->rc != 0)
        fail_msg("%s: no answer (after %lld ms)", what, (long long)t->ms);
    if (t->ms > LATENCY_BOUND_MS)
        fail_msg("%s: answered after %lld ms, over %d", what, (long long)t->ms,
                 LATENCY_BOUND_MS);
    test_assert_problem(&t->r, 503, "store-unavailable", NULL);
    assert_string_equal(http_header(&t->r, "Retry-After"), "1");
    http_resp_free(&t->r);
}

static bool ready_ok(void *arg)
{
    unsigned port = *(unsigned *)arg;
    http_resp r;
    bool ok = http_do(port, "GET", "/ready", NULL, NULL, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}

/* Reads the job until it is completed (long deadline): a job accepted
 * with 202 is neither lost nor left queued or processing by the outage,
 * whose workers keep their jobs until the store answers again. */
static void assert_job_there(unsigned port, const char *id)
{
    cJSON *v = test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS);
    assert_string_equal(test_jstr(v, "id"), id);
    cJSON_Delete(v);
}

/* ---- traffic while Redis dies ---- */

typedef struct traffic {
    unsigned port;
    atomic_bool *stop;
    atomic_int accepted;            /* 202 answers; ids[0..accepted) */
    atomic_int unavailable;         /* 503 store-unavailable answers */
    int requests;
    int64_t max_ms;                 /* the slowest answer */
    int bad;                        /* no answer, or not 200/202/503 as expected */
    char first_bad[256];
    char (*ids)[SD_UUID_LEN + 1];
} traffic;

static void traffic_bad(traffic *t, const char *method, const char *path, const timed *a)
{
    if (t->bad++ == 0)
        snprintf(t->first_bad, sizeof t->first_bad, "%s %s: rc %d, status %d, %.160s",
                 method, path, a->rc, a->r.status, a->r.body != NULL ? a->r.body : "");
}

/* Whether a is the 503 the store's outage is answered with. */
static bool is_store_unavailable(const timed *a)
{
    if (a->rc != 0 || a->r.status != 503 || http_header(&a->r, "Retry-After") == NULL)
        return false;
    cJSON *v = cJSON_ParseWithLength(a->r.body, a->r.body_len);
    const char *type = test_jstr(v, "type");
    bool ok = type != NULL && strcmp(type, "/problems/store-unavailable") == 0;
    cJSON_Delete(v);
    return ok;
}

/* Alternates POST /research and GET of its last accepted job (GET /ready
 * before it has one) until told to stop, timing every request. Runs in
 * its own thread, so it counts instead of asserting. */
static void *traffic_main(void *arg)
{
    traffic *t = arg;
    while (!atomic_load(t->stop)) {
        int n = atomic_load(&t->accepted);
        bool post = t->requests % 2 == 0 && n < TRAFFIC_IDS;
        char path[64] = "/ready";
        if (post)
            snprintf(path, sizeof path, "/research");
        else if (n > 0)
            snprintf(path, sizeof path, "/status/%s", t->ids[n - 1]);
        const char *method = post ? "POST" : "GET";
        timed a;
        timed_do(t->port, method, path, post ? "{\"query\":\"traffic\"}" : NULL, &a);
        t->requests++;
        if (a.ms > t->max_ms)
            t->max_ms = a.ms;
        if (is_store_unavailable(&a)) {
            atomic_fetch_add(&t->unavailable, 1);
        } else if (a.rc == 0 && post && a.r.status == 202) {
            cJSON *v = cJSON_ParseWithLength(a.r.body, a.r.body_len);
            const char *id = test_jstr(v, "id");
            if (id != NULL && strlen(id) == SD_UUID_LEN) {
                memcpy(t->ids[n], id, SD_UUID_LEN + 1);
                atomic_store(&t->accepted, n + 1);
            } else {
                traffic_bad(t, method, path, &a);
            }
            cJSON_Delete(v);
        } else if (a.rc != 0 || post || a.r.status != 200) {
            traffic_bad(t, method, path, &a);
        }
        http_resp_free(&a.r);
        test_sleep_ms(TRAFFIC_PAUSE_MS);
    }
    return NULL;
}

typedef struct counts {
    traffic *t;
    int accepted, unavailable;      /* wanted of every thread */
} counts;

static bool traffic_reached(void *arg)
{
    counts *c = arg;
    for (int i = 0; i < TRAFFIC_THREADS; i++)
        if (atomic_load(&c->t[i].accepted) < c->accepted ||
            atomic_load(&c->t[i].unavailable) < c->unavailable)
            return false;
    return true;
}

/* One pass over what must work again: /ready and every job in ids. */
static bool serves_again(unsigned port, char *const *ids, int n)
{
    if (!ready_ok(&port))
        return false;
    for (int i = 0; i < n; i++) {
        char path[64];
        test_status_path(path, sizeof path, ids[i]);
        http_resp r;
        bool ok = http_do(port, "GET", path, NULL, NULL, &r) == 0 && r.status == 200;
        http_resp_free(&r);
        if (!ok)
            return false;
    }
    return true;
}

/* POSTs a job without asserting (for use while threads run); its id
 * (the caller frees it), or NULL when it was not accepted. */
static char *submit_quiet(unsigned port)
{
    http_resp r;
    char *id = NULL;
    if (http_do(port, "POST", "/research", NULL, "{\"query\":\"main\"}", &r) == 0 &&
        r.status == 202) {
        cJSON *v = cJSON_ParseWithLength(r.body, r.body_len);
        if (test_jstr(v, "id") != NULL)
            id = strdup(test_jstr(v, "id"));
        cJSON_Delete(v);
    }
    http_resp_free(&r);
    return id;
}

/* CONFIG SET name value on a plain connection to the server. */
static void redis_config_set(const test_redis *r, const char *name, const char *value)
{
    redisContext *c = test_redis_connect(r);
    assert_non_null(c);
    const char *argv[] = {"CONFIG", "SET", name, value};
    size_t lens[] = {6, 3, strlen(name), strlen(value)};
    redisReply *rep = redisCommandArgv(c, 4, argv, lens);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    redisFree(c);
}

static traffic traffickers[TRAFFIC_THREADS];
static atomic_bool traffic_stop;

/*
 * Runs while traffic threads use statusd, so it asserts nothing until
 * they are joined: the steps write what went wrong to failed, and later
 * steps are skipped.
 */
static void test_killed_redis_answers_503_in_bounded_time_and_keeps_every_accepted_job(
    void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    /* With everysec, Redis may hold an AOF write back while an fsync runs
     * and answer meanwhile; always takes that window of Redis's own out
     * of a test of what statusd acknowledges. */
    redis_config_set(&f->redis, "appendfsync", "always");

    traffic *t = traffickers;
    atomic_init(&traffic_stop, false);
    pthread_t threads[TRAFFIC_THREADS];
    for (int i = 0; i < TRAFFIC_THREADS; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].port = port;
        t[i].stop = &traffic_stop;
        atomic_init(&t[i].accepted, 0);
        atomic_init(&t[i].unavailable, 0);
        t[i].ids = calloc(TRAFFIC_IDS, sizeof *t[i].ids);
        assert_non_null(t[i].ids);
    }
    for (int i = 0; i < TRAFFIC_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, traffic_main, &t[i]), 0);

    const char *failed = NULL;
    char *ids[MAIN_JOBS] = {NULL};
    for (int i = 0; i < MAIN_JOBS && failed == NULL; i++)
        if ((ids[i] = submit_quiet(port)) == NULL)
            failed = "a job posted before the kill was not accepted";
    counts before = {t, ACCEPTED_BEFORE_KILL, 0};
    if (failed == NULL && !test_wait_until(traffic_reached, &before, TEST_DEADLINE_MS))
        failed = "the traffic got no jobs accepted before the kill";
    int64_t killed = sd_mono_ms();
    if (failed == NULL && test_redis_kill(&f->redis, SIGKILL) != 0)
        failed = "cannot kill redis-server";
    counts outage = {t, 0, UNAVAILABLE_DURING_OUTAGE};
    if (failed == NULL && !test_wait_until(traffic_reached, &outage, TEST_DEADLINE_MS))
        failed = "the traffic got no 503 store-unavailable answers while Redis was down";
    /* Long enough for every connection's backoff to reach its cap, the
     * slowest case for the recovery below. */
    if (failed == NULL && sd_mono_ms() - killed < OUTAGE_MS)
        test_sleep_ms(OUTAGE_MS - (sd_mono_ms() - killed));
    timed ready = {.rc = -1}, post = {.rc = -1};
    if (failed == NULL) {
        timed_do(port, "GET", "/ready", NULL, &ready);
        timed_do(port, "POST", "/research", "{\"query\":\"while down\"}", &post);
    }
    if (failed == NULL && test_redis_restart(&f->redis) != 0)
        failed = "cannot restart redis-server";
    bool served = false;
    int64_t up = sd_mono_ms();
    while (failed == NULL && !served && sd_mono_ms() - up <= RECOVERY_MS)
        if (!(served = serves_again(port, ids, MAIN_JOBS)))
            test_sleep_ms(20);

    atomic_store(&traffic_stop, true);
    for (int i = 0; i < TRAFFIC_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    if (failed != NULL)
        fail_msg("%s", failed);
    assert_unavailable(&ready, "GET /ready while Redis is down");
    assert_unavailable(&post, "POST /research while Redis is down");
    if (!served)
        fail_msg("statusd did not serve again within %d ms of Redis answering", RECOVERY_MS);
    for (int i = 0; i < TRAFFIC_THREADS; i++) {
        if (t[i].bad != 0)
            fail_msg("%d unexpected answers, the first: %s", t[i].bad, t[i].first_bad);
        if (t[i].max_ms > LATENCY_BOUND_MS)
            fail_msg("a request took %lld ms, over %d", (long long)t[i].max_ms,
                     LATENCY_BOUND_MS);
    }
    for (int i = 0; i < TRAFFIC_THREADS; i++) {
        for (int k = 0; k < atomic_load(&t[i].accepted); k++)
            assert_job_there(port, t[i].ids[k]);
        free(t[i].ids);
    }
    for (int i = 0; i < MAIN_JOBS; i++) {
        assert_job_there(port, ids[i]);
        free(ids[i]);
    }
}

/* ---- Redis down ---- */

static void test_redis_down_refuses_ready_posts_reads_and_cancels_with_503(void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char path[64];
    char *id = test_completed_job(port, "{\"query\":\"before\"}", path, sizeof path);

    assert_int_equal(test_redis_kill(&f->redis, SIGKILL), 0);
    timed a;
    for (int round = 0; round < 2; round++) {
        timed_do(port, "GET", "/ready", NULL, &a);
        assert_string_equal(http_header(&a.r, "Cache-Control"), "no-store");
        assert_unavailable(&a, "GET /ready");
        timed_do(port, "POST", "/research", "{\"query\":\"down\"}", &a);
        assert_unavailable(&a, "POST /research");
        timed_do(port, "GET", path, NULL, &a);
        assert_unavailable(&a, "GET /status");
        timed_do(port, "DELETE", path, NULL, &a);
        assert_unavailable(&a, "DELETE /status");
        timed_do(port, "GET", "/health/store", NULL, &a);
        assert_unavailable(&a, "GET /health/store");
    }
    /* Liveness does not depend on the store. */
    timed_do(port, "GET", "/health", NULL, &a);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.r.status, 200);
    cJSON *v = test_body_json(&a.r);
    assert_string_equal(test_jstr(v, "store"), "redis");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "fallback")));
    cJSON_Delete(v);
    http_resp_free(&a.r);

    /* Back (empty: this server keeps nothing on disk): ready, and jobs
     * are taken and run again. */
    assert_int_equal(test_redis_restart(&f->redis), 0);
    assert_true(test_wait_until(ready_ok, &port, TEST_DEADLINE_MS));
    char *again = test_submit_job(port, "{\"query\":\"after\"}");
    cJSON_Delete(test_wait_job_status(port, again, "completed", 100, TEST_DEADLINE_MS));
    free(again);
    free(id);
}

/* ---- Redis restarted ---- */

#define RESTART_CLIENTS 8
#define RESTART_WARM_REQUESTS 10
#define RESTART_AFTER_REQUESTS 5

typedef struct reads {
    unsigned port;
    int requests;
    int not_found;            /* answers 404: the store was read */
    int other;                /* anything else */
    int last_status;
} reads;

/* GET /status of an unknown job, requests times: each is one store read. */
static void *unknown_reads(void *arg)
{
    reads *r = arg;
    char path[64];
    snprintf(path, sizeof path, "/status/%s", "00000000-0000-4000-8000-000000000000");
    for (int i = 0; i < r->requests; i++) {
        http_resp a;
        if (http_do(r->port, "GET", path, NULL, NULL, &a) == 0 && a.status == 404) {
            r->not_found++;
        } else {
            r->other++;
            r->last_status = a.status;
        }
        http_resp_free(&a);
    }
    return NULL;
}

/* RESTART_CLIENTS threads of n reads at once; how many were not 404 (the
 * last such status in *status). */
static int concurrent_reads(unsigned port, int n, int *status)
{
    pthread_t th[RESTART_CLIENTS];
    reads r[RESTART_CLIENTS];
    for (int i = 0; i < RESTART_CLIENTS; i++) {
        r[i] = (reads){.port = port, .requests = n};
        assert_int_equal(pthread_create(&th[i], NULL, unknown_reads, &r[i]), 0);
    }
    int other = 0;
    for (int i = 0; i < RESTART_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        other += r[i].other;
        if (r[i].other > 0)
            *status = r[i].last_status;
    }
    return other;
}

/* Every HTTP thread has used its connection; the server restarts (and
 * closes them all); the first requests that come once it answers again
 * must not fail on the closed connections. */
static void test_requests_right_after_a_redis_restart_all_succeed(void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    int status = 0;
    assert_int_equal(concurrent_reads(port, RESTART_WARM_REQUESTS, &status), 0);

    assert_int_equal(test_redis_restart(&f->redis), 0);
    int failed = concurrent_reads(port, RESTART_AFTER_REQUESTS, &status);
    if (failed != 0)
        fail_msg("%d of %d reads right after the restart failed (last: %d)", failed,
                 RESTART_CLIENTS * RESTART_AFTER_REQUESTS, status);
}

/* ---- Redis stopped and continued ---- */

typedef struct job_at {
    unsigned port;
    const char *id;
} job_at;

static bool job_completed(void *arg)
{
    const job_at *j = arg;
    char status[32];
    test_job_status(j->port, j->id, status, sizeof status);
    return strcmp(status, "completed") == 0;
}

static void test_redis_stopped_twice_gives_bounded_503s_then_200s(void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char path[64];
    char *id = test_completed_job(port, "{\"query\":\"stop\"}", path, sizeof path);
    job_at readable = {port, id};

    for (int round = 0; round < 2; round++) {
        assert_int_equal(test_redis_kill(&f->redis, SIGSTOP), 0);
        timed a;
        timed_do(port, "GET", path, NULL, &a);
        assert_unavailable(&a, "GET /status on a stopped Redis");
        timed_do(port, "POST", "/research", "{\"query\":\"stopped\"}", &a);
        assert_unavailable(&a, "POST /research on a stopped Redis");
        timed_do(port, "GET", "/ready", NULL, &a);
        assert_unavailable(&a, "GET /ready on a stopped Redis");
        assert_int_equal(test_redis_kill(&f->redis, SIGCONT), 0);

        assert_true(test_wait_until(job_completed, &readable, TEST_DEADLINE_MS));
        for (int i = 0; i < 3; i++) {
            cJSON *v = test_get_job(port, id, NULL);
            assert_string_equal(test_jstr(v, "status"), "completed");
            cJSON_Delete(v);
            assert_true(ready_ok(&port));
        }
        char *next = test_submit_job(port, "{\"query\":\"continued\"}");
        cJSON_Delete(test_wait_job_status(port, next, "completed", 100, TEST_DEADLINE_MS));
        free(next);
    }
    free(id);
}

int main(void)
{
    /* A write to a connection a stopped server reset must fail, not end
     * the test. */
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_killed_redis_answers_503_in_bounded_time_and_keeps_every_accepted_job,
            aof_setup, redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_down_refuses_ready_posts_reads_and_cancels_with_503, plain_setup,
            redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_requests_right_after_a_redis_restart_all_succeed,
                                        plain_setup, redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_redis_stopped_twice_gives_bounded_503s_then_200s,
                                        one_thread_setup, redis_fixture_teardown),
    };
    return cmocka_run_group_tests_name("redis_faults", tests, NULL, NULL);
}
