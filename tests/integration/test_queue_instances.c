/*
 * The shared job queue across statusd processes on one Redis: jobs posted
 * to an API-only instance (workers = 0) run on another, and the memory
 * store refuses them with no worker to run them; a job running longer
 * than its lease keeps it (the heartbeat renews it); the jobs in flight on an
 * instance killed with SIGKILL complete elsewhere within job_lease + 15 s,
 * their lost run counted and logged; a drained instance (SIGTERM) exits 0 within
 * drain_timeout + 5 s and its running and queued jobs finish elsewhere,
 * the drained run not counted; and 1,000 jobs through three instances,
 * one killed midway, all complete, none twice.
 *
 * "None twice": a run that completes a job does so in one store step that
 * sets the status to completed and adds 1 to the record's completions
 * field, conditioned on the run still owning the job (its lease and the
 * record's run field). A second run completing the same job would have to
 * pass that step too and would leave completions at 2; so completions is
 * read from Redis for every job and must be exactly 1.
 *
 * One redis-server serves the whole file; each test starts its own
 * instances and flushes the database first. The only bounds on elapsed
 * time are the two the feature promises (job_lease + 15 s after a kill,
 * drain_timeout + 5 s to exit); every other wait polls with a long
 * deadline.
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
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define MAX_ARGS 16
#define LEASE_S 2
#define KILL_BOUND_MS ((LEASE_S + 15) * 1000)
#define DRAIN_S 1
#define DRAIN_BOUND_MS ((DRAIN_S + 5) * 1000)
#define MANY_JOBS 1000
#define INSTANCES 3

/* Reports progress, then waits for $1/go (or 60 s) and completes. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo '{\"progress\":10,\"stage\":\"waiting\"}'\n"
    "i=0\n"
    "while [ -d \"$1\" ] && [ ! -e \"$1/go\" ] && [ $i -lt 600 ]; do\n"
    "  sleep 0.1; i=$((i+1))\n"
    "done\n"
    "echo '{\"result\":{\"gated\":true}}'\n";

/* Up to INSTANCES instances, stopped by the teardown in reverse order. */
typedef struct fixture {
    test_statusd *sd[INSTANCES];
} fixture;

/* ---- helpers ---- */

