/*
 * exec:/path/to/program [args] runs one program per job, without a shell.
 *
 * The program gets the job's input JSON on its stdin (closed once written),
 * a clean environment (env_build below: never statusd's own, which holds
 * its secrets), and a process group of its own, so that stopping the job
 * reaches whatever it started; what leaves the group (setsid) is found by
 * the job's marker in its environment (proctree.h) and killed as well. It reports through JSON lines on stdout (exec_protocol.h); the
 * last 4 KiB of its stderr are kept for the error message.
 *
 * How a run ends:
 *   exit 0              completed; result = the last "result" seen, or null
 *   other exit, signal  failed "handler_failed"; message = the stderr tail,
 *                       or "exited with status N" / "killed by signal N"
 *                       when the program wrote nothing there
 *   cancel flag         SIGTERM to the group, SIGKILL kill_grace_ms later;
 *                       canceled, whatever the program did meanwhile
 *   job timeout         the same; failed "timeout"
 * When the program has ended, anything still in its process group, and
 * any descendant carrying the job's marker, is killed before the program
 * is reaped (so the group id cannot have been reused), and once more after:
 * a job's processes do not outlive the job.
 *
 * One handler serves concurrent runs from many threads: it is read-only
 * after construction, and each run keeps its state on its own stack. A run
 * blocks SIGPIPE in its own thread while it runs and consumes the one a
 * write to an exited program raises, so it is safe whether or not the
 * process ignores SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs/exec_protocol.h"
#include "jobs/handlers.h"
#include "jobs/proctree.h"
#include "statusd/log.h"
#include "statusd/util.h"

#define TICK_MS 50               /* poll period while the program runs */
#define WAIT_TICK_MS 10          /* period while only waiting for its exit */
#define EXIT_DRAIN_MS 500        /* output read after exit, at most */
#define READ_CHUNK 16384

typedef struct exec_handler {
    sd_handler base;
    char **argv;                 /* NULL-terminated; argv[0] is the program */
    int64_t kill_grace_ms;
    char *env_pass;              /* handler_env: names passed through */
} exec_handler;

typedef enum stop_reason {
    STOP_NONE,
    STOP_CANCEL,
    STOP_TIMEOUT,
    STOP_NOMEM
} stop_reason;

/* The state of one run. */
typedef struct exec_run {
    const sd_job_run *job;
    pid_t pid;
    int in_fd, out_fd, err_fd;   /* the parent's pipe ends, -1 once closed */
    size_t in_off;               /* input bytes written */
    bool epipe;                  /* a write raised SIGPIPE */
    bool reporting;              /* false once stopping: output is drained only */
    bool warned;                 /* a malformed protocol line was logged */
    sd_exec_lines lines;         /* stdout, split into lines */
    sd_exec_tail tail;           /* the end of stderr */
    char *result;                /* JSON text of the last result, NULL = null */
    stop_reason stop;
} exec_run;

static const char *run_name(const exec_run *r)
{
    return r->job->id != NULL ? r->job->id : "?";
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- spawning ---- */

/*
 * pipe2 with O_CLOEXEC on both ends, each moved to a number above 2 so
 * that the child's dup2 onto 0..2 cannot overwrite another pipe end when
 * statusd itself runs with a standard descriptor closed. fds[parent] is
 * made non-blocking (the two ends are separate open files, so the child's
 * end stays blocking). errno on failure, with both ends closed.
 */
static int make_pipe(int fds[2], int parent)
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    int e = 0;
    for (int i = 0; i < 2 && e == 0; i++) {
        if (fds[i] > STDERR_FILENO)
            continue;
        int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        e = moved < 0 ? errno : 0;
        close(fds[i]);
        fds[i] = moved;
    }
    int flags = e == 0 ? fcntl(fds[parent], F_GETFL) : -1;
    if (e == 0 && (flags < 0 || fcntl(fds[parent], F_SETFL, flags | O_NONBLOCK) != 0))
        e = errno;
    if (e != 0) {
        close_fd(&fds[0]);
        close_fd(&fds[1]);
    }
    return e;
}

