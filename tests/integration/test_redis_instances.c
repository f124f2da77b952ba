/*
 * Several statusd processes on one Redis: a job posted on one instance is
 * read and canceled on another, a cancel stops the handler on the
 * instance running it, TTL renewal by a poll on either instance, jobs
 * that outlive a restart of statusd, the job of a killed instance run
 * again on another, or, on its last attempt, failed (worker_lost),
 * GET /health/store on both stores, and many clients posting and
 * canceling through two instances at once. More on the shared queue
 * (API-only instances, drains, retries, a thousand jobs and a kill) is
 * in test_queue_instances.c.
 *
 * One redis-server (no persistence) serves the whole group; every test
 * starts its own instances on it with the default key prefix, and job ids
 * are unique, so tests do not see each other's jobs. Nothing here depends
 * on timing: every wait polls with a long deadline.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define MAX_EXTRA_ARGS 16
#define JOB_TTL_S 60
#define SHORT_PTTL_MS "5000"
#define LEASE_WAIT_MS 15000

/* Reports progress, writes its pid to $1/pid, then waits for $1/go (or
 * for the directory to go away, or 60 s) and completes. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo $$ > \"$1/pid.tmp\" && mv \"$1/pid.tmp\" \"$1/pid\"\n"
    "echo '{\"progress\":10,\"stage\":\"waiting\"}'\n"
    "i=0\n"
    "while [ -d \"$1\" ] && [ ! -e \"$1/go\" ] && [ $i -lt 600 ]; do\n"
    "  sleep 0.1; i=$((i+1))\n"
    "done\n"
    "echo '{\"result\":{\"done\":true}}'\n";

typedef struct pair {
    test_statusd *a;   /* the instance that runs the jobs */
    test_statusd *b;   /* the other instance (API-only where a must run them) */
} pair;

/* ---- helpers ---- */

/* Starts statusd with store = redis on the group's server, with the
 * research handler script when not NULL (see test_statusd_start_exec),
 * else the demo handler; extra: NULL-terminated, may be NULL. */
static test_statusd *start_on_redis(const char *script, const char *const *extra)
{
    const char *args[MAX_EXTRA_ARGS + 5] = {"--store", "redis", "--set",
                                            test_redis_group_url_set()};
    size_t n = 4;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (i >= MAX_EXTRA_ARGS)
            return NULL;
        args[n++] = extra[i];
    }
    args[n] = NULL;
    return script != NULL ? test_statusd_start_exec(script, args)
                          : test_statusd_start(NULL, args);
}

static int pair_setup(void **state, const char *script, const char *const *a_args,
                      const char *const *b_args, bool b_on_memory)
{
    pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->a = start_on_redis(script, a_args);
    p->b = b_on_memory ? test_statusd_start(NULL, b_args) : start_on_redis(NULL, b_args);
    *state = p;
    if (p->a == NULL || p->b == NULL) {
        test_statusd_stop(p->a);
        test_statusd_stop(p->b);
        free(p);
        *state = NULL;
        return -1;
    }
    return 0;
}

/* Stops both instances; -1 when either did not exit cleanly. */
static int pair_teardown(void **state)
{
    pair *p = *state;
    int rc = 0;
    if (test_statusd_stop(p->b) != 0)
        rc = -1;
    if (test_statusd_stop(p->a) != 0)
        rc = -1;
    free(p);
    *state = NULL;
    return rc;
}

static const char *const DEMO_FAST[] = {
    "--set", "demo_step_ms=0", "--set", "job_ttl=60", NULL};

/* Jobs from either instance's API run on a: b has no workers. */
static const char *const API_ONLY[] = {"--set", "workers=0", NULL};

static int gated_pair_setup(void **state)
{
    return pair_setup(state, GATED_SCRIPT, NULL, API_ONLY, false);
}

static int demo_pair_setup(void **state)
{
    return pair_setup(state, NULL, DEMO_FAST, DEMO_FAST, false);
}

static int redis_and_memory_setup(void **state)
{
    return pair_setup(state, NULL, NULL, NULL, true);
}

/* A runs a job that never reports again, with job_lease=2; b reaps. With
 * one attempt per job, a lost run fails the job. */
static int lease_pair_setup(void **state)
{
    static const char *const a_args[] = {"--set", "job_lease=2", "--set", "max_attempts=1",
                                         NULL};
    static const char *const b_args[] = {"--set", "job_lease=2", "--set", "max_attempts=1",
                                         "--set", "workers=0", NULL};
    return pair_setup(state, GATED_SCRIPT, a_args, b_args, false);
}