static void redis_flush(void)
{
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    redisReply *r = redisCommand(c, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

/* statusd on the group's Redis with job_lease=LEASE_S, the research
 * handler script when not NULL (else the demo), and extra (NULL-ended). */
static test_statusd *start_on_redis(const char *script, const char *const *extra)
{
    const char *args[MAX_ARGS + 7] = {"--store", "redis", "--set", test_redis_group_url_set(),
                                      "--set", "job_lease=2"};
    size_t n = 6;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        assert_true(i < MAX_ARGS);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    test_statusd *s = script != NULL ? test_statusd_start_exec(script, args)
                                     : test_statusd_start(NULL, args);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    for (int i = INSTANCES - 1; i >= 0; i--)
        if (test_statusd_stop(f->sd[i]) != 0)
            rc = -1;
    free(f);
    return rc;
}

/* The record's field as Redis holds it, as a number; -1 when absent. */
static long long record_field(redisContext *c, const char *id, const char *field)
{
    redisReply *r = redisCommand(c, "HGET statusd:{job:%s} %s", id, field);
    assert_non_null(r);
    long long v = -1;
    if (r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    else
        assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    return v;
}

static char *record_text(redisContext *c, const char *id, const char *field)
{
    redisReply *r = redisCommand(c, "HGET statusd:{job:%s} %s", id, field);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *v = strdup(r->str);
    assert_non_null(v);
    freeReplyObject(r);
    return v;
}

/* ---- API-only instances ---- */

static void test_jobs_posted_to_an_api_only_instance_complete_on_another(void **state)
{
    fixture *f = *state;
    static const char *const api[] = {"--set", "workers=0", NULL};
    static const char *const run[] = {"--set", "demo_step_ms=0", "--set", "workers=2", NULL};
    redis_flush();
    f->sd[0] = start_on_redis(NULL, api);
    f->sd[1] = start_on_redis(NULL, run);
    unsigned a = f->sd[0]->proc.port;
    enum { JOBS = 20 };
    char *ids[JOBS];
    for (int i = 0; i < JOBS; i++)
        ids[i] = test_submit_job(a, "{\"query\":\"elsewhere\"}");
    for (int i = 0; i < JOBS; i++) {
        cJSON *v = test_wait_job_status(a, ids[i], "completed", 100, TEST_DEADLINE_MS);
        assert_int_equal(test_jint(v, "attempts"), 1);
        cJSON_Delete(v);
        free(ids[i]);
    }
    cJSON *s = test_get_stats(a);
    assert_int_equal(test_stat(s, "workers", "total"), 0);
    assert_int_equal(test_stat(s, "workers", "busy"), 0);
    assert_int_equal(test_stat(s, "jobs", "completed"), JOBS);
    cJSON_Delete(s);
}

static void test_memory_store_without_workers_refuses_jobs(void **state)
{
    fixture *f = *state;
    static const char *const api[] = {"--set", "workers=0", NULL};
    f->sd[0] = test_statusd_start(NULL, api);
    assert_non_null(f->sd[0]);
    http_resp r;
    assert_int_equal(http_do(f->sd[0]->proc.port, "POST", "/research", NULL,
                             "{\"query\":\"nobody\"}", &r), 0);
    test_assert_problem(&r, 503, "store-unavailable", "workers");
    assert_non_null(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    cJSON *s = test_get_stats(f->sd[0]->proc.port);
    assert_int_equal(test_stat(s, "jobs", "queued"), 0);
    assert_int_equal(test_stat(s, "queue", "depth"), 0);
    cJSON_Delete(s);
}

/* ---- leases ---- */

/* a runs the job for more than two leases; b, API-only, reaps. */
static void test_job_running_longer_than_its_lease_keeps_it(void **state)
{
    fixture *f = *state;
    redis_flush();
    f->sd[0] = start_on_redis(GATED_SCRIPT, NULL);
    static const char *const api[] = {"--set", "workers=0", NULL};
    f->sd[1] = start_on_redis(NULL, api);
    unsigned a = f->sd[0]->proc.port, b = f->sd[1]->proc.port;
    char *id = test_submit_job(b, "{\"query\":\"long\"}");
    cJSON_Delete(test_wait_job_status(a, id, "processing", 10, TEST_DEADLINE_MS));
    test_sleep_ms(LEASE_S * 2500);
    cJSON *v = test_get_job(b, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    free(test_write_file(f->sd[0]->dir, "go", "", 0644));
    v = test_wait_job_status(b, id, "completed", 100, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    for (int i = 0; i < 2; i++) {
        cJSON *s = test_get_stats(i == 0 ? a : b);
        assert_int_equal(test_stat(s, "recovery", "requeued"), 0);
        assert_int_equal(test_stat(s, "recovery", "worker_lost"), 0);
        cJSON_Delete(s);
    }
    free(id);
}

/* ---- a killed instance ---- */

/* The four jobs run on a, which is alone until they do; b starts, a is
 * killed, b finishes them. */
static void test_jobs_in_flight_on_a_killed_instance_complete_elsewhere(void **state)
{
    fixture *f = *state;
    redis_flush();
    f->sd[0] = start_on_redis(GATED_SCRIPT, NULL);
    unsigned a = f->sd[0]->proc.port;
    enum { JOBS = 4 };
    char *ids[JOBS];
    for (int i = 0; i < JOBS; i++)
        ids[i] = test_submit_job(a, "{\"query\":\"in flight\"}");
    for (int i = 0; i < JOBS; i++)
        cJSON_Delete(test_wait_job_status(a, ids[i], "processing", 10, TEST_DEADLINE_MS));
    static const char *const run[] = {"--set", "demo_step_ms=0", NULL};
    f->sd[1] = start_on_redis(NULL, run);
    unsigned b = f->sd[1]->proc.port;

    int64_t killed = sd_mono_ms();
    int st = statusd_stop(&f->sd[0]->proc, SIGKILL, 5000);
    assert_true(WIFSIGNALED(st));
    for (int i = 0; i < JOBS; i++) {
        cJSON *v = test_wait_job_status(b, ids[i], "completed", 100, KILL_BOUND_MS + 5000);
        int64_t took = sd_mono_ms() - killed;
        if (took > KILL_BOUND_MS)
            fail_msg("job %d completed %lld ms after the kill, over %d", i, (long long)took,
                     KILL_BOUND_MS);
        assert_int_equal(test_jint(v, "attempts"), 2);
        assert_true(test_jnull(v, "error"));
        assert_true(test_jnull(v, "retry_at"));
        cJSON_Delete(v);
    }
    cJSON *s = test_get_stats(b);
    assert_int_equal(test_stat(s, "recovery", "requeued"), JOBS);
    assert_int_equal(test_stat(s, "recovery", "worker_lost"), 0);
    assert_int_equal(test_stat(s, "queue", "leased"), 0);
    /* the runs this instance ended: each job's lost run and its second */
    const cJSON *research = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "outcomes"), "research");
    assert_int_equal(test_jint(research, "lost"), JOBS);
    assert_int_equal(test_jint(research, "completed"), JOBS);
    cJSON_Delete(s);
    /* the killed instance's heartbeat record outlives it by job_lease at
     * most; then only b counts as alive */
    int alive = -1;
    for (int waited = 0; waited < TEST_DEADLINE_MS && alive != 1; waited += 50) {
        s = test_get_stats(b);
        alive = test_jint(s, "instances");
        cJSON_Delete(s);
        if (alive != 1)
            test_sleep_ms(50);
    }
    assert_int_equal(alive, 1);
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    for (int i = 0; i < JOBS; i++) {
        assert_int_equal(record_field(c, ids[i], "completions"), 1);
        assert_int_equal(record_field(c, ids[i], "run"), -1);
        /* the reaper's lifecycle line, then the second run's */
        char job[80];
        snprintf(job, sizeof job, " job_id=%s kind=research attempt=1 outcome=lost", ids[i]);
        assert_true(statusd_log_has(&f->sd[1]->proc, "info  job lost: ", job));
        snprintf(job, sizeof job, " job_id=%s kind=research attempt=2 outcome=completed", ids[i]);
        assert_true(statusd_log_has(&f->sd[1]->proc, "info  job completed", job));
        free(ids[i]);
    }
    redisFree(c);
}

/* ---- a drained instance ---- */

static void test_drained_instance_hands_running_and_queued_jobs_to_another(void **state)
{
    fixture *f = *state;
    redis_flush();
    static const char *const one[] = {"--set", "workers=1", "--set", "drain_timeout=1",
                                      "--set", "job_kill_grace=200", NULL};
    f->sd[0] = start_on_redis(GATED_SCRIPT, one);
    unsigned a = f->sd[0]->proc.port;
    char *running = test_submit_job(a, "{\"query\":\"running\"}");
    cJSON_Delete(test_wait_job_status(a, running, "processing", 10, TEST_DEADLINE_MS));
    char *queued[2];
    for (int i = 0; i < 2; i++)
        queued[i] = test_submit_job(a, "{\"query\":\"queued\"}");

    int64_t start = sd_mono_ms();
    int st = statusd_stop(&f->sd[0]->proc, SIGTERM, 30000);
    int64_t took = sd_mono_ms() - start;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        statusd_dump_log(&f->sd[0]->proc);
        fail_msg("the drained instance ended with wait status %d", st);
    }
    if (took > DRAIN_BOUND_MS)
        fail_msg("the drain took %lld ms, over %d", (long long)took, DRAIN_BOUND_MS);
    /* No instance runs now: every job waits in Redis, the running one
     * handed back without its attempt counted. */
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    char *status = record_text(c, running, "status");
    assert_string_equal(status, "queued");
    free(status);
    assert_int_equal(record_field(c, running, "attempts"), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(record_field(c, queued[i], "attempts"), 0);

    static const char *const run[] = {"--set", "demo_step_ms=0", NULL};
    f->sd[1] = start_on_redis(NULL, run);
    unsigned b = f->sd[1]->proc.port;
    char *all[] = {running, queued[0], queued[1]};
    for (int i = 0; i < 3; i++) {
        cJSON *v = test_wait_job_status(b, all[i], "completed", 100, TEST_DEADLINE_MS);
        assert_int_equal(test_jint(v, "attempts"), 1);
        cJSON_Delete(v);
        assert_int_equal(record_field(c, all[i], "completions"), 1);
        free(all[i]);
    }
    redisFree(c);
}

/* ---- a thousand jobs, three instances, one killed ---- */

typedef struct poster {
    unsigned ports[2];
    int first, count;                  /* jobs [first, first + count) */
    char (*ids)[SD_UUID_LEN + 1];
    int failures;
} poster;

static void *poster_main(void *arg)
{
    poster *p = arg;
    for (int i = p->first; i < p->first + p->count; i++) {
        http_resp r;
        bool ok = http_do(p->ports[i % 2], "POST", "/research", NULL,
                          "{\"query\":\"one of many\"}", &r) == 0 && r.status == 202;
        cJSON *v = ok ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
        const char *id = test_jstr(v, "id");
        if (id != NULL && strlen(id) == SD_UUID_LEN)
            memcpy(p->ids[i], id, SD_UUID_LEN + 1);
        else
            p->failures++;
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    return NULL;
}

typedef struct count_at {
    unsigned port;
    int want;
} count_at;

static bool completed_reached(void *arg)
{
    count_at *c = arg;
    http_resp r;
    int have = -1;
    if (http_do(c->port, "GET", "/stats", NULL, NULL, &r) == 0 && r.status == 200) {
        cJSON *s = cJSON_ParseWithLength(r.body, r.body_len);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(s, "jobs"), "completed");
        if (cJSON_IsNumber(n))
            have = n->valueint;
        cJSON_Delete(s);
    }
    http_resp_free(&r);
    return have >= c->want;
}

static void test_thousand_jobs_through_three_instances_one_killed_all_complete_once(
    void **state)
{
    fixture *f = *state;
    redis_flush();
    static const char *const run[] = {"--set", "demo_step_ms=2", "--set", "workers=4", NULL};
    for (int i = 0; i < INSTANCES; i++)
        f->sd[i] = start_on_redis(NULL, run);
    unsigned a = f->sd[0]->proc.port, b = f->sd[1]->proc.port;
    char (*ids)[SD_UUID_LEN + 1] = calloc(MANY_JOBS, sizeof *ids);
    assert_non_null(ids);
    /* Posted through a and b; the third instance only runs jobs. */
    poster p[2] = {{{a, b}, 0, MANY_JOBS / 2, ids, 0},
                   {{b, a}, MANY_JOBS / 2, MANY_JOBS / 2, ids, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, poster_main, &p[i]), 0);
    count_at third = {a, MANY_JOBS * 3 / 10};
    assert_true(test_wait_until(completed_reached, &third, TEST_DEADLINE_MS));
    int st = statusd_stop(&f->sd[2]->proc, SIGKILL, 5000);
    assert_true(WIFSIGNALED(st));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(p[i].failures, 0);
    }
    count_at all = {b, MANY_JOBS};
    assert_true(test_wait_until(completed_reached, &all, 60000));

    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    int again = 0;
    for (int i = 0; i < MANY_JOBS; i++) {
        char *status = record_text(c, ids[i], "status");
        if (strcmp(status, "completed") != 0)
            fail_msg("job %s is %s", ids[i], status);
        free(status);
        long long done = record_field(c, ids[i], "completions");
        if (done != 1)
            fail_msg("job %s completed %lld times", ids[i], done);
        long long attempts = record_field(c, ids[i], "attempts");
        assert_in_range(attempts, 1, 3);
        again += attempts > 1;
    }
    redisFree(c);
    cJSON *s = test_get_stats(a);
    assert_int_equal(test_stat(s, "jobs", "completed"), MANY_JOBS);
    assert_int_equal(test_stat(s, "jobs", "failed"), 0);
    assert_int_equal(test_stat(s, "queue", "depth"), 0);
    assert_int_equal(test_stat(s, "queue", "leased"), 0);
    cJSON_Delete(s);
    print_message("%d of %d jobs ran again after the kill\n", again, MANY_JOBS);
    free(ids);
}

/* ---- the group ---- */

#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
    /* A write to a statusd that a test killed must fail, not end us. */
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        T(test_jobs_posted_to_an_api_only_instance_complete_on_another),
        T(test_memory_store_without_workers_refuses_jobs),
        T(test_job_running_longer_than_its_lease_keeps_it),
        T(test_jobs_in_flight_on_a_killed_instance_complete_elsewhere),
        T(test_drained_instance_hands_running_and_queued_jobs_to_another),
        T(test_thousand_jobs_through_three_instances_one_killed_all_complete_once),
    };
    return cmocka_run_group_tests_name("queue_instances", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