/*
 * The child's environment: a small base, never statusd's own (which holds
 * its tokens and Redis credentials):
 *   PATH, HOME, LANG, TZ   statusd's values when set (PATH defaults to
 *                          /usr/local/bin:/usr/bin:/bin)
 *   STATUSD_JOB_ID, STATUSD_JOB_KIND, STATUSD_ATTEMPT
 * plus each variable named by handler_env that statusd has. The job's
 * variables win over a handler_env name that repeats them. They are also
 * the marker by which the job's processes are found (proctree.h).
 */
#define ENV_BASE_MAX 7

typedef struct child_env {
    char **envp;           /* entries point into owned[] or environ */
    sd_buf owned;          /* the three job variables, NUL-separated */
} child_env;

static void env_free(child_env *e)
{
    free(e->envp);
    sd_buf_free(&e->owned);
}

static bool env_has(char *const *envp, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return true;
    return false;
}

/* The environ entry "name=value" for name[0..len), or NULL. */
static char *env_find(const char *name, size_t len)
{
    for (char **p = environ; p != NULL && *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p;
    return NULL;
}

/* The job's marker entries ("STATUSD_JOB_ID=...", "STATUSD_ATTEMPT=...")
 * into b, NUL-separated, then the kind. */
static void env_job_vars(const sd_job_run *job, sd_buf *b)
{
    sd_buf_printf(b, "STATUSD_JOB_ID=%s", job->id != NULL ? job->id : "");
    sd_buf_putc(b, '\0');
    sd_buf_printf(b, "STATUSD_ATTEMPT=%lld", (long long)(job->attempt > 0 ? job->attempt : 1));
    sd_buf_putc(b, '\0');
    sd_buf_printf(b, "STATUSD_JOB_KIND=%s", job->kind != NULL ? job->kind : "");
    sd_buf_putc(b, '\0');
}

static int env_build(const exec_handler *h, const sd_job_run *job, child_env *e)
{
    static const char *const base[] = {"PATH", "HOME", "LANG", "TZ"};
    memset(e, 0, sizeof *e);
    size_t npass = 0;
    const char *cur = h->env_pass, *name;
    size_t len;
    while (sd_list_next(&cur, &name, &len))
        npass++;
    e->envp = calloc(ENV_BASE_MAX + npass + 2, sizeof *e->envp);
    env_job_vars(job, &e->owned);
    sd_buf_puts(&e->owned, "PATH=/usr/local/bin:/usr/bin:/bin");
    if (e->envp == NULL || !sd_buf_ok(&e->owned)) {
        env_free(e);
        return ENOMEM;
    }
    size_t k = 0;
    /* The three job variables, from the owned buffer. */
    for (char *p = e->owned.data; k < 3; p += strlen(p) + 1)
        e->envp[k++] = p;
    char *default_path = e->envp[2] + strlen(e->envp[2]) + 1;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        char *v = env_find(base[i], strlen(base[i]));
        if (v == NULL && strcmp(base[i], "PATH") == 0)
            v = default_path;
        if (v != NULL)
            e->envp[k++] = v;
    }
    cur = h->env_pass;
    while (sd_list_next(&cur, &name, &len)) {
        char *v = env_find(name, len);
        if (v != NULL && !env_has(e->envp, k, name, len))
            e->envp[k++] = v;
    }
    e->envp[k] = NULL;
    return 0;
}

/* Signals whose disposition the child gets back at their defaults: statusd
 * ignores SIGPIPE, and the program must not inherit that. */
static void child_default_signals(sigset_t *set)
{
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
                               SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ};
    sigemptyset(set);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(set, sigs[i]);
}

/* Starts the program with its three pipes. 0, or the errno that stopped
 * it; on failure no descriptor and no process is left behind. */
