/*
 * Job handlers driven directly, without HTTP: exec with small /bin/sh
 * programs written into a temporary directory at setup (the handler
 * itself never uses a shell), builtin:demo, spec parsing and the outcome
 * helpers. Cancels are sent from another thread once the run has
 * reported; time appears only as job timeouts and as liveness bounds on
 * waits that a correct handler ends long before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "jobs/handlers.h"
#include "proc.h"
#include "statusd/handler.h"
#include "statusd/util.h"

#define JOB_ID "6f1d2c3b-9a8e-4f7d-b6c5-a4e3d2c1b0a9"
#define LIVENESS_MS 30000   /* bound on any wait; reached only on a bug */
#define REPORTS_MAX 32

typedef struct report {
    int progress;
    char stage[64];         /* "" for NULL */
} report;

typedef struct fixture {
    char *dir;
    sd_handler *h;
    sd_handler_opts opts;
    atomic_int cancel;
    int cancel_value;               /* what cancel_after_report stores */
    pthread_mutex_t lock;
    pthread_cond_t reported;
    size_t nreports;
    report reports[REPORTS_MAX];
    sd_outcome out;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || (f->dir = test_tempdir("sd-exec")) == NULL)
        return -1;
    f->opts = (sd_handler_opts){.demo_step_ms = 0, .kill_grace_ms = 200};
    f->cancel_value = SD_RUN_CANCEL;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->reported, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sd_handler_free(f->h);
    sd_outcome_clear(&f->out);
    test_rmdir(f->dir);
    free(f->dir);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->reported);
    free(f);
    return 0;
}

static void record(void *arg, int progress, const char *stage)
{
    fixture *f = arg;
    pthread_mutex_lock(&f->lock);
    if (f->nreports < REPORTS_MAX) {
        report *r = &f->reports[f->nreports++];
        r->progress = progress;
        snprintf(r->stage, sizeof r->stage, "%s", stage != NULL ? stage : "");
    }
    pthread_cond_broadcast(&f->reported);
    pthread_mutex_unlock(&f->lock);
}

static void assert_report(const fixture *f, size_t i, int progress, const char *stage)
{
    assert_true(i < f->nreports);
    assert_int_equal(f->reports[i].progress, progress);
    assert_string_equal(f->reports[i].stage, stage);
}

/* Writes the program `name` (a /bin/sh script body) and builds the exec
 * handler "exec:<path> <args>" into f->h. */
static void make_exec(fixture *f, const char *name, const char *body, const char *args)
{
    sd_buf text = SD_BUF_INIT;
    sd_buf_printf(&text, "#!/bin/sh\n%s\n", body);
    assert_true(sd_buf_ok(&text));
    char *path = test_write_file(f->dir, name, text.data, 0755);
    assert_non_null(path);
    sd_buf spec = SD_BUF_INIT;
    sd_buf_printf(&spec, "exec:%s %s", path, args != NULL ? args : "");
    char err[256] = "";
    assert_int_equal(sd_handler_new(spec.data, &f->opts, &f->h, err, sizeof err), SD_OK);
    assert_string_equal(err, "");
    sd_buf_free(&spec);
    sd_buf_free(&text);
    free(path);
}

static void make_demo(fixture *f)
{
    char err[256];
    assert_int_equal(sd_handler_new("builtin:demo", &f->opts, &f->h, err, sizeof err), SD_OK);
}

/* Runs one job with f->h; the outcome lands in f->out. */
static sd_err run_job_as(fixture *f, const char *id, const char *input, size_t len,
                         int64_t timeout_ms, sd_outcome *out)
{
    sd_job_run job = {
        .id = id, .kind = "research", .input = input, .input_len = len,
        .timeout_ms = timeout_ms, .cancel = &f->cancel,
        .report = record, .report_arg = f,
    };
    return sd_handler_run(f->h, &job, out);
}

static sd_err run_job(fixture *f, const char *input, int64_t timeout_ms)
{
    return run_job_as(f, JOB_ID, input, strlen(input), timeout_ms, &f->out);
}

