/*
 * statusd as a process: liveness and readiness, the drain on SIGTERM and
 * SIGINT, and the command line (--check-config, --version, bad values).
 * The binary is $SD_TEST_BIN, run from $SD_TEST_SOURCE_DIR. Time bounds
 * are generous: a drain is checked for ending with status 0, not for its
 * speed, except that drain_timeout=0 must not wait for a 15 s job.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

/* ---- helpers ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Submits a job and waits until a worker runs it; the id (caller frees). */
static char *submit_running(unsigned port, const char *body)
{
    char *id = test_submit_job(port, body);
    cJSON_Delete(test_wait_job_status(port, id, "processing", 0, TEST_DEADLINE_MS));
    return id;
}

static bool ready_refused(void *arg)
{
    unsigned port = *(unsigned *)arg;
    http_resp r;
    bool refused = http_do(port, "GET", "/ready", NULL, NULL, &r) == 0 && r.status == 503;
    http_resp_free(&r);
    return refused;
}

/* True when the process log contains text. */
static bool log_has(const statusd_proc *p, const char *text)
{
    FILE *f = fopen(p->log_path, "r");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

/* Waits up to timeout_ms for the process to exit by itself (signal 0
 * only checks it is there); its wait status, SIGKILLed past the time. */
static int wait_exit(statusd_proc *p, int timeout_ms)
{
    return statusd_stop(p, 0, timeout_ms);
}

static void assert_exited_0(statusd_proc *p, int st)
{
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        statusd_dump_log(p);
        fail_msg("statusd ended with wait status %d, not exit 0", st);
    }
}

/* ---- running the binary for its command line ---- */

typedef struct cli_run {
    int status;           /* wait status */
    char out[16384];
    char err[4096];
} cli_run;

static void read_all(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs statusd with args (and extra "NAME=value" env entries, may be NULL)
 * from the source directory, stdout and stderr to files; fails the test
 * when it has not exited after 10 s. */
static void run_cli(const char *const *args, const char *const *env, cli_run *res)
{
    const char *bin = getenv("SD_TEST_BIN");
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    assert_non_null(bin);
    char *dir = test_tempdir("statusd-cli");
    assert_non_null(dir);
    char out_path[600], err_path[600];
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if ((src != NULL && chdir(src) != 0) || o < 0 || e < 0 ||
            dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
            _exit(126);
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    int64_t until = mono_ms() + 10000;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && mono_ms() < until) {
        test_sleep_ms(10);
    }
    if (w != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        test_rmdir(dir);
        free(dir);
        fail_msg("statusd %s did not exit within 10 s", args[0] != NULL ? args[0] : "");
    }
    res->status = st;
    read_all(out_path, res->out, sizeof res->out);
    read_all(err_path, res->err, sizeof res->err);
    test_rmdir(dir);
    free(dir);
}

static void assert_exit_code(const cli_run *r, int code)
{
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code)
        fail_msg("expected exit %d, got wait status %d; stderr: %s", code, r->status, r->err);
}

/* ---- fixtures ---- */

static int serving_setup(void **state)
{
    static const char *const args[] = {"--set", "demo_step_ms=50", NULL};
    return test_statusd_setup(state, args);
}

static int demo_drain_setup(void **state)
{
    static const char *const args[] = {"--set", "demo_step_ms=300", "--set",
                                       "drain_timeout=10", NULL};
    return test_statusd_setup(state, args);
}

static int no_drain_setup(void **state)
{
    static const char *const args[] = {"--set", "demo_step_ms=5000", "--set",
                                       "drain_timeout=0", NULL};
    return test_statusd_setup(state, args);
}

/* A job that reports progress, then waits for dir/go, marks dir/done
 * and completes: it cannot end before the test lets it. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "echo '{\"progress\":50,\"stage\":\"waiting\"}'\n"
    "while [ ! -e \"$1/go\" ]; do sleep 0.05; done\n"
    "touch \"$1/done\"\n"
    "echo '{\"result\":{\"ok\":true}}'\n";

/* The gated job above; the drain waits up to a minute for it. A job
 * still gated at teardown is let go there (test_statusd_stop). */
static int gated_drain_setup(void **state)
{
    static const char *const args[] = {"--set", "drain_timeout=60", NULL};
    return test_statusd_setup_exec(state, GATED_SCRIPT, args);
}

