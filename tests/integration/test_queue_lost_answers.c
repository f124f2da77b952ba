/*
 * Store steps of runs whose answer is lost: Redis applied the step, then
 * the connection broke before its reply reached statusd. A fault proxy
 * (fault_proxy.h) between statusd and its own redis-server keeps the
 * reply of the first ack_take (the step that ends a run and takes the
 * worker's next job; its next-take owner "<instance>:n0" marks it) and
 * closes that connection once Redis has answered. statusd retries the
 * step as a plain ack, which finds the item gone, then takes back with
 * resume, by the same owner, the job the lost step took: every job runs
 * once, now, not after its lease of 60 s runs out; and the retry that
 * found the item gone, its own step having landed, says so (at debug)
 * instead of logging a lost lease. The same for the release of a failed
 * run (marked by the retry_ms it sets): the retry it queued counts, as
 * an answered one would. And the heartbeat, renewing the lease of a run
 * whose end is held unanswered, does not warn that it was reaped.
 *
 * Redis only: the memory store answers in the process and never loses
 * an answer.
 */
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

#include "fault_proxy.h"
#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define JOBS 3
/* Far below the lease: a job that waited for its lease to run out, or
 * ran a second time, cannot end within it. */
#define LEASE_S 60
#define BOUND_MS 15000
/* How long the proxy holds a lost answer after Redis sent it; the long
 * one outlasts a beat of the heartbeat (every second), and the store's
 * command timeout is then raised above it. */
#define HOLD_MS 100
#define LONG_HOLD_MS 1500

typedef struct fixture {
    test_redis redis;
    fault_proxy *proxy;
    test_statusd *statusd;
} fixture;

/* Its own redis-server, the proxy in front of it, and statusd on the
 * proxy with one worker, a lease of 60 s, debug logs and sets (at most
 * 4 "key=value" strings, NULL-terminated). */
static int lost_setup(void **state, const char *const *sets)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (test_redis_start(&f->redis) != 0) {
        free(f);
        return -1;
    }
    f->proxy = fault_proxy_start(f->redis.port);
    if (f->proxy == NULL) {
        test_redis_stop(&f->redis);
        free(f);
        return -1;
    }
    char url[128], lease[32];
    snprintf(url, sizeof url, "redis_url=redis://127.0.0.1:%u/0", fault_proxy_port(f->proxy));
    snprintf(lease, sizeof lease, "job_lease=%d", LEASE_S);
    const char *args[24] = {"--store", "redis", "--set", url, "--set", lease,
                            "--set", "workers=1", "--set", "log_level=debug"};
    size_t n = 10;
    for (size_t i = 0; i < 4 && sets[i] != NULL; i++) {
        args[n++] = "--set";
        args[n++] = sets[i];
    }
    args[n] = NULL;
    f->statusd = test_statusd_start(NULL, args);
    if (f->statusd == NULL) {
        fault_proxy_stop(f->proxy);
        test_redis_stop(&f->redis);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* Runs of 3 stages of 300 ms: the others are submitted during the
 * first. */
static int ack_take_setup(void **state)
{
    return lost_setup(state, (const char *const[]){"demo_step_ms=300", NULL});
}

/* As ack_take_setup, with a command timeout of 5 s, above the long
 * hold, and a Redis connection for each thread, so that the heartbeat's
 * renewals do not wait behind the held answer. */
static int long_hold_setup(void **state)
{
    return lost_setup(state, (const char *const[]){"demo_step_ms=300", "redis_timeout_ms=5000",
                                                   "redis_pool_size=16", NULL});
}

/* A failed run is retried once, a second after it failed. */
static int release_setup(void **state)
{
    return lost_setup(state, (const char *const[]){"demo_step_ms=50", "max_attempts=2",
                                                   "retry_backoff_ms=1000", NULL});
}

static int lost_teardown(void **state)
{
    fixture *f = *state;
    int rc = test_statusd_stop(f->statusd);
    fault_proxy_stop(f->proxy);
    test_redis_stop(&f->redis);
    free(f);
    return rc;
}

/* Asserts that the job completed, with its own result (its query was
 * q-<i>) in its first run, within what is left of BOUND_MS from t0. */
static void assert_completed_once(unsigned port, const char *id, int i, int64_t t0)
{
    int64_t left = BOUND_MS - (sd_mono_ms() - t0);
    cJSON *v = test_wait_job_status(port, id, "completed", 100, left > 0 ? (int)left : 1);
    assert_int_equal(test_jint(v, "attempts"), 1);
    assert_true(test_jnull(v, "error"));
    const char *summary = test_jstr(cJSON_GetObjectItemCaseSensitive(v, "result"), "summary");
    assert_non_null(summary);
    char want[64];
    snprintf(want, sizeof want, "Demo summary for \"q-%d\":", i);
    assert_true(strncmp(summary, want, strlen(want)) == 0);
    cJSON_Delete(v);
}

/* Asserts that the proxy lost exactly one answer. */
static void assert_fired_once(fixture *f)
{
    int fired = fault_proxy_fired(f->proxy);
    if (fired != 1) {
        statusd_dump_log(&f->statusd->proc);
        fail_msg("the proxy lost %d answers, not 1", fired);
    }
}

/* Asserts that the log says the step of the job's run landed before its
 * answer was lost, and nowhere that a run lost its lease. */
static void assert_logged_landed(const statusd_proc *sd, const char *id)
{
    if (statusd_log_has(sd, "its lease was lost", NULL) ||
        !statusd_log_has(sd, id, "landed before its answer was lost")) {
        statusd_dump_log(sd);
        fail_msg("the lost answer of job %s's step is logged wrongly", id);
    }
}

/*
 * Loses the answer of the first ack_take, the proxy closing its
 * connection hold_ms after Redis answered, and asserts that every job
 * completed once, now, and that the first job's end is logged as landed.
 */
static void lose_first_ack_take(fixture *f, int hold_ms)
{
    const statusd_proc *sd = &f->statusd->proc;
    unsigned port = sd->port;
    /* The first command that carries "<instance>:n0" is the first
     * ack_take, as the owner of its take (later ones carry it as the run
     * owner of the job it took; the proxy fires once). */
    fault_proxy_arm(f->proxy, ":n0\r\n", 5, hold_ms);
    /* The worker runs the first job (3 stages of 300 ms) while the
     * others are submitted; its end takes the second. The others wait
     * until it runs: jobs pushed in one millisecond go out in the byte
     * order of their ids, not in the order sent. */
    char *ids[JOBS];
    int64_t t0 = sd_mono_ms();
    for (int i = 0; i < JOBS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"query\":\"q-%d\"}", i);
        ids[i] = test_submit_job(port, body);
        if (i == 0)
            cJSON_Delete(test_wait_job_status(port, ids[0], "processing", 0, TEST_DEADLINE_MS));
    }
    for (int i = 0; i < JOBS; i++)
        assert_completed_once(port, ids[i], i, t0);

    /* The step was lost after Redis ran it: its reply, kept from
     * statusd, named the job it took. */
    assert_fired_once(f);
    assert_true(fault_proxy_dropped_has(f->proxy, ids[1]) ||
                fault_proxy_dropped_has(f->proxy, ids[2]));

    /* Nothing left leased or requeued by the reaper. */
    cJSON *s = test_get_stats(port);
    assert_int_equal(test_stat(s, "jobs", "completed"), JOBS);
    assert_int_equal(test_stat(s, "queue", "leased"), 0);
    assert_int_equal(test_stat(s, "recovery", "requeued"), 0);
    assert_int_equal(test_stat(s, "recovery", "worker_lost"), 0);
    cJSON_Delete(s);

    /* The end of the first job landed: not logged as a lost lease. */
    assert_logged_landed(sd, ids[0]);
    for (int i = 0; i < JOBS; i++)
        free(ids[i]);
}