/* As above, with attempts left, and b runs the second with the demo. */
static int rerun_pair_setup(void **state)
{
    static const char *const a_args[] = {"--set", "job_lease=2", NULL};
    static const char *const b_args[] = {"--set", "job_lease=2", "--set", "demo_step_ms=0",
                                         NULL};
    return pair_setup(state, GATED_SCRIPT, a_args, b_args, false);
}

static bool file_exists(void *arg) { return access(arg, F_OK) == 0; }

/* The pid the gated script wrote to dir/pid; waits for the file. */
static pid_t script_pid(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/pid", dir);
    assert_true(test_wait_until(file_exists, path, TEST_DEADLINE_MS));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[32] = "";
    char *got = fgets(text, sizeof text, f);
    fclose(f);
    assert_non_null(got);
    text[strcspn(text, "\n")] = '\0';
    int64_t pid = 0;
    assert_int_equal(sd_parse_i64(text, 2, INT32_MAX, &pid), SD_OK);
    return (pid_t)pid;
}

/* True when the process has exited (gone, or a zombie not yet reaped). */
static bool process_gone(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *end = strrchr(text, ')');
    return end != NULL && end[1] == ' ' && end[2] == 'Z';
}

/* The record key of a job on the server, as the issue names it. */
static void job_key(char *out, size_t len, const char *id)
{
    int n = snprintf(out, len, "statusd:{job:%s}", id);
    assert_true(n > 0 && (size_t)n < len);
}

