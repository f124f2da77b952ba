/*
 * statusd's start-up against Redis: store = auto with a configured but
 * unreachable Redis falls back to memory loudly; store = redis with an
 * unreachable Redis, or a wrong password, exits non-zero within 5 s with
 * one error line and never shows the password; the right password (in a
 * URL or the legacy REDIS_* variables) works and is masked in
 * /health/store; a Redis whose maxmemory-policy may evict statusd's keys
 * gets a warning at start-up, noeviction none.
 *
 * Every statusd and redis-server is stopped by its pid in teardown. The
 * only bound on time is the 5 s in which a refused start must end.
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
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define EXIT_LIMIT_MS 5000
#define URL_PASSWORD "s3cretpw"
#define RIGHT_PASSWORD "Pa55-right-one"
#define WRONG_PASSWORD "Pa55-wrong-one"
#define LOG_MAX 65536

typedef struct fixture {
    test_redis redis;        /* pid 0 when not running */
    statusd_proc proc;       /* pid 0 when not running */
} fixture;

/* ---- fixtures ---- */

static int setup_with(void **state, const char *password, bool start_redis)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->redis.password = password;
    if (start_redis && test_redis_start(&f->redis) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int no_redis_setup(void **state) { return setup_with(state, NULL, false); }
static int redis_setup(void **state) { return setup_with(state, NULL, true); }
static int password_setup(void **state) { return setup_with(state, RIGHT_PASSWORD, true); }

/* Stops what still runs; the log of a statusd the test left running. */
static void proc_drop(statusd_proc *p)
{
    if (p->pid > 0)
        statusd_stop(p, SIGTERM, 15000);
    if (p->log_path[0] != '\0')
        remove(p->log_path);
    p->log_path[0] = '\0';
}

static int teardown(void **state)
{
    fixture *f = *state;
    proc_drop(&f->proc);
    test_redis_stop(&f->redis);
    free(f);
    *state = NULL;
    return 0;
}

/* ---- helpers ---- */

/* The whole file (at most LOG_MAX bytes) as a string; the caller frees. */
static char *file_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *text = malloc(LOG_MAX + 1);
    assert_non_null(text);
    size_t n = fread(text, 1, LOG_MAX, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* How many lines of a text-format log have this level; *first gets the
 * first such line's start (or NULL). */
static int lines_at_level(const char *log, const char *level, const char **first)
{
    int n = 0;
    *first = NULL;
    size_t llen = strlen(level);
    for (const char *line = log; *line != '\0';) {
        const char *end = strchr(line, '\n');
        const char *lvl = strchr(line, ' ');
        if (lvl != NULL && (end == NULL || lvl < end) && strncmp(lvl + 1, level, llen) == 0 &&
            lvl[1 + llen] == ' ') {
            if (n++ == 0)
                *first = line;
        }
        if (end == NULL)
            break;
        line = end + 1;
    }
    return n;
}

/* Asserts that the line starting at line contains text. */
static void assert_line_has(const char *line, const char *text)
{
    size_t len = strcspn(line, "\n");
    char *copy = strndup(line, len);
    assert_non_null(copy);
    if (strstr(copy, text) == NULL)
        fail_msg("log line '%s' does not contain '%s'", copy, text);
    free(copy);
}

static void assert_absent(const char *log, const char *secret)
{
    if (strstr(log, secret) != NULL)
        fail_msg("the log shows '%s':\n%s", secret, log);
}

/*
 * Runs statusd on a free port from the source directory with store =
 * redis and url as redis_url, stdout and stderr to a file, and waits up
 * to EXIT_LIMIT_MS for it to exit (SIGKILL after that, which fails the
 * test). Returns the wait status; *log gets the output (caller frees).
 */
static int run_to_exit(const char *url, char **log)
{
    const char *bin = getenv("SD_TEST_BIN");
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    assert_non_null(bin);
    assert_non_null(src);
    char *dir = test_tempdir("statusd-start");
    assert_non_null(dir);
    char log_path[600], port[16], url_set[300];
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    snprintf(port, sizeof port, "%u", test_free_port());
    snprintf(url_set, sizeof url_set, "redis_url=%s", url);
    const char *const argv[] = {bin, "--port", port, "--set", "bind=127.0.0.1",
                                "--store", "redis", "--set", url_set, NULL};
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if ((src != NULL && chdir(src) != 0) || dup2(fd, STDOUT_FILENO) < 0 ||
            dup2(fd, STDERR_FILENO) < 0)
            _exit(126);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fd);
    int st = 0;
    int64_t until = sd_mono_ms() + EXIT_LIMIT_MS;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && sd_mono_ms() < until)
        test_sleep_ms(10);
    bool late = w != pid;
    if (late) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    *log = file_text(log_path);
    test_rmdir(dir);
    free(dir);
    if (late)
        fail_msg("statusd still ran after %d ms; its log:\n%s", EXIT_LIMIT_MS, *log);
    return st;
}