static int run_spawn(const exec_handler *h, exec_run *r)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int e = make_pipe(in, 1);
    if (e == 0)
        e = make_pipe(out, 0);
    if (e == 0)
        e = make_pipe(err, 0);
    if (e != 0)
        goto close_pipes;

    child_env env;
    if ((e = env_build(h, r->job, &env)) != 0)
        goto close_pipes;

    posix_spawn_file_actions_t fa;
    if ((e = posix_spawn_file_actions_init(&fa)) != 0)
        goto free_env;
    posix_spawnattr_t attr;
    if ((e = posix_spawnattr_init(&attr)) != 0)
        goto free_actions;

    sigset_t no_signals, defaults;
    sigemptyset(&no_signals);
    child_default_signals(&defaults);
    if ((e = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO)) == 0 &&
        (e = posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO)) == 0 &&
        (e = posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO)) == 0 &&
        (e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) == 0 &&
        (e = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
        (e = posix_spawnattr_setsigmask(&attr, &no_signals)) == 0 &&
        (e = posix_spawnattr_setsigdefault(&attr, &defaults)) == 0) {
        /* Registered under the lock it is spawned under: the orphan
         * reaper must never take this program's exit status. */
        sd_proctree_lock();
        e = posix_spawn(&r->pid, h->argv[0], &fa, &attr, h->argv, env.envp);
        if (e == 0)
            sd_proctree_track(r->pid);
        sd_proctree_unlock();
    }

    posix_spawnattr_destroy(&attr);
free_actions:
    posix_spawn_file_actions_destroy(&fa);
free_env:
    env_free(&env);
close_pipes:
    /* The child's ends are closed in every case; the parent's only when
     * nothing was started. */
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    if (e != 0) {
        close_fd(&in[1]);
        close_fd(&out[0]);
        close_fd(&err[0]);
        return e;
    }
    r->in_fd = in[1];
    r->out_fd = out[0];
    r->err_fd = err[0];
    return 0;
}

/* ---- the program's output ---- */

/* A report or result may have been lost: the run ends as failed, unless
 * it is already stopping for another reason. */
static void run_out_of_memory(exec_run *r)
{
    if (r->stop == STOP_NONE)
        r->stop = STOP_NOMEM;
}

/* A complete stdout line (sd_exec_line_fn): a report, a result, or the
 * program's own output. */
static void handle_line(void *arg, const char *text, size_t len)
{
    exec_run *r = arg;
    if (!r->reporting)
        return;
    sd_exec_line pl;
    sd_err e = sd_exec_parse_line(text, len, &pl);
    if (e == SD_ERR_BAD_JSON)
        return; /* the program's own output, not a report */
    if (e == SD_ERR_NOMEM) {
        run_out_of_memory(r);
        return;
    }
    if (e != SD_OK) {
        /* Once a run: a program that gets the protocol wrong tends to get
         * it wrong on every line. */
        if (!r->warned)
            sd_warn("exec job %s: ignoring a malformed protocol line (%s)", run_name(r),
                    sd_err_name(e));
        r->warned = true;
        return;
    }
    /* "stage": null cannot be passed on: report() takes NULL as "leave the
     * stage as it is", so such a line updates only the progress. */
    if ((pl.has_progress || pl.stage != NULL) && r->job->report != NULL)
        r->job->report(r->job->report_arg, pl.has_progress ? pl.progress : -1, pl.stage);
    if (pl.has_result) {
        free(r->result);
        r->result = pl.result;
        pl.result = NULL;
    }
    sd_exec_line_free(&pl);
}

/* One read from a readable pipe. At end of file (or a read error) the
 * pipe is closed; stdout's last line counts even without a newline. */