static long long raw_pttl(redisContext *c, const char *key)
{
    const char *argv[] = {"PTTL", key};
    size_t lens[] = {4, strlen(key)};
    redisReply *r = redisCommandArgv(c, 2, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void raw_pexpire(redisContext *c, const char *key, const char *ms)
{
    const char *argv[] = {"PEXPIRE", key, ms};
    size_t lens[] = {7, strlen(key), strlen(ms)};
    redisReply *r = redisCommandArgv(c, 3, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

/* Reads the job on port and returns its ETag (the caller frees it). */
static char *job_etag(unsigned port, const char *id, const char *want_status)
{
    http_resp r;
    cJSON *v = test_get_job(port, id, &r);
    assert_string_equal(test_jstr(v, "status"), want_status);
    const char *etag = http_header(&r, "ETag");
    assert_true(test_is_weak_etag(etag));
    char *copy = strdup(etag);
    assert_non_null(copy);
    cJSON_Delete(v);
    http_resp_free(&r);
    return copy;
}

/* ---- one job, two instances ---- */

static void test_job_posted_on_one_instance_is_read_and_canceled_on_the_other(void **state)
{
    pair *p = *state;
    unsigned a = p->a->proc.port, b = p->b->proc.port;
    char *id = test_submit_job(a, "{\"query\":\"shared\"}");
    cJSON *v = test_wait_job_status(b, id, "processing", 10, TEST_DEADLINE_MS);
    assert_string_equal(test_jstr(v, "stage"), "waiting");
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    pid_t pid = script_pid(p->a->dir);

    http_resp r;
    test_delete_job(b, id, &r);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "id"), id);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_null(http_header(&r, "Retry-After"));
    cJSON_Delete(v);
    http_resp_free(&r);
    /* At once, on the instance running it too. */
    v = test_get_job(a, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    cJSON_Delete(v);

    /* A learns of the cancel through Redis and stops the handler. */
    assert_true(test_wait_until(process_gone, &pid, TEST_DEADLINE_MS));
    for (int i = 0; i < 2; i++) {
        v = test_get_job(i == 0 ? a : b, id, NULL);
        assert_string_equal(test_jstr(v, "status"), "canceled");
        assert_true(test_jnull(v, "error"));
        assert_true(test_jnull(v, "result"));
        cJSON_Delete(v);
    }
    free(id);
}

static void test_job_completed_on_one_instance_is_409_to_delete_on_the_other(void **state)
{
    pair *p = *state;
    unsigned a = p->a->proc.port, b = p->b->proc.port;
    char *id = test_submit_job(a, "{\"query\":\"done soon\"}");
    cJSON *v = test_wait_job_status(b, id, "completed", 100, TEST_DEADLINE_MS);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(v, "result"));
    assert_false(test_jnull(v, "result"));
    cJSON_Delete(v);

    http_resp r;
    test_delete_job(b, id, &r);
    test_assert_problem(&r, 409, "conflict", "already completed");
    http_resp_free(&r);
    v = test_get_job(a, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "completed");
    cJSON_Delete(v);
    free(id);
}

static void test_poll_on_either_instance_renews_the_record_ttl(void **state)
{
    pair *p = *state;
    unsigned ports[2] = {p->a->proc.port, p->b->proc.port};
    char *id = test_submit_job(ports[0], "{\"query\":\"ttl\"}");
    cJSON_Delete(test_wait_job_status(ports[1], id, "completed", 100, TEST_DEADLINE_MS));
    char key[96];
    job_key(key, sizeof key, id);
    redisContext *raw = test_redis_connect(test_redis_group());
    assert_non_null(raw);
    assert_in_range(raw_pttl(raw, key), 1, JOB_TTL_S * 1000);

    for (int i = 0; i < 4; i++) {
        /* As if the record had aged: then a poll on either instance. */
        raw_pexpire(raw, key, SHORT_PTTL_MS);
        assert_in_range(raw_pttl(raw, key), 1, 5000);
        cJSON *v = test_get_job(ports[i % 2], id, NULL);
        assert_string_equal(test_jstr(v, "status"), "completed");
        cJSON_Delete(v);
        assert_in_range(raw_pttl(raw, key), JOB_TTL_S * 1000 - 10000, JOB_TTL_S * 1000);
    }
    redisFree(raw);
    free(id);
}

static void test_jobs_outlive_a_restart_of_statusd(void **state)
{
    pair *p = *state;
    enum { JOBS = 3 };
    char *ids[JOBS], *etags[JOBS];
    for (int i = 0; i < JOBS; i++) {
        ids[i] = test_submit_job(p->a->proc.port, "{\"query\":\"kept\"}");
        cJSON_Delete(test_wait_job_status(p->a->proc.port, ids[i], "completed", 100,
                                          TEST_DEADLINE_MS));
        etags[i] = job_etag(p->a->proc.port, ids[i], "completed");
    }
    assert_int_equal(test_statusd_stop(p->a), 0);
    p->a = NULL;
    assert_int_equal(test_statusd_stop(p->b), 0);
    p->b = NULL;
    /* No statusd runs now; a new one finds every job as it was. */
    p->a = start_on_redis(NULL, DEMO_FAST);
    assert_non_null(p->a);
    for (int i = 0; i < JOBS; i++) {
        char *etag = job_etag(p->a->proc.port, ids[i], "completed");
        assert_string_equal(etag, etags[i]);
        free(etag);
        free(etags[i]);
        free(ids[i]);
    }
}

/* b starts only once a has its job, so that a runs it first. */
static void test_job_of_a_killed_instance_runs_again_on_another(void **state)
{
    pair *p = *state;
    test_statusd_stop(p->b);
    p->b = NULL;
    unsigned a = p->a->proc.port;
    char *id = test_submit_job(a, "{\"query\":\"survives\"}");
    cJSON_Delete(test_wait_job_status(a, id, "processing", 10, TEST_DEADLINE_MS));
    (void)script_pid(p->a->dir);
    static const char *const b_args[] = {"--set", "job_lease=2", "--set", "demo_step_ms=0",
                                         NULL};
    p->b = start_on_redis(NULL, b_args);
    assert_non_null(p->b);
    unsigned b = p->b->proc.port;

    int st = statusd_stop(&p->a->proc, SIGKILL, 5000);
    assert_true(WIFSIGNALED(st));
    cJSON *v = test_wait_job_status(b, id, "completed", 100, LEASE_WAIT_MS);
    /* the lost run counted: the demo's run on b is the second */
    assert_int_equal(test_jint(v, "attempts"), 2);
    assert_true(test_jnull(v, "error"));
    const char *summary = test_jstr(cJSON_GetObjectItemCaseSensitive(v, "result"), "summary");
    assert_non_null(summary);
    assert_non_null(strstr(summary, "survives"));
    cJSON_Delete(v);
    free(id);
}

static void test_job_of_a_killed_instance_on_its_last_attempt_turns_failed_worker_lost(
    void **state)
{
    pair *p = *state;
    unsigned b = p->b->proc.port;
    char *id = test_submit_job(p->a->proc.port, "{\"query\":\"long\"}");
    cJSON_Delete(test_wait_job_status(b, id, "processing", 10, TEST_DEADLINE_MS));
    (void)script_pid(p->a->dir);
    /* The heartbeat is renewed while A lives: still processing. */
    cJSON *v = test_get_job(b, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "processing");
    cJSON_Delete(v);

    int st = statusd_stop(&p->a->proc, SIGKILL, 5000);
    assert_true(WIFSIGNALED(st));
    cJSON_Delete(test_wait_job_status(b, id, "failed", 0, LEASE_WAIT_MS));
    char *etag = job_etag(b, id, "failed");
    for (int i = 0; i < 3; i++) {
        http_resp r;
        v = test_get_job(b, id, &r);
        assert_string_equal(test_jstr(v, "status"), "failed");
        test_assert_job_error(v, "worker_lost",
                              "the instance running the job stopped sending heartbeats");
        assert_int_equal(test_jint(v, "progress"), 10);
        assert_int_equal(test_jint(v, "attempts"), 1);
        assert_string_equal(http_header(&r, "ETag"), etag);
        assert_null(http_header(&r, "Retry-After"));
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    free(etag);
    free(id);
}

/* ---- GET /health/store ---- */

static void test_health_store_names_redis_with_its_url_and_memory_with_null(void **state)
{
    pair *p = *state;
    http_resp r;
    assert_int_equal(http_do(p->a->proc.port, "GET", "/health/store", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    cJSON *v = test_body_json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "connected")));
    assert_string_equal(test_jstr(v, "backend"), "redis");
    char url[96];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u/0", test_redis_group()->port);
    assert_string_equal(test_jstr(v, "url"), url);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "fallback")));
    const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(v, "round_trip_ms");
    assert_true(cJSON_IsNumber(rtt) && rtt->valuedouble >= 0);
    assert_string_equal(test_jstr(v, "test_operation"), "ok");
    /* Redis bounds itself (maxmemory): no byte count of statusd's. */
    assert_true(test_jnull(v, "bytes_held"));
    assert_true(test_jnull(v, "bytes_max"));
    assert_int_equal(cJSON_GetArraySize(v), 8);
    cJSON_Delete(v);
    http_resp_free(&r);

    assert_int_equal(http_do(p->a->proc.port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "store"), "redis");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "fallback")));
    cJSON_Delete(v);
    http_resp_free(&r);

    assert_int_equal(http_do(p->b->proc.port, "GET", "/health/store", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "connected")));
    assert_string_equal(test_jstr(v, "backend"), "memory");
    assert_true(test_jnull(v, "url"));
    assert_string_equal(test_jstr(v, "test_operation"), "ok");
    assert_true(test_jint(v, "bytes_held") > 0);
    assert_true(test_jint(v, "bytes_max") > test_jint(v, "bytes_held"));
    cJSON_Delete(v);
    http_resp_free(&r);
}