/* Asserts the shape of a refused start: exit status not 0, exactly one
 * error line, which names the masked URL. */
static void assert_refused(int st, const char *log, const char *masked_url)
{
    if (!WIFEXITED(st) || WEXITSTATUS(st) == 0)
        fail_msg("statusd ended with wait status %d; its log:\n%s", st, log);
    const char *line = NULL;
    if (lines_at_level(log, "error", &line) != 1)
        fail_msg("expected one error line in:\n%s", log);
    assert_line_has(line, masked_url);
    assert_null(strstr(log, "listening"));
}

/* Starts statusd into f->proc with args (and env, may be NULL). */
static void start(fixture *f, const char *const *args, const char *const *env)
{
    assert_int_equal(statusd_start(&f->proc, args, env), 0);
}

/* Stops f->proc with SIGTERM, asserts exit status 0, returns its log
 * (the caller frees) and removes the file. */
static char *stop(fixture *f)
{
    int st = statusd_stop(&f->proc, SIGTERM, 15000);
    char *log = file_text(f->proc.log_path);
    if (st != 0)
        fail_msg("statusd ended with wait status %d; its log:\n%s", st, log);
    proc_drop(&f->proc);
    return log;
}

/* GET /health/store; asserts 200 and returns the body (caller frees). */
static cJSON *health_store(unsigned port)
{
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/health/store", NULL, NULL, &r), 0);
    if (r.status != 200)
        fail_msg("GET /health/store: %d %s", r.status, r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    http_resp_free(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "connected")));
    assert_string_equal(test_jstr(v, "test_operation"), "ok");
    return v;
}

/* ---- store = auto ---- */

static void test_auto_with_unreachable_redis_runs_on_memory_with_a_warning(void **state)
{
    fixture *f = *state;
    char url[128];
    unsigned closed = test_free_port();
    snprintf(url, sizeof url, "redis_url=redis://:" URL_PASSWORD "@127.0.0.1:%u/0", closed);
    const char *const args[] = {"--store", "auto", "--set", url, "--set", "demo_step_ms=0",
                                NULL};
    start(f, args, NULL);
    unsigned port = f->proc.port;

    http_resp r;
    assert_int_equal(http_do(port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "store"), "memory");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "fallback")));
    cJSON_Delete(v);
    http_resp_free(&r);
    v = health_store(port);
    assert_string_equal(test_jstr(v, "backend"), "memory");
    assert_true(test_jnull(v, "url"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "fallback")));
    cJSON_Delete(v);
    char *id = test_submit_job(port, "{\"query\":\"on memory\"}");
    cJSON_Delete(test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS));
    free(id);

    char *log = stop(f);
    const char *line = NULL;
    assert_int_equal(lines_at_level(log, "warn", &line), 1);
    assert_line_has(line, "WARNING");
    assert_line_has(line, "MEMORY");
    char masked[96];
    snprintf(masked, sizeof masked, "redis://:***@127.0.0.1:%u/0", closed);
    assert_line_has(line, masked);
    assert_absent(log, URL_PASSWORD);
    free(log);
}

/* ---- store = redis refusing to start ---- */

static void test_redis_store_with_unreachable_redis_exits_nonzero_in_one_line(void **state)
{
    (void)state;
    unsigned closed = test_free_port();
    char url[128], masked[96];
    snprintf(url, sizeof url, "redis://:" URL_PASSWORD "@127.0.0.1:%u/0", closed);
    snprintf(masked, sizeof masked, "redis://:***@127.0.0.1:%u/0", closed);
    char *log = NULL;
    int st = run_to_exit(url, &log);
    assert_refused(st, log, masked);
    assert_absent(log, URL_PASSWORD);
    free(log);
}