static void test_ack_take_whose_answer_is_lost_runs_the_job_it_took_now_and_once(
    void **state)
{
    lose_first_ack_take(*state, HOLD_MS);
}

/* The heartbeat renews the lease of the first job while its end is held
 * (at least once: it beats every second): the item is gone, the end
 * having landed, but no handler is running and no lease was reaped. */
static void test_heartbeat_while_a_run_ends_unanswered_warns_of_no_reaped_lease(void **state)
{
    fixture *f = *state;
    lose_first_ack_take(f, LONG_HOLD_MS);
    if (statusd_log_has(&f->statusd->proc, "reaped as dead", NULL)) {
        statusd_dump_log(&f->statusd->proc);
        fail_msg("a run that ended was warned of as reaped");
    }
}

static void test_release_whose_answer_is_lost_is_a_retry_that_landed(void **state)
{
    fixture *f = *state;
    const statusd_proc *sd = &f->statusd->proc;
    unsigned port = sd->port;
    /* The release of a failed run sets retry_ms ("s" "retry_ms"); a take
     * deletes it ("d"). */
    static const char release[] = "$1\r\ns\r\n$8\r\nretry_ms\r\n";
    fault_proxy_arm(f->proxy, release, sizeof release - 1, HOLD_MS);
    int64_t t0 = sd_mono_ms();
    char *id = test_submit_job(port, "{\"query\":\"q\",\"params\":{\"fail\":true}}");
    cJSON *v = test_wait_job_status(port, id, "failed", 0, BOUND_MS);
    assert_true(sd_mono_ms() - t0 < BOUND_MS);
    assert_int_equal(test_jint(v, "attempts"), 2);
    test_assert_job_error(v, "demo_failure", NULL);
    cJSON_Delete(v);
    assert_fired_once(f);

    /* The retry counts once, with its lifecycle line, as an answered one. */
    cJSON *s = test_get_stats(port);
    assert_int_equal(test_stat(s, "recovery", "retries"), 1);
    assert_int_equal(test_stat(s, "recovery", "requeued"), 0);
    assert_int_equal(test_stat(s, "queue", "leased"), 0);
    cJSON_Delete(s);
    assert_true(statusd_log_has(sd, "job retried", id));
    assert_logged_landed(sd, id);
    free(id);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_ack_take_whose_answer_is_lost_runs_the_job_it_took_now_and_once,
            ack_take_setup, lost_teardown),
        cmocka_unit_test_setup_teardown(
            test_release_whose_answer_is_lost_is_a_retry_that_landed, release_setup,
            lost_teardown),
        cmocka_unit_test_setup_teardown(
            test_heartbeat_while_a_run_ends_unanswered_warns_of_no_reaped_lease,
            long_hold_setup, lost_teardown),
    };
    return cmocka_run_group_tests_name("queue_lost_answers", tests, NULL, NULL);
}