/* ---- many clients at once ---- */

#define POST_THREADS 8
#define POSTS_EACH 100

typedef struct poster {
    unsigned ports[2];
    int index;                                 /* which instance to start on */
    char ids[POSTS_EACH][SD_UUID_LEN + 1];
    int accepted;                              /* 202 answers, ids[0..accepted) */
    int server_errors;                         /* 5xx answers */
    int other;                                 /* anything else, or no answer */
} poster;

/* The id of a 202 answer into id; false when there is none. */
static bool accepted_id(const http_resp *r, char id[SD_UUID_LEN + 1])
{
    cJSON *v = cJSON_ParseWithLength(r->body, r->body_len);
    const char *s = test_jstr(v, "id");
    bool ok = s != NULL && strlen(s) == SD_UUID_LEN;
    if (ok)
        memcpy(id, s, SD_UUID_LEN + 1);
    cJSON_Delete(v);
    return ok;
}

/* Posts POSTS_EACH jobs, alternating between the instances. Runs in its
 * own thread, so it counts outcomes instead of asserting. */
static void *poster_main(void *arg)
{
    poster *w = arg;
    for (int i = 0; i < POSTS_EACH; i++) {
        http_resp r;
        unsigned port = w->ports[(w->index + i) % 2];
        if (http_do(port, "POST", "/research", NULL, "{\"query\":\"crowd\"}", &r) != 0)
            w->other++;
        else if (r.status >= 500)
            w->server_errors++;
        else if (r.status == 202 && accepted_id(&r, w->ids[w->accepted]))
            w->accepted++;
        else
            w->other++;
        http_resp_free(&r);
    }
    return NULL;
}