/* ---- serving ---- */

static void test_health_reports_ok_memory_store_and_the_binary_version(void **state)
{
    test_statusd *f = *state;
    static const char *const args[] = {"--version", NULL};
    cli_run v;
    run_cli(args, NULL, &v);
    assert_exit_code(&v, 0);

    http_resp r;
    assert_int_equal(http_do(f->proc.port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    cJSON *h = test_body_json(&r);
    assert_string_equal(test_jstr(h, "status"), "ok");
    assert_string_equal(test_jstr(h, "store"), "memory");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(h, "fallback")));
    char expected[128];
    snprintf(expected, sizeof expected, "statusd %s\n", test_jstr(h, "version"));
    assert_string_equal(v.out, expected);
    const cJSON *uptime = cJSON_GetObjectItemCaseSensitive(h, "uptime_s");
    assert_true(cJSON_IsNumber(uptime));
    assert_true(uptime->valuedouble >= 0);
    assert_int_equal(cJSON_GetArraySize(h), 5);
    cJSON_Delete(h);
    http_resp_free(&r);
}

static void test_ready_answers_200_ready_true(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    assert_int_equal(http_do(f->proc.port, "GET", "/ready", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ready\":true}");
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    http_resp_free(&r);
}

static void test_second_instance_on_the_same_port_exits_1_naming_the_address(void **state)
{
    test_statusd *f = *state;
    char port[16];
    snprintf(port, sizeof port, "%u", f->proc.port);
    static const char *const binds[] = {"bind=127.0.0.1", "bind=0.0.0.0"};
    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {"--store", "memory", "--port", port, "--set", binds[i], NULL};
        cli_run r;
        run_cli(args, NULL, &r);
        assert_exit_code(&r, 1);
        char addr[64];
        snprintf(addr, sizeof addr, "%s:%u", binds[i] + 5, f->proc.port);
        if (strstr(r.err, addr) == NULL || strstr(r.err, "already in use") == NULL)
            fail_msg("expected a message naming %s as in use; stderr: %s", addr, r.err);
    }
    /* The first instance answers every request still: a session written
     * is read back each time (a second instance would answer 404 to
     * some). */
    http_resp r;
    test_call(f->proc.port, "PUT", "/sessions/one", "Content-Type: application/json\r\n",
              "{}", &r);
    assert_int_equal(r.status, 201);
    http_resp_free(&r);
    for (int i = 0; i < 20; i++) {
        test_call(f->proc.port, "GET", "/sessions/one", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
}

/* ---- signals ---- */

static void test_sigterm_refuses_new_work_while_a_job_drains_then_exits_0(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    char *id = submit_running(port, "{\"query\":\"drained\"}");
    assert_int_equal(kill(f->proc.pid, SIGTERM), 0);

    /* not ready, no new work; the running job is still served */
    assert_true(test_wait_until(ready_refused, &port, TEST_DEADLINE_MS));
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/ready", NULL, NULL, &r), 0);
    test_assert_problem(&r, 503, "shutting-down", NULL);
    http_resp_free(&r);
    assert_int_equal(http_do(port, "POST", "/research", NULL, "{\"query\":\"late\"}", &r), 0);
    test_assert_problem(&r, 503, "shutting-down", NULL);
    assert_string_equal(http_header(&r, "Retry-After"), "5");
    http_resp_free(&r);
    assert_int_equal(http_do(port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *h = test_body_json(&r);
    assert_string_equal(test_jstr(h, "status"), "draining");
    cJSON_Delete(h);
    http_resp_free(&r);
    char status[32];
    test_job_status(port, id, status, sizeof status);
    assert_string_equal(status, "processing");

    /* the job ends on its own: the drain waited for it */
    char *go = test_write_file(f->dir, "go", "", 0644);
    assert_non_null(go);
    free(go);
    assert_exited_0(&f->proc, wait_exit(&f->proc, 30000));
    char done[1024];
    snprintf(done, sizeof done, "%s/done", f->dir);
    assert_int_equal(access(done, F_OK), 0);
    assert_false(log_has(&f->proc, "stopped after drain_timeout"));
    free(id);
}

static void test_sigterm_lets_a_running_demo_job_finish_then_exits_0(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    char *id = submit_running(port, "{\"query\":\"finishes\"}");
    assert_int_equal(kill(f->proc.pid, SIGTERM), 0);

    /* Polls while the server still answers: the job is never cut short. */
    for (int64_t until = mono_ms() + TEST_DEADLINE_MS; mono_ms() < until;) {
        char status[32];
        test_job_status(port, id, status, sizeof status);
        if (status[0] == '\0')
            break;
        if (strcmp(status, "processing") != 0 && strcmp(status, "completed") != 0)
            fail_msg("job became %s during the drain", status);
        test_sleep_ms(20);
    }
    assert_exited_0(&f->proc, wait_exit(&f->proc, 30000));
    assert_false(log_has(&f->proc, "stopped after drain_timeout"));
    free(id);
}

static void test_sigterm_with_drain_timeout_0_stops_a_long_job_and_exits_0(void **state)
{
    test_statusd *f = *state;
    char *id = submit_running(f->proc.port, "{\"query\":\"fifteen seconds of work\"}");
    int64_t start = mono_ms();
    int st = statusd_stop(&f->proc, SIGTERM, 30000);
    int64_t took = mono_ms() - start;
    assert_exited_0(&f->proc, st);
    if (took >= 10000)
        fail_msg("exit took %lld ms with drain_timeout=0", (long long)took);
    assert_true(log_has(&f->proc, "stopped after drain_timeout"));
    free(id);
}

static void test_sigint_exits_0(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"interrupted\"}");
    assert_exited_0(&f->proc, statusd_stop(&f->proc, SIGINT, 30000));
    assert_true(log_has(&f->proc, "signal 2: shutting down"));
    free(id);
}

/* ---- the command line ---- */

static void test_check_config_prints_every_key_and_exits_0(void **state)
{
    (void)state;
    static const char *const args[] = {"--check-config", "--set", "demo_step_ms=123",
                                       "--set", "workers=3", "--set",
                                       "handler_resize=http://127.0.0.1:9/resize", NULL};
    cli_run r;
    run_cli(args, NULL, &r);
    assert_exit_code(&r, 0);
    static const char *const keys[] = {
        "bind", "port", "threads", "max_connections", "connection_timeout",
        "per_ip_connection_limit", "connection_memory_limit", "max_body", "store",
        "workers", "queue_capacity", "job_ttl", "job_max_age", "job_timeout",
        "job_kill_grace", "drain_timeout", "demo_step_ms", "handler_research",
        "log_level", "log_format"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n%s = ", keys[i]);
        bool first = strncmp(r.out, line + 1, strlen(line + 1)) == 0;
        if (!first && strstr(r.out, line) == NULL)
            fail_msg("--check-config does not print %s:\n%s", keys[i], r.out);
    }
    assert_non_null(strstr(r.out, "\ndemo_step_ms = 123 "));
    assert_non_null(strstr(r.out, "\nworkers = 3 "));
    assert_non_null(strstr(r.out, "\nhandler_research = builtin:demo "));
    assert_non_null(strstr(r.out, "\nhandler_resize = http://127.0.0.1:9/resize "));
}

/* The line --check-config printed for key, without its newline, into
 * line; fails the test when there is none. */
static void report_line(const cli_run *r, const char *key, char *line, size_t len)
{
    char start[80];
    snprintf(start, sizeof start, "\n%s = ", key);
    const char *at = strstr(r->out, start);
    if (at == NULL) {
        fail_msg("--check-config printed no line for %s:\n%s", key, r->out);
        return;
    }
    at++;
    snprintf(line, len, "%.*s", (int)strcspn(at, "\n"), at);
}

/* Asserts that key's line shows value, then (after spaces) # source. */
static void assert_reported(const cli_run *r, const char *key, const char *value,
                            const char *source)
{
    char line[512], head[256];
    report_line(r, key, line, sizeof line);
    snprintf(head, sizeof head, "%s = %s ", key, value);
    size_t n = strlen(head);
    const char *comment = line + n + strspn(line + n, " ");
    if (strncmp(line, head, n) != 0 || strncmp(comment, "# ", 2) != 0 ||
        strcmp(comment + 2, source) != 0)
        fail_msg("want '%s... # %s', got '%s'", head, source, line);
}

static void test_check_config_names_the_file_and_where_each_value_came_from(void **state)
{
    (void)state;
    char *dir = test_tempdir("statusd-conf");
    assert_non_null(dir);
    char *conf = test_write_file(dir, "site.conf",
                                 "# a site's settings\nworkers = 2\n\nqueue_capacity = 7\n",
                                 0644);
    assert_non_null(conf);
    const char *args[] = {"--config", conf, "--check-config", "--set", "demo_step_ms=123",
                          "--store", "memory", NULL};
    static const char *const env[] = {"STATUSD_QUEUE_CAPACITY=9", "PORT=9100", NULL};
    cli_run r;
    run_cli(args, env, &r);
    assert_exit_code(&r, 0);

    char first[700];
    snprintf(first, sizeof first, "# config file: %s\n", conf);
    if (strncmp(r.out, first, strlen(first)) != 0)
        fail_msg("want the first line '%s', got:\n%s", first, r.out);
    assert_reported(&r, "workers", "2", "file, line 2");
    assert_reported(&r, "queue_capacity", "9", "environment STATUSD_QUEUE_CAPACITY");
    assert_reported(&r, "port", "9100", "environment PORT");
    assert_reported(&r, "demo_step_ms", "123", "flag --set");
    assert_reported(&r, "store", "memory", "flag --store");
    assert_reported(&r, "threads", "4", "default");

    /* What it printed is a config file: loaded back, it gives the same. */
    char *again = test_write_file(dir, "again.conf", r.out, 0644);
    assert_non_null(again);
    const char *args2[] = {"--config", again, "--check-config", NULL};
    cli_run r2;
    run_cli(args2, NULL, &r2);
    assert_exit_code(&r2, 0);
    static const char *const keys[] = {"workers", "queue_capacity", "port", "demo_step_ms",
                                       "store", "threads", "handler_research"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char a[512], b[512];
        report_line(&r, keys[i], a, sizeof a);
        report_line(&r2, keys[i], b, sizeof b);
        a[strcspn(a, "#")] = '\0';
        b[strcspn(b, "#")] = '\0';
        assert_string_equal(a, b);
    }
    free(again);
    free(conf);
    test_rmdir(dir);
    free(dir);
}

static void test_check_config_from_the_checkout_reads_config_statusd_conf(void **state)
{
    (void)state;
    /* run_cli starts statusd in the checkout, as `make run` does. */
    static const char *const args[] = {"--check-config", NULL};
    cli_run r;
    run_cli(args, NULL, &r);
    assert_exit_code(&r, 0);
    const char *first = "# config file: config/statusd.conf (";
    if (strncmp(r.out, first, strlen(first)) != 0)
        fail_msg("want the first line to start '%s', got:\n%s", first, r.out);
    /* That file sets every key to its default: memory store (auto without
     * Redis), port 8080, the demo handler. */
    char line[512];
    report_line(&r, "port", line, sizeof line);
    assert_non_null(strstr(line, "port = 8080 "));
    assert_non_null(strstr(line, "# file, line "));
    report_line(&r, "store", line, sizeof line);
    assert_non_null(strstr(line, "store = auto "));
    report_line(&r, "handler_research", line, sizeof line);
    assert_non_null(strstr(line, "handler_research = builtin:demo "));
}

static void test_bad_config_value_exits_2_naming_the_key(void **state)
{
    (void)state;
    static const char *const workers[] = {"--set", "workers=abc", NULL};
    static const char *const port[] = {"--port", "70000", NULL};
    static const char *const unknown[] = {"--set", "no_such_key=1", NULL};
    static const char *const no_value[] = {"--set", "workers", NULL};
    const struct {
        const char *const *args;
        const char *named;
    } cases[] = {{workers, "workers"}, {port, "port"}, {unknown, "no_such_key"},
                 {no_value, "workers"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_run r;
        run_cli(cases[i].args, NULL, &r);
        assert_exit_code(&r, 2);
        if (strstr(r.err, cases[i].named) == NULL)
            fail_msg("stderr does not name %s: %s", cases[i].named, r.err);
        assert_string_equal(r.out, "");
    }
}

static void test_bad_kind_handler_exits_1_naming_the_key(void **state)
{
    (void)state;
    char port[16];
    snprintf(port, sizeof port, "%u", test_free_port());
    static const char *const cases[][2] = {
        {"handler_upload=external", "handler_upload: external is not supported"},
        {"handler_resize=ftp://app/resize", "handler_resize: unknown handler 'ftp://app/resize'"},
        {"handler_resize=http://exa mple/x", "handler_resize: 'http://exa mple/x' is not a "
                                             "usable URL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const args[] = {"--store", "memory", "--port", port, "--set",
                                    cases[i][0], NULL};
        cli_run r;
        run_cli(args, NULL, &r);
        assert_exit_code(&r, 1);
        if (strstr(r.err, cases[i][1]) == NULL)
            fail_msg("stderr does not say '%s': %s", cases[i][1], r.err);
    }
}

static void test_bad_environment_value_exits_2_naming_the_variable(void **state)
{
    (void)state;
    static const char *const args[] = {"--check-config", NULL};
    static const char *const env[] = {"STATUSD_WORKERS=many", NULL};
    cli_run r;
    run_cli(args, env, &r);
    assert_exit_code(&r, 2);
    assert_non_null(strstr(r.err, "STATUSD_WORKERS"));
}

static void test_bad_value_in_config_file_exits_2_naming_line_and_key(void **state)
{
    (void)state;
    char *dir = test_tempdir("statusd-conf");
    assert_non_null(dir);
    char *conf = test_write_file(dir, "bad.conf",
                                 "# a comment\nworkers = 2\nqueue_capacity = lots\n", 0644);
    assert_non_null(conf);
    const char *args[] = {"--config", conf, "--check-config", NULL};
    cli_run r;
    run_cli(args, NULL, &r);
    char where[700];
    snprintf(where, sizeof where, "%s:3", conf);
    free(conf);
    test_rmdir(dir);
    free(dir);
    assert_exit_code(&r, 2);
    assert_non_null(strstr(r.err, where));
    assert_non_null(strstr(r.err, "queue_capacity"));
}

static void test_version_prints_the_version_and_exits_0(void **state)
{
    (void)state;
    static const char *const args[] = {"--version", NULL};
    cli_run r;
    run_cli(args, NULL, &r);
    assert_exit_code(&r, 0);
    unsigned major, minor, patch;
    char nl = '\0';
    assert_int_equal(sscanf(r.out, "statusd %u.%u.%u%c", &major, &minor, &patch, &nl), 4);
    assert_int_equal(nl, '\n');
}

int main(void)
{
    const struct CMUnitTest serving[] = {
        cmocka_unit_test(test_health_reports_ok_memory_store_and_the_binary_version),
        cmocka_unit_test(test_ready_answers_200_ready_true),
        cmocka_unit_test(test_second_instance_on_the_same_port_exits_1_naming_the_address),
    };
    const struct CMUnitTest signals[] = {
        cmocka_unit_test_setup_teardown(
            test_sigterm_refuses_new_work_while_a_job_drains_then_exits_0, gated_drain_setup,
            test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_lets_a_running_demo_job_finish_then_exits_0,
                                        demo_drain_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigterm_with_drain_timeout_0_stops_a_long_job_and_exits_0, no_drain_setup,
            test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_sigint_exits_0, serving_setup, test_statusd_teardown),
    };
    const struct CMUnitTest cli[] = {
        cmocka_unit_test(test_check_config_prints_every_key_and_exits_0),
        cmocka_unit_test(test_check_config_names_the_file_and_where_each_value_came_from),
        cmocka_unit_test(test_check_config_from_the_checkout_reads_config_statusd_conf),
        cmocka_unit_test(test_bad_config_value_exits_2_naming_the_key),
        cmocka_unit_test(test_bad_kind_handler_exits_1_naming_the_key),
        cmocka_unit_test(test_bad_environment_value_exits_2_naming_the_variable),
        cmocka_unit_test(test_bad_value_in_config_file_exits_2_naming_line_and_key),
        cmocka_unit_test(test_version_prints_the_version_and_exits_0),
    };
    int failed = cmocka_run_group_tests_name("a serving instance", serving, serving_setup,
                                             test_statusd_teardown);
    failed += cmocka_run_group_tests_name("signals", signals, NULL, NULL);
    failed += cmocka_run_group_tests_name("command line", cli, NULL, NULL);
    return failed;
}
