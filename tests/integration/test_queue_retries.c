/*
 * Retries of failed runs, on the memory store and on Redis alike, with
 * exec handlers whose scripts keep count of their runs in files: a
 * handler that fails once and then succeeds ends completed after two
 * attempts; one that always fails ends failed after max_attempts, with
 * the error of its last run; the waits between runs grow from
 * retry_backoff_ms (each at least half its nominal length, the fixed
 * part of the jitter); and on the memory store a drain cancels the jobs
 * still queued, which nobody else could run.
 *
 * Nothing here depends on timing but the lower bounds on the waits
 * between runs, which a slow machine only lengthens.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

/* Fails the first run of each job (leaving a marker), succeeds after. */
static const char FAIL_ONCE_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "if [ -e \"$1/failed-$STATUSD_JOB_ID\" ]; then\n"
    "  echo '{\"result\":{\"second\":true}}'\n"
    "  exit 0\n"
    "fi\n"
    "touch \"$1/failed-$STATUSD_JOB_ID\"\n"
    "echo '{\"progress\":30,\"stage\":\"trying\"}'\n"
    "echo 'the first run fails' >&2\n"
    "exit 3\n";

/* Counts its runs of each job, and writes when each began (ms), then
 * fails naming the run. */
static const char ALWAYS_FAIL_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "date +%s%3N >> \"$1/at-$STATUSD_JOB_ID\"\n"
    "n=$(( $(cat \"$1/count-$STATUSD_JOB_ID\" 2>/dev/null || echo 0) + 1 ))\n"
    "echo $n > \"$1/count-$STATUSD_JOB_ID\"\n"
    "echo \"run $n failed\" >&2\n"
    "exit 1\n";

/* Waits for $1/go, then completes. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo '{\"progress\":10}'\n"
    "while [ ! -e \"$1/go\" ]; do sleep 0.05; done\n"
    "echo '{\"result\":{}}'\n";

/* ---- fixtures ---- */

/* statusd with script as the research handler, on Redis or memory, with
 * the given retry settings. */
static int start(void **state, const char *script, bool redis, const char *backoff)
{
    const char *args[16] = {"--set", "max_attempts=3", "--set", backoff, "--set",
                            "retry_backoff_max_ms=800", "--set", "drain_timeout=1"};
    size_t n = 8;
    if (redis) {
        args[n++] = "--store";
        args[n++] = "redis";
        args[n++] = "--set";
        args[n++] = test_redis_group_url_set();
    }
    args[n] = NULL;
    return test_statusd_setup_exec(state, script, args);
}

static int once_memory(void **state)
{
    return start(state, FAIL_ONCE_SCRIPT, false, "retry_backoff_ms=50");
}

static int once_redis(void **state)
{
    return start(state, FAIL_ONCE_SCRIPT, true, "retry_backoff_ms=50");
}

static int always_memory(void **state)
{
    return start(state, ALWAYS_FAIL_SCRIPT, false, "retry_backoff_ms=400");
}

static int always_redis(void **state)
{
    return start(state, ALWAYS_FAIL_SCRIPT, true, "retry_backoff_ms=400");
}

/* One worker on memory; the drain waits 0 s. */
static int drain_memory(void **state)
{
    static const char *const args[] = {"--set", "workers=1", "--set", "drain_timeout=0",
                                       "--set", "job_kill_grace=200", NULL};
    return test_statusd_setup_exec(state, GATED_SCRIPT, args);
}

/* ---- helpers ---- */

/* The numbers, one a line, in dir/name (at most max); how many. */
static size_t read_numbers(const char *dir, const char *name, long long *out, size_t max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = 0;
    char line[64];
    while (n < max && fgets(line, sizeof line, fp) != NULL) {
        char *end = NULL;
        out[n++] = strtoll(line, &end, 10);
        assert_true(end != line);
    }
    fclose(fp);
    return n;
}

/* ---- tests ---- */

static void test_handler_failing_once_then_succeeding_ends_completed_with_attempts_2(
    void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"second time lucky\"}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "completed", 100, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "attempts"), 2);
    assert_true(test_jnull(v, "error"));
    assert_true(test_jnull(v, "retry_at"));
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(v, "result");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "second")));
    cJSON_Delete(v);
    free(id);
}

static void test_handler_always_failing_ends_failed_after_max_attempts_with_the_last_error(
    void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"hopeless\"}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "failed", 0, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "attempts"), 3);
    test_assert_job_error(v, "handler_failed", "run 3 failed");
    assert_true(test_jnull(v, "retry_at"));
    cJSON_Delete(v);

    /* three runs, no more; each retry waited at least half its backoff:
     * 400 ms, then 800 ms (doubled, at the cap) */
    char name[64];
    long long count[2], at[4];
    snprintf(name, sizeof name, "count-%s", id);
    assert_int_equal(read_numbers(f->dir, name, count, 2), 1);
    assert_int_equal(count[0], 3);
    snprintf(name, sizeof name, "at-%s", id);
    assert_int_equal(read_numbers(f->dir, name, at, 4), 3);
    if (at[1] - at[0] < 200 || at[2] - at[1] < 400)
        fail_msg("runs began %lld and %lld ms apart, under 200 and 400", at[1] - at[0],
                 at[2] - at[1]);
    free(id);
}

static void test_memory_drain_cancels_the_jobs_still_queued(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    char *running = test_submit_job(port, "{\"query\":\"running\"}");
    cJSON_Delete(test_wait_job_status(port, running, "processing", 10, TEST_DEADLINE_MS));
    char *queued[2];
    for (int i = 0; i < 2; i++)
        queued[i] = test_submit_job(port, "{\"query\":\"waiting\"}");
    int st = statusd_stop(&f->proc, SIGTERM, 30000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(statusd_log_has(&f->proc, "drain: 1 running jobs stopped after drain_timeout",
                                NULL));
    assert_true(statusd_log_has(&f->proc, "drain: 2 queued jobs canceled", NULL));
    free(running);
    for (int i = 0; i < 2; i++)
        free(queued[i]);
}

/* ---- the group ---- */

#define ON(test, setup, store) TEST_ON_STORE(test, setup, test_statusd_teardown, store)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON(test_handler_failing_once_then_succeeding_ends_completed_with_attempts_2,
           once_memory, "memory"),
        ON(test_handler_failing_once_then_succeeding_ends_completed_with_attempts_2,
           once_redis, "redis"),
        ON(test_handler_always_failing_ends_failed_after_max_attempts_with_the_last_error,
           always_memory, "memory"),
        ON(test_handler_always_failing_ends_failed_after_max_attempts_with_the_last_error,
           always_redis, "redis"),
        ON(test_memory_drain_cancels_the_jobs_still_queued, drain_memory, "memory"),
    };
    return cmocka_run_group_tests_name("queue_retries", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