static void test_eight_clients_through_two_instances_complete_every_job(void **state)
{
    pair *p = *state;
    static poster w[POST_THREADS];
    pthread_t threads[POST_THREADS];
    for (int i = 0; i < POST_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].ports[0] = p->a->proc.port;
        w[i].ports[1] = p->b->proc.port;
        w[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, poster_main, &w[i]), 0);
    }
    for (int i = 0; i < POST_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < POST_THREADS; i++) {
        assert_int_equal(w[i].server_errors, 0);
        assert_int_equal(w[i].other, 0);
        assert_int_equal(w[i].accepted, POSTS_EACH);
    }
    /* Each job read on the instance that did not take it. */
    for (int i = 0; i < POST_THREADS; i++)
        for (int k = 0; k < POSTS_EACH; k++)
            cJSON_Delete(test_wait_job_status(w[i].ports[(i + k + 1) % 2], w[i].ids[k],
                                              "completed", 100, TEST_DEADLINE_MS));
}

#define CANCELERS 16

typedef struct canceler {
    unsigned port;
    const char *id;
    pthread_barrier_t *start;
    int status;                                /* the answer's, or -1 */
    char slug[64];                             /* a problem's type, or "" */
} canceler;

static void *canceler_main(void *arg)
{
    canceler *c = arg;
    char path[64];
    snprintf(path, sizeof path, "/status/%s", c->id);
    pthread_barrier_wait(c->start);
    http_resp r;
    c->status = http_do(c->port, "DELETE", path, NULL, NULL, &r) == 0 ? r.status : -1;
    cJSON *v = cJSON_ParseWithLength(r.body, r.body_len);
    snprintf(c->slug, sizeof c->slug, "%s",
             test_jstr(v, "type") != NULL ? test_jstr(v, "type") : "");
    cJSON_Delete(v);
    http_resp_free(&r);
    return NULL;
}

static void test_racing_cancels_through_two_instances_have_one_winner(void **state)
{
    pair *p = *state;
    char *id = test_submit_job(p->a->proc.port, "{\"query\":\"contested\"}");
    cJSON_Delete(test_wait_job_status(p->b->proc.port, id, "processing", 10,
                                      TEST_DEADLINE_MS));
    pid_t pid = script_pid(p->a->dir);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, CANCELERS), 0);
    canceler c[CANCELERS];
    pthread_t threads[CANCELERS];
    for (int i = 0; i < CANCELERS; i++) {
        c[i] = (canceler){i % 2 ? p->b->proc.port : p->a->proc.port, id, &start, 0, ""};
        assert_int_equal(pthread_create(&threads[i], NULL, canceler_main, &c[i]), 0);
    }
    int won = 0, conflicts = 0;
    for (int i = 0; i < CANCELERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (c[i].status == 200) {
            won++;
        } else {
            assert_int_equal(c[i].status, 409);
            assert_string_equal(c[i].slug, "/problems/conflict");
            conflicts++;
        }
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(won, 1);
    assert_int_equal(conflicts, CANCELERS - 1);
    assert_true(test_wait_until(process_gone, &pid, TEST_DEADLINE_MS));
    cJSON *v = test_get_job(p->a->proc.port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    cJSON_Delete(v);
    free(id);
}

/* ---- the group ---- */

#define ON_PAIR(test, setup) cmocka_unit_test_setup_teardown(test, setup, pair_teardown)

int main(void)
{
    /* A write to a statusd that a test killed must fail, not end us. */
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_PAIR(test_job_posted_on_one_instance_is_read_and_canceled_on_the_other,
                gated_pair_setup),
        ON_PAIR(test_job_completed_on_one_instance_is_409_to_delete_on_the_other,
                demo_pair_setup),
        ON_PAIR(test_poll_on_either_instance_renews_the_record_ttl, demo_pair_setup),
        ON_PAIR(test_jobs_outlive_a_restart_of_statusd, demo_pair_setup),
        ON_PAIR(test_job_of_a_killed_instance_runs_again_on_another, rerun_pair_setup),
        ON_PAIR(test_job_of_a_killed_instance_on_its_last_attempt_turns_failed_worker_lost,
                lease_pair_setup),
        ON_PAIR(test_health_store_names_redis_with_its_url_and_memory_with_null,
                redis_and_memory_setup),
        ON_PAIR(test_eight_clients_through_two_instances_complete_every_job,
                demo_pair_setup),
        ON_PAIR(test_racing_cancels_through_two_instances_have_one_winner,
                gated_pair_setup),
    };
    return cmocka_run_group_tests_name("redis_instances", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
