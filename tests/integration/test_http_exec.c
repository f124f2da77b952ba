/*
 * Exec handlers over real HTTP against a real statusd: each test starts
 * its own statusd whose research handler is a shell script written to a
 * temporary directory (the handler itself runs no shell). Nothing here
 * depends on timing: every wait polls with a long deadline, and a job
 * that must be caught mid-run waits for a file the test creates.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "redis_server.h"

/* ---- fixtures ---- */

/* Starts statusd with script as the research handler (see
 * test_statusd_start_exec): drain_timeout=1, and extra_key_value or else
 * job_kill_grace=200. */
static int exec_setup(void **state, const char *script, const char *extra_key_value)
{
    const char *const args[] = {
        "--set", "drain_timeout=1", "--set",
        extra_key_value != NULL ? extra_key_value : "job_kill_grace=200", NULL};
    return test_statusd_setup_exec(state, script, args);
}

/* Reports a stage, waits for dir/go, then echoes its input as the result. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "input=$(cat)\n"
    "echo '{\"progress\":40,\"stage\":\"halfway\"}'\n"
    "while [ ! -e \"$1/go\" ]; do sleep 0.05; done\n"
    "echo 'plain output is not a report'\n"
    "printf '{\"result\":{\"input\":%s}}\\n' \"$input\"\n";

static const char ENV_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "printf '{\"result\":{\"job_id\":\"%s\",\"kind\":\"%s\"}}\\n' \"$STATUSD_JOB_ID\" "
    "\"$STATUSD_JOB_KIND\"\n";

static const char FAILING_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo '{\"progress\":20,\"stage\":\"starting\"}'\n"
    "echo 'first line of noise' >&2\n"
    "echo 'boom: the upstream refused' >&2\n"
    "exit 3\n";

static const char SLEEPING_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo '{\"progress\":5}'\n"
    "exec sleep 60\n";

/* Ignores SIGTERM, so only the SIGKILL after job_kill_grace ends it. */
static const char STUBBORN_SCRIPT[] =
    "#!/bin/sh\n"
    "trap '' TERM\n"
    "cat >/dev/null\n"
    "echo $$ > \"$1/pid\"\n"
    "echo '{\"progress\":10,\"stage\":\"sleeping\"}'\n"
    "while :; do sleep 1; done\n";

static int gated_setup(void **state) { return exec_setup(state, GATED_SCRIPT, NULL); }
static int env_setup(void **state) { return exec_setup(state, ENV_SCRIPT, NULL); }
static int failing_setup(void **state) { return exec_setup(state, FAILING_SCRIPT, NULL); }
static int sleeping_setup(void **state)
{
    return exec_setup(state, SLEEPING_SCRIPT, "job_timeout=1");
}
static int stubborn_setup(void **state) { return exec_setup(state, STUBBORN_SCRIPT, NULL); }

/* ---- exec handlers ---- */

static bool file_exists(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void test_exec_job_reports_progress_and_completes_with_its_result(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"exec q\",\"params\":{\"k\":\"v\"}}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "processing", 40, TEST_DEADLINE_MS));
    /* the job waits for the test: this view is of a running job */
    http_resp g;
    cJSON *v = test_get_job(f->proc.port, id, &g);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "progress"), 40);
    assert_string_equal(test_jstr(v, "stage"), "halfway");
    assert_int_equal(test_jint(v, "attempts"), 1);
    assert_true(test_jnull(v, "result"));
    assert_string_equal(http_header(&g, "Retry-After"), "1");
    assert_string_equal(http_header(&g, "Cache-Control"), "no-cache");
    cJSON_Delete(v);
    http_resp_free(&g);

    char *go = test_write_file(f->dir, "go", "", 0644);
    assert_non_null(go);
    free(go);
    v = test_wait_job_status(f->proc.port, id, "completed", 0, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "progress"), 100);
    assert_string_equal(test_jstr(v, "stage"), "halfway");
    assert_true(test_jnull(v, "error"));
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(v, "result"), "input");
    assert_string_equal(test_jstr(input, "query"), "exec q");
    assert_string_equal(test_jstr(cJSON_GetObjectItemCaseSensitive(input, "params"), "k"), "v");
    cJSON_Delete(v);
    free(id);
}