static void read_pipe(exec_run *r, int *fd, bool is_stdout)
{
    char chunk[READ_CHUNK];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n > 0 && !is_stdout) {
        sd_exec_tail_feed(&r->tail, chunk, (size_t)n);
        return;
    }
    if (n > 0) {
        size_t dropped = 0;
        if (sd_exec_lines_feed(&r->lines, chunk, (size_t)n, handle_line, r, &dropped) != SD_OK)
            run_out_of_memory(r);
        if (dropped > 0)
            sd_warn("exec job %s: dropped a stdout line longer than %d bytes", run_name(r),
                    SD_EXEC_LINE_MAX);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0)
        sd_warn("exec job %s: reading the program's %s: %s", run_name(r),
                is_stdout ? "stdout" : "stderr", strerror_r(errno, chunk, sizeof chunk));
    close_fd(fd);
    if (is_stdout)
        sd_exec_lines_end(&r->lines, handle_line, r);
}

/* Writes what the pipe takes of the input; closes stdin when all is
 * written or the program stopped reading (EPIPE). */
static void write_input(exec_run *r)
{
    const char *input = r->job->input;
    size_t len = input != NULL ? r->job->input_len : 0;
    while (r->in_off < len) {
        ssize_t w = write(r->in_fd, input + r->in_off, len - r->in_off);
        if (w > 0) {
            r->in_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0 && errno == EPIPE) {
            r->epipe = true;
            sd_debug("exec job %s: the program closed stdin after %zu of %zu bytes",
                     run_name(r), r->in_off, len);
        } else {
            char buf[128];
            sd_warn("exec job %s: writing the input: %s", run_name(r),
                    strerror_r(errno, buf, sizeof buf));
        }
        break;
    }
    close_fd(&r->in_fd);
}

/* Waits up to wait_ms for the pipes, then serves the ready ones. */
static void poll_io(exec_run *r, int64_t wait_ms)
{
    struct pollfd fds[3];
    int *owners[3];
    nfds_t n = 0;
    if (r->in_fd >= 0) {
        fds[n] = (struct pollfd){.fd = r->in_fd, .events = POLLOUT};
        owners[n++] = &r->in_fd;
    }
    if (r->out_fd >= 0) {
        fds[n] = (struct pollfd){.fd = r->out_fd, .events = POLLIN};
        owners[n++] = &r->out_fd;
    }
    if (r->err_fd >= 0) {
        fds[n] = (struct pollfd){.fd = r->err_fd, .events = POLLIN};
        owners[n++] = &r->err_fd;
    }
    int rc = poll(fds, n, (int)(wait_ms > 0 ? wait_ms : 0));
    if (rc < 0) {
        if (errno != EINTR) {
            char buf[128];
            sd_warn("exec job %s: poll: %s", run_name(r), strerror_r(errno, buf, sizeof buf));
            struct timespec ts = {0, (long)WAIT_TICK_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        return;
    }
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].revents == 0)
            continue;
        if (owners[i] == &r->in_fd)
            write_input(r);
        else
            read_pipe(r, owners[i], owners[i] == &r->out_fd);
    }
}

/* ---- the run ---- */

/* True once the program has ended; it is not reaped here (WNOWAIT), so
 * its pid and process group id stay reserved until run_finish(). */
static bool child_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    for (;;) {
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid == pid;
        if (errno != EINTR)
            return true; /* nothing left to wait for; run_finish reports it */
    }
}

/* The process group, or the program alone when it has left the group. */
static void signal_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) != 0 && errno == ESRCH)
        kill(pid, sig);
}

/* Serves the pipes until the program ends (true) or the run must stop
 * (false, with r->stop set). */
static bool run_watch(exec_run *r, int64_t deadline)
{
    for (;;) {
        if (child_exited(r->pid))
            return true;
        if (r->stop != STOP_NONE)
            return false;
        if (sd_run_stopping(r->job)) {
            r->stop = STOP_CANCEL;
            return false;
        }
        int64_t now = sd_mono_ms();
        if (now >= deadline) {
            r->stop = STOP_TIMEOUT;
            return false;
        }
        int64_t tick = r->out_fd < 0 && r->err_fd < 0 ? WAIT_TICK_MS : TICK_MS;
        poll_io(r, deadline - now < tick ? deadline - now : tick);
    }
}