/* Thread: waits for the first report, then sets the cancel flag. */
static void *cancel_after_report(void *arg)
{
    fixture *f = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += LIVENESS_MS / 1000;
    pthread_mutex_lock(&f->lock);
    while (f->nreports == 0 &&
           pthread_cond_timedwait(&f->reported, &f->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&f->lock);
    atomic_store(&f->cancel, f->cancel_value);
    return NULL;
}

/* Runs a job while another thread cancels it after its first report. */
static sd_err run_job_canceled(fixture *f, const char *input)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_after_report, f), 0);
    sd_err rc = run_job(f, input, 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    return rc;
}

static void assert_failed(const sd_outcome *o, const char *code, const char *message)
{
    assert_int_equal(o->kind, SD_OUTCOME_FAILED);
    assert_string_equal(o->error_code, code);
    assert_non_null(o->error_message);
    assert_string_equal(o->error_message, message);
    assert_null(o->result);
}

/* The contents of dir/name as a string (caller frees), or NULL. */
static char *read_text(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    char *text = calloc(1, 4096);
    size_t n = text != NULL ? fread(text, 1, 4095, fp) : 0;
    (void)n;
    fclose(fp);
    return text;
}

/* The pid a program wrote to dir/name. */
static pid_t read_pid(const fixture *f, const char *name)
{
    char *text = read_text(f->dir, name);
    assert_non_null(text);
    text[strcspn(text, "\n")] = '\0';
    int64_t pid = 0;
    assert_int_equal(sd_parse_i64(text, 1, INT32_MAX, &pid), SD_OK);
    free(text);
    return (pid_t)pid;
}

/* test_wait_until condition: the process is gone or a zombie no one reaps
 * (an orphan's parent in a container may never reap it). */
static bool process_gone(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return true;
    size_t n = fread(stat, 1, sizeof stat - 1, fp);
    fclose(fp);
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')');
    return paren == NULL || paren[1] == '\0' || paren[2] == 'Z';
}

/* ---- exec: how runs end ---- */