static void test_exec_job_sees_its_id_in_statusd_job_id(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"who am i\"}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "completed", 0, TEST_DEADLINE_MS);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(v, "result");
    assert_string_equal(test_jstr(result, "job_id"), id);
    assert_string_equal(test_jstr(result, "kind"), "research");
    cJSON_Delete(v);
    free(id);
}

static void test_exec_job_exiting_non_zero_fails_with_its_stderr(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"breaks\"}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(v, "handler_failed", "first line of noise\nboom: the upstream refused");
    assert_true(test_jnull(v, "result"));
    assert_int_equal(test_jint(v, "progress"), 20);
    assert_string_equal(test_jstr(v, "stage"), "starting");
    cJSON_Delete(v);
    free(id);
}

static void test_exec_job_past_job_timeout_fails_with_timeout(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"too slow\"}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(v, "timeout", "job exceeded job_timeout of 1 s");
    assert_true(test_jnull(v, "result"));
    cJSON_Delete(v);
    free(id);
}

static bool pid_gone(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    return kill(pid, 0) != 0 && errno == ESRCH;
}

static void test_exec_job_cancel_stops_the_program(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"stubborn\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "processing", 10, TEST_DEADLINE_MS));
    assert_true(file_exists(f->dir, "pid"));
    char path[1024];
    snprintf(path, sizeof path, "%s/pid", f->dir);
    FILE *pf = fopen(path, "r");
    assert_non_null(pf);
    long pid = 0;
    assert_int_equal(fscanf(pf, "%ld", &pid), 1);
    fclose(pf);
    assert_true(pid > 1);
    pid_t child = (pid_t)pid;
    assert_int_equal(kill(child, 0), 0);

    http_resp r;
    test_delete_job(f->proc.port, id, &r);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    cJSON_Delete(v);
    http_resp_free(&r);

    assert_true(test_wait_until(pid_gone, &child, TEST_DEADLINE_MS));
    v = test_get_job(f->proc.port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_true(test_jnull(v, "result"));
    cJSON_Delete(v);
    free(id);
}

/* ---- coalesced progress ---- */

/* 200,000 progress lines (0 to 72), then progress 73 with a stage; then,
 * as marker files in its directory say, waits for go, fails, or ends
 * with a result. */
#define CHATTY_LINES 200000
static const char CHATTY_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "awk 'BEGIN { for (i = 0; i < 200000; i++) printf \"{\\\"progress\\\":%d}\\n\", i / 2740 }'\n"
    "echo '{\"progress\":73,\"stage\":\"last\"}'\n"
    "if [ -e \"$1/wait\" ]; then while [ ! -e \"$1/go\" ]; do sleep 0.05; done; fi\n"
    "if [ -e \"$1/fail\" ]; then echo 'failed on purpose' >&2; exit 3; fi\n"
    "echo '{\"result\":{\"lines\":200000}}'\n";

typedef struct chatty {
    test_statusd *s;
    redisContext *redis;   /* the store's server, or NULL on memory */
} chatty;

static int chatty_setup(void **state, bool redis)
{
    chatty *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    const char *const mem_args[] = {"--set", "workers=1", "--set", "max_attempts=1", NULL};
    const char *const redis_args[] = {"--set", "workers=1", "--set", "max_attempts=1",
                                      "--store", "redis", "--set", test_redis_group_url_set(),
                                      NULL};
    if (redis && (test_redis_group_flush() != 0 ||
                  (c->redis = test_redis_connect(test_redis_group())) == NULL)) {
        free(c);
        return -1;
    }
    c->s = test_statusd_start_exec(CHATTY_SCRIPT, redis ? redis_args : mem_args);
    if (c->s == NULL) {
        if (c->redis != NULL)
            redisFree(c->redis);
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int chatty_memory_setup(void **state) { return chatty_setup(state, false); }
static int chatty_redis_setup(void **state) { return chatty_setup(state, true); }

static int chatty_teardown(void **state)
{
    chatty *c = *state;
    int rc = test_statusd_stop(c->s);
    if (c->redis != NULL)
        redisFree(c->redis);
    free(c);
    return rc;
}

/* Scripts run on the store's server so far (every store write is one). */
static long long scripts_run(const chatty *c)
{
    long long n = test_redis_info(c->redis, "commandstats", "cmdstat_evalsha:calls=");
    assert_true(n >= 0);
    return n;
}

/*
 * Runs the chatty program to the end the marker (NULL, "fail") asks for
 * and returns the job's last view. On Redis the writes are counted: at
 * most one progress write per progress_interval_ms, plus the run's own
 * steps and what the idle instance does meanwhile (queue polls, the
 * heartbeat: a few dozen a second at most), so the bound is far below the
 * 200,000 reports whatever the machine's speed.
 */
static cJSON *chatty_run(const chatty *c, const char *marker, const char *status)
{
    if (marker != NULL)
        free(test_write_file(c->s->dir, marker, "", 0644));
    long long before = c->redis != NULL ? scripts_run(c) : 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char *id = test_submit_job(c->s->proc.port, "{\"query\":\"chatty\"}");
    cJSON *v = test_wait_job_status(c->s->proc.port, id, status, 0, 20000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
    if (c->redis != NULL) {
        long long scripts = scripts_run(c) - before;
        fprintf(stderr, "%d progress lines on Redis: job %s after %lld ms, %lld scripts\n",
                CHATTY_LINES, status, ms, scripts);
        assert_true(scripts <= 50 + ms * 50 / 1000);
    }
    free(id);
    return v;
}

static void test_200000_progress_lines_complete_with_exact_stage_and_result(void **state)
{
    chatty *c = *state;
    cJSON *v = chatty_run(c, NULL, "completed");
    assert_int_equal(test_jint(v, "progress"), 100);
    assert_string_equal(test_jstr(v, "stage"), "last");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(v, "result");
    assert_int_equal(test_jint(result, "lines"), CHATTY_LINES);
    assert_true(test_jnull(v, "error"));
    cJSON_Delete(v);
}

/* The end of a run is written at once, with the last report still
 * pending: the failed job shows exactly the last progress and stage. */
static void test_200000_progress_lines_then_failure_keep_the_last_progress(void **state)
{
    chatty *c = *state;
    cJSON *v = chatty_run(c, "fail", "failed");
    assert_int_equal(test_jint(v, "progress"), 73);
    assert_string_equal(test_jstr(v, "stage"), "last");
    test_assert_job_error(v, "handler_failed", "failed on purpose");
    cJSON_Delete(v);
}

/* A handler that goes quiet after its reports: the last one is written
 * without a further report (by the run's heartbeat), and the job then
 * completes. */
static void test_last_report_of_a_quiet_handler_is_written(void **state)
{
    chatty *c = *state;
    free(test_write_file(c->s->dir, "wait", "", 0644));
    char *id = test_submit_job(c->s->proc.port, "{\"query\":\"quiet\"}");
    cJSON *v = test_wait_job_status(c->s->proc.port, id, "processing", 73, 20000);
    assert_int_equal(test_jint(v, "progress"), 73);
    assert_string_equal(test_jstr(v, "stage"), "last");
    cJSON_Delete(v);
    free(test_write_file(c->s->dir, "go", "", 0644));
    cJSON_Delete(test_wait_job_status(c->s->proc.port, id, "completed", 0, TEST_DEADLINE_MS));
    free(id);
}

int main(void)
{
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test_setup_teardown(
            test_exec_job_reports_progress_and_completes_with_its_result, gated_setup,
            test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_exec_job_sees_its_id_in_statusd_job_id, env_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_exec_job_exiting_non_zero_fails_with_its_stderr,
                                        failing_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_exec_job_past_job_timeout_fails_with_timeout,
                                        sleeping_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_exec_job_cancel_stops_the_program, stubborn_setup,
                                        test_statusd_teardown),
    };
#define CHATTY(test)                                                                   \
    cmocka_unit_test_prestate_setup_teardown(test, chatty_memory_setup, chatty_teardown,  \
                                             NULL),                                      \
        cmocka_unit_test_prestate_setup_teardown(test, chatty_redis_setup,                 \
                                                 chatty_teardown, NULL)
    const struct CMUnitTest chatty_tests[] = {
        CHATTY(test_200000_progress_lines_complete_with_exact_stage_and_result),
        CHATTY(test_200000_progress_lines_then_failure_keep_the_last_progress),
        CHATTY(test_last_report_of_a_quiet_handler_is_written),
    };
    int failed = cmocka_run_group_tests_name("exec handlers over http, one server per test",
                                             own_server, NULL, NULL);
    failed += cmocka_run_group_tests_name("exec handlers reporting a lot, memory and redis",
                                          chatty_tests, test_redis_group_setup,
                                          test_redis_group_teardown);
    return failed;
}