/* SIGTERM to the group, then up to grace_ms for the program to end,
 * draining its output meanwhile. */
static void run_stop(exec_run *r, int64_t grace_ms)
{
    r->reporting = false;
    close_fd(&r->in_fd);
    signal_group(r->pid, SIGTERM);
    int64_t kill_at = sd_mono_ms() + grace_ms;
    for (int64_t now = sd_mono_ms(); now < kill_at && !child_exited(r->pid); now = sd_mono_ms())
        poll_io(r, kill_at - now < WAIT_TICK_MS ? kill_at - now : WAIT_TICK_MS);
}

/* SIGKILL to the run's processes that left its process group (setsid),
 * found by the job's marker in their environment. */
static void run_kill_escaped(exec_run *r)
{
    char id[128], attempt[48];
    snprintf(id, sizeof id, "STATUSD_JOB_ID=%s", r->job->id != NULL ? r->job->id : "");
    snprintf(attempt, sizeof attempt, "STATUSD_ATTEMPT=%lld",
             (long long)(r->job->attempt > 0 ? r->job->attempt : 1));
    const char *const marker[] = {id, attempt};
    int n = sd_proctree_kill_marked(marker, 2);
    if (n > 0)
        sd_debug("exec job %s: killed %d process%s that left the job's process group",
                 run_name(r), n, n == 1 ? "" : "es");
}

/* SIGKILL to whatever is left of the group, the last output read, the
 * program reaped. *status is its wait status; false when it was lost. */
static bool run_finish(exec_run *r, int *status)
{
    signal_group(r->pid, SIGKILL);
    run_kill_escaped(r);
    close_fd(&r->in_fd);
    int64_t until = sd_mono_ms() + EXIT_DRAIN_MS;
    for (int64_t now = sd_mono_ms(); (r->out_fd >= 0 || r->err_fd >= 0) && now < until;
         now = sd_mono_ms())
        poll_io(r, until - now < TICK_MS ? until - now : TICK_MS);
    if (r->out_fd >= 0 || r->err_fd >= 0) {
        /* Held open by a process outside the group; its last line may be
         * cut short, so it is not used. */
        sd_warn("exec job %s: output still open after the program ended", run_name(r));
        r->lines.discarding = true;
    }
    close_fd(&r->out_fd);
    close_fd(&r->err_fd);
    sd_exec_lines_end(&r->lines, handle_line, r);
    bool known = false;
    for (;;) {
        if (waitpid(r->pid, status, 0) == r->pid) {
            known = true;
            break;
        }
        if (errno != EINTR)
            break;
    }
    sd_proctree_untrack(r->pid);
    /* Whatever was started by the program and is still there now. */
    run_kill_escaped(r);
    return known;
}