static void test_password_server_takes_the_right_password_and_refuses_others(void **state)
{
    fixture *f = *state;
    unsigned rport = f->redis.port;
    char url[128], masked[96], port_env[32];
    snprintf(masked, sizeof masked, "redis://:***@127.0.0.1:%u/0", rport);

    /* The right password in the URL: jobs run, the URL is masked. */
    snprintf(url, sizeof url, "redis_url=redis://:" RIGHT_PASSWORD "@127.0.0.1:%u/0", rport);
    const char *const args[] = {"--store", "redis", "--set", url, "--set", "demo_step_ms=0",
                                NULL};
    start(f, args, NULL);
    cJSON *v = health_store(f->proc.port);
    assert_string_equal(test_jstr(v, "backend"), "redis");
    assert_string_equal(test_jstr(v, "url"), masked);
    cJSON_Delete(v);
    char *id = test_submit_job(f->proc.port, "{\"query\":\"with auth\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "completed", 100, TEST_DEADLINE_MS));
    free(id);
    char *log = stop(f);
    assert_absent(log, RIGHT_PASSWORD);
    free(log);

    /* The same through the legacy variables. */
    snprintf(port_env, sizeof port_env, "REDIS_PORT=%u", rport);
    const char *const env[] = {"REDIS_HOST=127.0.0.1", port_env,
                               "REDIS_PASSWORD=" RIGHT_PASSWORD, NULL};
    const char *const redis_only[] = {"--store", "redis", NULL};
    start(f, redis_only, env);
    v = health_store(f->proc.port);
    assert_string_equal(test_jstr(v, "url"), masked);
    cJSON_Delete(v);
    log = stop(f);
    assert_absent(log, RIGHT_PASSWORD);
    free(log);

    /* A wrong password, and none: refused, neither password shown. */
    static const char *const userinfo[] = {":" WRONG_PASSWORD "@", ""};
    for (size_t i = 0; i < sizeof userinfo / sizeof *userinfo; i++) {
        snprintf(url, sizeof url, "redis://%s127.0.0.1:%u/0", userinfo[i], rport);
        snprintf(masked, sizeof masked, "redis://%s127.0.0.1:%u/0",
                 userinfo[i][0] != '\0' ? ":***@" : "", rport);
        int st = run_to_exit(url, &log);
        assert_refused(st, log, masked);
        assert_absent(log, WRONG_PASSWORD);
        assert_absent(log, RIGHT_PASSWORD);
        free(log);
    }
}

/* ---- maxmemory-policy ---- */

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

/* The log of a statusd started on f->redis with this maxmemory-policy
 * and stopped again (the caller frees it). */
static char *log_with_policy(fixture *f, const char *policy)
{
    /* With a memory limit, so the policy is one Redis would act on. */
    redis_config_set(&f->redis, "maxmemory", "268435456");
    redis_config_set(&f->redis, "maxmemory-policy", policy);
    char url[128];
    snprintf(url, sizeof url, "redis_url=redis://127.0.0.1:%u/0", f->redis.port);
    const char *const args[] = {"--store", "redis", "--set", url, NULL};
    start(f, args, NULL);
    return stop(f);
}

static void test_evicting_maxmemory_policy_is_warned_about_at_start(void **state)
{
    fixture *f = *state;
    static const char *const evicting[] = {"allkeys-lru", "volatile-ttl"};
    for (size_t i = 0; i < sizeof evicting / sizeof *evicting; i++) {
        char *log = log_with_policy(f, evicting[i]);
        const char *line = NULL;
        int warnings = lines_at_level(log, "warn", &line);
        if (warnings != 1 || strstr(line, "maxmemory-policy") == NULL)
            fail_msg("maxmemory-policy %s: expected one warning naming maxmemory-policy "
                     "in:\n%s", evicting[i], log);
        assert_line_has(line, evicting[i]);
        assert_line_has(line, "noeviction");
        free(log);
    }
    char *log = log_with_policy(f, "noeviction");
    assert_null(strstr(log, "maxmemory-policy"));
    const char *line = NULL;
    assert_int_equal(lines_at_level(log, "warn", &line), 0);
    free(log);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_auto_with_unreachable_redis_runs_on_memory_with_a_warning, no_redis_setup,
            teardown),
        cmocka_unit_test(test_redis_store_with_unreachable_redis_exits_nonzero_in_one_line),
        cmocka_unit_test_setup_teardown(
            test_password_server_takes_the_right_password_and_refuses_others, password_setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_evicting_maxmemory_policy_is_warned_about_at_start, redis_setup, teardown),
    };
    return cmocka_run_group_tests_name("redis_startup", tests, NULL, NULL);
}
