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
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

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
    return cmocka_run_group_tests_name("exec handlers over http, one server per test",
                                       own_server, NULL, NULL);
}