static sd_err run_outcome(exec_run *r, bool status_known, int status, sd_outcome *out)
{
    char msg[64];
    switch (r->stop) {
    case STOP_CANCEL:
        out->kind = SD_OUTCOME_CANCELED;
        return SD_OK;
    case STOP_TIMEOUT:
        sd_outcome_fail_timeout(out, r->job->timeout_ms);
        return SD_OK;
    case STOP_NOMEM:
        sd_outcome_fail(out, "out_of_memory", "out of memory reading the program's output");
        return SD_ERR_NOMEM;
    case STOP_NONE:
        break;
    }
    if (!status_known) {
        sd_outcome_fail(out, "handler_failed", "the program's exit status was lost");
        return SD_ERR_INTERNAL;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        out->kind = SD_OUTCOME_COMPLETED;
        out->result = r->result;
        r->result = NULL;
        return SD_OK;
    }
    if (WIFEXITED(status))
        snprintf(msg, sizeof msg, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(msg, sizeof msg, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    const char *tail = sd_exec_tail_text(&r->tail);
    sd_outcome_fail(out, "handler_failed", tail[0] != '\0' ? tail : msg);
    return SD_OK;
}

static sd_err exec_run_job(sd_handler *hh, const sd_job_run *job, sd_outcome *out)
{
    const exec_handler *h = (const exec_handler *)hh;
    memset(out, 0, sizeof *out);
    if (sd_run_stopping(job)) {
        out->kind = SD_OUTCOME_CANCELED;
        return SD_OK;
    }

    exec_run r;
    memset(&r, 0, sizeof r);
    r.job = job;
    r.in_fd = r.out_fd = r.err_fd = -1;
    r.reporting = true;

    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    bool masked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask) == 0;

    int e = run_spawn(h, &r);
    if (e != 0) {
        if (masked)
            pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        char buf[128], msg[512];
        snprintf(msg, sizeof msg, "cannot start %s: %s", h->argv[0],
                 strerror_r(e, buf, sizeof buf));
        sd_warn("exec job %s: %s", run_name(&r), msg);
        sd_outcome_fail(out, "spawn_failed", msg);
        return e == ENOMEM ? SD_ERR_NOMEM : SD_ERR_INTERNAL;
    }
    if (job->input == NULL || job->input_len == 0)
        close_fd(&r.in_fd);

    int64_t deadline = job->timeout_ms > 0 ? sd_mono_ms() + job->timeout_ms : INT64_MAX;
    if (!run_watch(&r, deadline))
        run_stop(&r, h->kill_grace_ms);
    int status = 0;
    bool status_known = run_finish(&r, &status);

    if (r.epipe && masked) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
        }
    }
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

    sd_err rc = run_outcome(&r, status_known, status, out);
    free(r.result);
    return rc;
}

static void exec_free(sd_handler *hh)
{
    exec_handler *h = (exec_handler *)hh;
    sd_handler_free_words(h->argv);
    free(h->env_pass);
    free(h);
}

static const sd_handler_ops exec_ops = {
    .scheme = "exec",
    .run = exec_run_job,
    .free = exec_free,
};

sd_err sd_exec_new(const char *args, const sd_handler_opts *opts,
                   sd_handler **out, char *err, size_t errlen)
{
    *out = NULL;
    char **argv = NULL;
    sd_err rc = sd_handler_split_words(args, &argv, err, errlen);
    if (rc != SD_OK)
        return rc;
    const char *prog = argv[0];
    struct stat st;
    char buf[128];
    if (prog[0] != '/') {
        sd_errf(err, errlen, "exec program '%s' is not an absolute path", prog);
        rc = SD_ERR_INVALID;
    } else if (stat(prog, &st) != 0) {
        sd_errf(err, errlen, "exec program '%s': %s", prog,
                        strerror_r(errno, buf, sizeof buf));
        rc = SD_ERR_INVALID;
    } else if (!S_ISREG(st.st_mode)) {
        sd_errf(err, errlen, "exec program '%s' is not a regular file", prog);
        rc = SD_ERR_INVALID;
    } else if (access(prog, X_OK) != 0) {
        sd_errf(err, errlen, "exec program '%s' is not executable: %s", prog,
                        strerror_r(errno, buf, sizeof buf));
        rc = SD_ERR_INVALID;
    }
    exec_handler *h = rc == SD_OK ? calloc(1, sizeof *h) : NULL;
    if (rc == SD_OK && h == NULL)
        rc = SD_ERR_NOMEM;
    if (h != NULL && (h->env_pass = strdup(opts->env_pass != NULL ? opts->env_pass : "")) == NULL)
        rc = SD_ERR_NOMEM;
    if (rc != SD_OK) {
        sd_handler_free_words(argv);
        free(h);
        return rc;
    }
    sd_proctree_init();
    h->base.ops = &exec_ops;
    h->argv = argv;
    h->kill_grace_ms = opts->kill_grace_ms;
    *out = &h->base;
    return SD_OK;
}