static void test_exec_reports_progress_and_completes_with_last_result(void **state)
{
    fixture *f = *state;
    make_exec(f, "report.sh",
              "cat >/dev/null\n"
              "echo 'plain output is skipped'\n"
              "echo '{\"progress\": 10, \"stage\": \"fetching\"}'\n"
              "echo '{\"result\": {\"first\": true}}'\n"
              "echo '{\"progress\": 150, \"stage\": \"bogus\"}'\n"
              "echo '[{\"progress\": 20}]'\n"
              "echo '{\"stage\": \"writing\"}'\n"
              "echo '{\"progress\": 90, \"stage\": null}'\n"
              "printf '%s' '{\"result\": {\"answer\": 42, \"text\": \"a \\\"b\\\"\"}}'",
              NULL);
    assert_int_equal(run_job(f, "{\"query\": \"q\"}", 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, "{\"answer\":42,\"text\":\"a \\\"b\\\"\"}");
    assert_null(f->out.error_message);
    assert_int_equal(f->nreports, 3);
    assert_report(f, 0, 10, "fetching");
    assert_report(f, 1, -1, "writing");
    assert_report(f, 2, 90, "");
}

static void test_exec_exit_zero_without_result_completes_with_null(void **state)
{
    fixture *f = *state;
    make_exec(f, "quiet.sh", "echo 'no protocol here'", NULL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_null(f->out.result);
    assert_int_equal(f->nreports, 0);
}

static void test_exec_nonzero_exit_fails_with_stderr_tail(void **state)
{
    fixture *f = *state;
    make_exec(f, "fail.sh",
              "echo '  warming up' >&2\n"
              "echo '{\"progress\": 5, \"result\": 1}'\n"
              "printf 'could not reach \\377 the model\\n\\n' >&2\n"
              "exit 3",
              NULL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    /* The invalid byte becomes U+FFFD; surrounding space is trimmed. */
    assert_failed(&f->out, "handler_failed",
                  "warming up\ncould not reach \xEF\xBF\xBD the model");
    assert_int_equal(f->nreports, 1);
}

static void test_exec_nonzero_exit_with_empty_stderr_gives_the_status(void **state)
{
    fixture *f = *state;
    make_exec(f, "exit7.sh", "exit 7", NULL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_failed(&f->out, "handler_failed", "exited with status 7");
}

static void test_exec_death_by_signal_gives_the_signal(void **state)
{
    fixture *f = *state;
    make_exec(f, "killed.sh", "kill -KILL $$", NULL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_failed(&f->out, "handler_failed", "killed by signal 9");
}

static void test_exec_timeout_fails_whatever_the_program_did(void **state)
{
    fixture *f = *state;
    make_exec(f, "slow.sh",
              "echo '{\"progress\": 1}'\n"
              "sleep 60\n"
              "echo '{\"result\": \"too late\"}'",
              NULL);
    assert_int_equal(run_job(f, "{}", 300), SD_OK);
    assert_failed(&f->out, "timeout", "job exceeded job_timeout of 0.3 s");
}

static void test_exec_timeout_kills_a_program_that_ignores_sigterm(void **state)
{
    fixture *f = *state;
    char args[600];
    snprintf(args, sizeof args, "'%s/stubborn.pid'", f->dir);
    make_exec(f, "stubborn.sh",
              "trap '' TERM\n"
              "echo $$ > \"$1\"\n"
              "echo '{\"progress\": 1}'\n"
              "while :; do sleep 0.05; done",
              args);
    assert_int_equal(run_job(f, "{}", 300), SD_OK);
    assert_failed(&f->out, "timeout", "job exceeded job_timeout of 0.3 s");
    /* The handler reaped it: no such process (or, were the pid reused,
     * not ours). */
    assert_true(kill(read_pid(f, "stubborn.pid"), 0) != 0 || errno == EPERM);
}

static void test_exec_cancel_after_first_report_ends_canceled(void **state)
{
    fixture *f = *state;
    make_exec(f, "wait.sh", "echo '{\"progress\": 1}'\nexec sleep 60", NULL);
    assert_int_equal(run_job_canceled(f, "{}"), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
    assert_null(f->out.result);
    assert_null(f->out.error_message);
}

static void test_exec_shutdown_flag_also_ends_canceled(void **state)
{
    fixture *f = *state;
    f->cancel_value = SD_RUN_SHUTDOWN;
    make_exec(f, "wait.sh", "echo '{\"stage\": \"waiting\"}'\nexec sleep 60", NULL);
    assert_int_equal(run_job_canceled(f, "{}"), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
}

static void test_exec_cancel_kills_grandchildren(void **state)
{
    fixture *f = *state;
    char args[600];
    snprintf(args, sizeof args, "'%s/grandchild.pid'", f->dir);
    make_exec(f, "spawner.sh",
              "sleep 1000 >/dev/null 2>&1 &\n"
              "echo $! > \"$1\"\n"
              "echo '{\"progress\": 1}'\n"
              "wait",
              args);
    assert_int_equal(run_job_canceled(f, "{}"), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
    pid_t p = read_pid(f, "grandchild.pid");
    assert_true(test_wait_until(process_gone, &p, LIVENESS_MS));
}

static void test_exec_leftovers_holding_stdout_are_killed_at_exit(void **state)
{
    fixture *f = *state;
    char args[600];
    snprintf(args, sizeof args, "'%s/leftover.pid'", f->dir);
    /* The background sleep keeps stdout open after the program exits. */
    make_exec(f, "leave.sh",
              "sleep 1000 &\n"
              "echo $! > \"$1\"\n"
              "echo '{\"result\": \"left one behind\"}'",
              args);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, "\"left one behind\"");
    pid_t p = read_pid(f, "leftover.pid");
    assert_true(test_wait_until(process_gone, &p, LIVENESS_MS));
}

/* A program that starts a process in a session of its own (setsid: out of
 * the job's process group) and exits, or is canceled: the process ends
 * with the job all the same. The program waits until the process leads
 * its own session (field 6 of /proc/<pid>/stat), so that it has left the
 * group before the group is killed. */
#define ESCAPED_WAIT \
    "until [ \"$(cut -d' ' -f6 /proc/$!/stat)\" = \"$!\" ]; do sleep 0.01; done\n"

static void test_exec_setsid_grandchild_ends_when_the_job_ends(void **state)
{
    fixture *f = *state;
    char args[600];
    snprintf(args, sizeof args, "'%s/escaped.pid'", f->dir);
    make_exec(f, "escape.sh",
              "setsid sleep 300 >/dev/null 2>&1 </dev/null &\n"
              "echo $! > \"$1\"\n"
              ESCAPED_WAIT
              "echo '{\"result\": \"escaped\"}'",
              args);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    pid_t p = read_pid(f, "escaped.pid");
    bool gone = test_wait_until(process_gone, &p, 5000);
    kill(p, SIGKILL);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, "\"escaped\"");
    assert_true(gone);
}

static void test_exec_setsid_grandchild_ends_when_the_job_is_canceled(void **state)
{
    fixture *f = *state;
    char args[600];
    snprintf(args, sizeof args, "'%s/escaped.pid'", f->dir);
    make_exec(f, "escape.sh",
              "setsid sh -c 'sleep 300; sleep 300' >/dev/null 2>&1 </dev/null &\n"
              "echo $! > \"$1\"\n"
              ESCAPED_WAIT
              "echo '{\"progress\": 1}'\n"
              "sleep 300",
              args);
    assert_int_equal(run_job_canceled(f, "{}"), SD_OK);
    pid_t p = read_pid(f, "escaped.pid");
    bool gone = test_wait_until(process_gone, &p, 5000);
    kill(p, SIGKILL);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
    assert_true(gone);
}

static void test_exec_canceled_before_start_runs_nothing(void **state)
{
    fixture *f = *state;
    make_exec(f, "marker.sh", "touch \"$0.ran\"", NULL);
    atomic_store(&f->cancel, SD_RUN_CANCEL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
    char *ran = read_text(f->dir, "marker.sh.ran");
    assert_null(ran);
}

/* ---- exec: input, environment, output ---- */

/* {"query":"<n bytes of letters>","params":{}}, compact; caller frees. */
static char *big_input(size_t n)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"query\":\"");
    for (size_t i = 0; i < n; i++)
        sd_buf_putc(&b, (char)('a' + (i * 7 + i / 26) % 26));
    sd_buf_puts(&b, "\",\"params\":{}}");
    assert_true(sd_buf_ok(&b));
    return sd_buf_steal(&b, NULL);
}

static void test_exec_input_larger_than_a_pipe_is_delivered_intact(void **state)
{
    fixture *f = *state;
    make_exec(f, "echo.sh", "printf '{\"result\": '\ncat\nprintf '}\\n'", NULL);
    char *input = big_input(300 * 1024);
    assert_int_equal(run_job(f, input, 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_non_null(f->out.result);
    assert_int_equal(strlen(f->out.result), strlen(input));
    assert_string_equal(f->out.result, input);
    free(input);
}

static void test_exec_input_length_is_seen_by_the_program(void **state)
{
    fixture *f = *state;
    make_exec(f, "count.sh", "echo \"{\\\"result\\\": $(wc -c)}\"", NULL);
    char *input = big_input(200 * 1024 + 1);
    assert_int_equal(run_job(f, input, 0), SD_OK);
    char want[32];
    snprintf(want, sizeof want, "%zu", strlen(input));
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, want);
    free(input);
}

static void test_exec_program_that_never_reads_stdin_still_completes(void **state)
{
    fixture *f = *state;
    make_exec(f, "deaf.sh", "echo '{\"result\": \"ignored the input\"}'", NULL);
    char *input = big_input(1024 * 1024);
    /* The test process keeps SIGPIPE at its default: a write to the
     * exited program must not kill it. */
    assert_int_equal(run_job(f, input, 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, "\"ignored the input\"");
    free(input);
}

static void test_exec_program_sees_job_id_and_kind(void **state)
{
    fixture *f = *state;
    make_exec(f, "env.sh",
              "printf '{\"result\": [\"%s\", \"%s\"]}\\n' \"$STATUSD_JOB_ID\" \"$STATUSD_JOB_KIND\"",
              NULL);
    /* A value already in statusd's environment is replaced, not doubled. */
    assert_int_equal(setenv("STATUSD_JOB_ID", "stale", 1), 0);
    sd_err rc = run_job(f, "{}", 0);
    unsetenv("STATUSD_JOB_ID");
    assert_int_equal(rc, SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result, "[\"" JOB_ID "\",\"research\"]");
}

/* The program's environment, one "NAME=value" a line, sorted. */
static char *program_environment(fixture *f)
{
    char *text = read_text(f->dir, "env.txt");
    assert_non_null(text);
    return text;
}

static void test_exec_environment_is_the_base_and_handler_env_only(void **state)
{
    fixture *f = *state;
    static const char *const secrets[][2] = {
        {"API_TOKEN", "api-token-0123456789abcdef"},
        {"STATUSD_ADMIN_TOKEN", "admin-token-0123456789abcdef"},
        {"STATUSD_API_TOKEN", "api-token-0123456789abcdef"},
        {"REDIS_PASSWORD", "hunter2"},
        {"REDIS_URL", "redis://:hunter2@cache:6379/0"},
        {"STATUSD_REDIS_URL", "redis://:hunter2@cache:6379/0"},
        {"UNRELATED", "not for handlers"},
    };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        assert_int_equal(setenv(secrets[i][0], secrets[i][1], 1), 0);
    assert_int_equal(setenv("PASS_ME", "passed", 1), 0);
    assert_int_equal(setenv("LANG", "C.UTF-8", 1), 0);
    assert_int_equal(setenv("TZ", "UTC", 1), 0);
    assert_int_equal(setenv("HOME", "/home/statusd", 1), 0);
    assert_int_equal(setenv("PATH", "/usr/bin:/bin", 1), 0);
    /* A handler_env name repeating a job variable does not replace it. */
    assert_int_equal(setenv("STATUSD_JOB_ID", "stale", 1), 0);
    f->opts.env_pass = "PASS_ME, NOT_SET_ANYWHERE, STATUSD_JOB_ID";
    char args[600];
    snprintf(args, sizeof args, "'%s'", f->dir);
    make_exec(f, "env.sh",
              "tr '\\000' '\\n' < /proc/$$/environ | LC_ALL=C sort > \"$1/env.txt\"", args);
    sd_job_run job = {.id = JOB_ID, .kind = "research", .attempt = 2, .input = "{}",
                      .input_len = 2, .cancel = &f->cancel};
    sd_err rc = sd_handler_run(f->h, &job, &f->out);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        unsetenv(secrets[i][0]);
    unsetenv("PASS_ME");
    unsetenv("STATUSD_JOB_ID");
    assert_int_equal(rc, SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    char *env = program_environment(f);
    assert_string_equal(env, "HOME=/home/statusd\n"
                             "LANG=C.UTF-8\n"
                             "PASS_ME=passed\n"
                             "PATH=/usr/bin:/bin\n"
                             "STATUSD_ATTEMPT=2\n"
                             "STATUSD_JOB_ID=" JOB_ID "\n"
                             "STATUSD_JOB_KIND=research\n"
                             "TZ=UTC\n");
    free(env);
}

static void test_exec_environment_without_path_gets_a_default_path(void **state)
{
    fixture *f = *state;
    char *saved = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
    char *home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
    char args[600];
    snprintf(args, sizeof args, "'%s'", f->dir);
    make_exec(f, "env.sh", "/usr/bin/tr '\\000' '\\n' < /proc/$$/environ > \"$1/env.txt\"",
              args);
    unsetenv("PATH");
    unsetenv("HOME");
    sd_err rc = run_job(f, "{}", 0);
    if (saved != NULL)
        setenv("PATH", saved, 1);
    if (home != NULL)
        setenv("HOME", home, 1);
    free(saved);
    free(home);
    assert_int_equal(rc, SD_OK);
    char *env = program_environment(f);
    assert_non_null(strstr(env, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
    assert_null(strstr(env, "HOME="));
    assert_non_null(strstr(env, "STATUSD_ATTEMPT=1\n"));
    free(env);
}

static void test_exec_line_over_1_mib_is_skipped(void **state)
{
    fixture *f = *state;
    make_exec(f, "long.sh",
              "printf '{\"result\": \"'\n"
              "head -c 1100000 /dev/zero | tr '\\000' x\n"
              "printf '\"}\\n'\n"
              "echo '{\"progress\": 50}'",
              NULL);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_null(f->out.result);
    assert_int_equal(f->nreports, 1);
    assert_report(f, 0, 50, "");
}

typedef struct parallel_run {
    fixture *f;
    char id[SD_UUID_LEN + 1];
    sd_err rc;
    sd_outcome out;
} parallel_run;

static void *run_parallel(void *arg)
{
    parallel_run *p = arg;
    p->rc = run_job_as(p->f, p->id, p->id, strlen(p->id), 0, &p->out);
    return NULL;
}

/* Orphans are reaped, but never a program a run is waiting for: many
 * short runs at once, each leaving an orphan that exits by itself, all
 * keep their own exit status. */
static void test_exec_reaping_orphans_keeps_every_run_s_exit_status(void **state)
{
    fixture *f = *state;
    make_exec(f, "status.sh",
              "setsid sh -c 'exit 0' &\n"
              "(sleep 0.01; exit 3) &\n"
              "echo oops >&2\n"
              "exit 7",
              NULL);
    enum { RUNS = 8 };
    parallel_run runs[RUNS];
    pthread_t t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        memset(&runs[i], 0, sizeof runs[i]);
        runs[i].f = f;
        sd_uuid_new(runs[i].id);
        assert_int_equal(pthread_create(&t[i], NULL, run_parallel, &runs[i]), 0);
    }
    for (int i = 0; i < RUNS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(runs[i].rc, SD_OK);
        assert_int_equal(runs[i].out.kind, SD_OUTCOME_FAILED);
        assert_string_equal(runs[i].out.error_code, "handler_failed");
        assert_string_equal(runs[i].out.error_message, "oops");
        sd_outcome_clear(&runs[i].out);
    }
}

static void test_exec_concurrent_runs_stay_apart(void **state)
{
    fixture *f = *state;
    make_exec(f, "both.sh",
              "n=$(wc -c)\n"
              "echo '{\"progress\": 50}'\n"
              "printf '{\"result\": [\"%s\", %d]}\\n' \"$STATUSD_JOB_ID\" \"$n\"",
              NULL);
    enum { RUNS = 8 };
    parallel_run runs[RUNS];
    pthread_t threads[RUNS];
    for (int i = 0; i < RUNS; i++) {
        memset(&runs[i], 0, sizeof runs[i]);
        runs[i].f = f;
        sd_uuid_new(runs[i].id);
        assert_int_equal(pthread_create(&threads[i], NULL, run_parallel, &runs[i]), 0);
    }
    for (int i = 0; i < RUNS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        char want[64];
        snprintf(want, sizeof want, "[\"%s\",%d]", runs[i].id, SD_UUID_LEN);
        assert_int_equal(runs[i].rc, SD_OK);
        assert_int_equal(runs[i].out.kind, SD_OUTCOME_COMPLETED);
        assert_string_equal(runs[i].out.result, want);
        sd_outcome_clear(&runs[i].out);
    }
    assert_int_equal(f->nreports, RUNS);
}

static void test_exec_program_gone_at_run_time_fails_to_spawn(void **state)
{
    fixture *f = *state;
    make_exec(f, "vanish.sh", "exit 0", NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/vanish.sh", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(run_job(f, "{}", 0), SD_ERR_INTERNAL);
    char want[600];
    snprintf(want, sizeof want, "cannot start %s: No such file or directory", path);
    assert_failed(&f->out, "spawn_failed", want);
}

/* ---- specs ---- */

static void test_spec_quotes_group_words(void **state)
{
    fixture *f = *state;
    char *path = test_write_file(f->dir, "args.sh",
                                 "#!/bin/sh\nfor a in \"$@\"; do printf '%s|\\n' \"$a\"; done >&2\n"
                                 "exit 1\n", 0755);
    assert_non_null(path);
    char spec[800], err[256];
    snprintf(spec, sizeof spec,
             "exec:%s  plain\t'single \"q\" \\n' \"double \\\"esc\\\" \\\\ \\n\" a\"b c\"d ''",
             path);
    free(path);
    assert_int_equal(sd_handler_new(spec, &f->opts, &f->h, err, sizeof err), SD_OK);
    assert_int_equal(run_job(f, "{}", 0), SD_OK);
    assert_failed(&f->out, "handler_failed",
                  "plain|\nsingle \"q\" \\n|\ndouble \"esc\" \\ \\n|\nab cd|\n|");
}

static void test_spec_errors_name_the_reason(void **state)
{
    fixture *f = *state;
    char *plain = test_write_file(f->dir, "plain.txt", "not a program\n", 0644);
    assert_non_null(plain);
    char missing[512], not_exec[600], dir_spec[600];
    snprintf(missing, sizeof missing, "exec:%s/nope", f->dir);
    snprintf(not_exec, sizeof not_exec, "exec:%s", plain);
    snprintf(dir_spec, sizeof dir_spec, "exec:%s", f->dir);
    char want_missing[600], want_not_exec[700], want_dir[700];
    snprintf(want_missing, sizeof want_missing,
             "exec program '%s/nope': No such file or directory", f->dir);
    snprintf(want_not_exec, sizeof want_not_exec,
             "exec program '%s' is not executable: Permission denied", plain);
    snprintf(want_dir, sizeof want_dir, "exec program '%s' is not a regular file", f->dir);
    const struct {
        const char *spec, *reason;
    } cases[] = {
        {"exec:bin/tool --x", "exec program 'bin/tool' is not an absolute path"},
        {missing, want_missing},
        {not_exec, want_not_exec},
        {dir_spec, want_dir},
        {"exec:/bin/sh \"-c", "handler spec has an unterminated \" quote"},
        {"exec:/bin/sh 'x", "handler spec has an unterminated ' quote"},
        {"exec:/bin/sh \"a\\\"", "handler spec has an unterminated \" quote"},
        {"exec: \t ", "handler spec names no program"},
        {"builtin:nope", "unknown builtin handler 'nope' (known: demo)"},
        {"shell:ls", "unknown handler 'shell:ls' (expected builtin:demo, "
                     "exec:/path/to/program, http(s)://url or external)"},
        {"", "unknown handler '' (expected builtin:demo, exec:/path/to/program, "
             "http(s)://url or external)"},
        {"http://exa mple.com/run", "'http://exa mple.com/run' is not a usable URL"},
        {"https://", "'https://' is not a usable URL"},
        {"externally", "unknown handler 'externally' (expected builtin:demo, "
                       "exec:/path/to/program, http(s)://url or external)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        sd_handler *h = (sd_handler *)&err; /* must be reset to NULL */
        assert_int_equal(sd_handler_new(cases[i].spec, &f->opts, &h, err, sizeof err),
                         SD_ERR_INVALID);
        assert_null(h);
        assert_string_equal(err, cases[i].reason);
    }
    free(plain);
}

/* ---- builtin:demo ---- */

static void test_demo_reports_three_stages_in_order_and_summarizes(void **state)
{
    fixture *f = *state;
    make_demo(f);
    assert_int_equal(run_job(f, "{\"query\": \"cats \\\"and\\\" dogs\", \"params\": {}}", 0),
                     SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_COMPLETED);
    assert_string_equal(f->out.result,
                        "{\"summary\":\"Demo summary for \\\"cats \\\"and\\\" dogs\\\": "
                        "sources searched, analyzed and summarized.\"}");
    assert_int_equal(f->nreports, 4);
    assert_report(f, 0, 33, "searching");
    assert_report(f, 1, 66, "analyzing");
    assert_report(f, 2, 90, "summarizing");
    assert_report(f, 3, 100, "");
}

static void test_demo_params_fail_fails_with_demo_failure(void **state)
{
    fixture *f = *state;
    make_demo(f);
    assert_int_equal(run_job(f, "{\"query\": \"q\", \"params\": {\"fail\": true}}", 0), SD_OK);
    assert_failed(&f->out, "demo_failure", "the demo handler failed because params.fail is true");
    assert_int_equal(f->nreports, 2);
    assert_report(f, 1, 66, "analyzing");
}

static void test_demo_cancel_ends_the_pause_at_once(void **state)
{
    fixture *f = *state;
    f->opts.demo_step_ms = 3600 * 1000;
    make_demo(f);
    int64_t start = sd_mono_ms();
    assert_int_equal(run_job_canceled(f, "{\"query\": \"q\"}"), SD_OK);
    assert_int_equal(f->out.kind, SD_OUTCOME_CANCELED);
    assert_int_equal(f->nreports, 1);
    /* Liveness only: an hour-long pause was cut short. */
    assert_true(sd_mono_ms() - start < LIVENESS_MS);
}

static void test_demo_timeout_fails_with_timeout(void **state)
{
    fixture *f = *state;
    f->opts.demo_step_ms = 3600 * 1000;
    make_demo(f);
    assert_int_equal(run_job(f, "{\"query\": \"q\"}", 1500), SD_OK);
    assert_failed(&f->out, "timeout", "job exceeded job_timeout of 1.5 s");
}

static void test_demo_refuses_input_without_a_query(void **state)
{
    fixture *f = *state;
    make_demo(f);
    const char *inputs[] = {"not json", "[1]", "{\"params\": {}}", "{\"query\": 5}", ""};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        sd_outcome_clear(&f->out);
        assert_int_equal(run_job(f, inputs[i], 0), SD_OK);
        assert_failed(&f->out, "invalid_input",
                      "job input must be a JSON object with a \"query\" string");
    }
    assert_int_equal(f->nreports, 0);
}

/* ---- outcomes ---- */

static void test_outcome_fail_cuts_at_4_kib_on_a_character(void **state)
{
    (void)state;
    sd_outcome o;
    memset(&o, 0, sizeof o);
    o.result = malloc(4);
    assert_non_null(o.result);
    char msg[5000];
    memset(msg, 'a', 4095);
    memcpy(msg + 4095, "\xC3\xA9 rest", 8);
    sd_outcome_fail(&o, "a_code_longer_than_the_forty_eight_bytes_kept_in_it", msg);
    assert_int_equal(o.kind, SD_OUTCOME_FAILED);
    assert_null(o.result);
    assert_string_equal(o.error_code, "a_code_longer_than_the_forty_eight_bytes_kept_i");
    assert_int_equal(strlen(o.error_message), 4095);
    sd_outcome_clear(&o);
    assert_null(o.error_message);
    assert_int_equal(o.kind, SD_OUTCOME_COMPLETED);
}

static void test_timeout_message_names_seconds(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {300000, "job exceeded job_timeout of 300 s"},
        {1500, "job exceeded job_timeout of 1.5 s"},
        {250, "job exceeded job_timeout of 0.25 s"},
        {1, "job exceeded job_timeout of 0.001 s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sd_outcome o;
        memset(&o, 0, sizeof o);
        sd_outcome_fail_timeout(&o, cases[i].ms);
        assert_failed(&o, "timeout", cases[i].text);
        sd_outcome_clear(&o);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_exec_reports_progress_and_completes_with_last_result),
        T(test_exec_exit_zero_without_result_completes_with_null),
        T(test_exec_nonzero_exit_fails_with_stderr_tail),
        T(test_exec_nonzero_exit_with_empty_stderr_gives_the_status),
        T(test_exec_death_by_signal_gives_the_signal),
        T(test_exec_timeout_fails_whatever_the_program_did),
        T(test_exec_timeout_kills_a_program_that_ignores_sigterm),
        T(test_exec_cancel_after_first_report_ends_canceled),
        T(test_exec_shutdown_flag_also_ends_canceled),
        T(test_exec_cancel_kills_grandchildren),
        T(test_exec_leftovers_holding_stdout_are_killed_at_exit),
        T(test_exec_setsid_grandchild_ends_when_the_job_ends),
        T(test_exec_setsid_grandchild_ends_when_the_job_is_canceled),
        T(test_exec_canceled_before_start_runs_nothing),
        T(test_exec_input_larger_than_a_pipe_is_delivered_intact),
        T(test_exec_input_length_is_seen_by_the_program),
        T(test_exec_program_that_never_reads_stdin_still_completes),
        T(test_exec_program_sees_job_id_and_kind),
        T(test_exec_environment_is_the_base_and_handler_env_only),
        T(test_exec_environment_without_path_gets_a_default_path),
        T(test_exec_line_over_1_mib_is_skipped),
        T(test_exec_concurrent_runs_stay_apart),
        T(test_exec_reaping_orphans_keeps_every_run_s_exit_status),
        T(test_exec_program_gone_at_run_time_fails_to_spawn),
        T(test_spec_quotes_group_words),
        T(test_spec_errors_name_the_reason),
        T(test_demo_reports_three_stages_in_order_and_summarizes),
        T(test_demo_params_fail_fails_with_demo_failure),
        T(test_demo_cancel_ends_the_pause_at_once),
        T(test_demo_timeout_fails_with_timeout),
        T(test_demo_refuses_input_without_a_query),
        T(test_outcome_fail_cuts_at_4_kib_on_a_character),
        T(test_timeout_message_names_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
