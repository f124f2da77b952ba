/* Child processes and temporary files for integration tests. */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

extern char **environ;

unsigned test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

char *test_tempdir(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s-XXXXXX", tmp != NULL ? tmp : "/tmp", prefix);
    if (mkdtemp(path) == NULL)
        return NULL;
    return strdup(path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_rmdir(const char *dir)
{
    if (dir != NULL)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *test_write_file(const char *dir, const char *name, const char *text, int mode)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    ok = close(fd) == 0 && ok;
    if (!ok || chmod(path, (mode_t)mode) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

bool test_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        if (cond(arg))
            return true;
        if (waited >= timeout_ms)
            return false;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void statusd_dump_log(const statusd_proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- statusd log (%s) ----\n", p->log_path);
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

static bool health_ok(void *arg)
{
    statusd_proc *p = arg;
    http_resp r;
    bool ok = http_do(p->port, "GET", "/health", NULL, NULL, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}

int statusd_start(statusd_proc *p, const char *const *args, const char *const *env)
{
    const char *bin = getenv("SD_TEST_BIN");
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    if (bin == NULL || src == NULL || src[0] == '\0') {
        fprintf(stderr, "SD_TEST_BIN or SD_TEST_SOURCE_DIR is not set (run the tests "
                        "through ctest)\n");
        return -1;
    }
    memset(p, 0, sizeof *p);
    const char *tmp = getenv("TMPDIR");
    snprintf(p->log_path, sizeof p->log_path, "%s/statusd-test-XXXXXX.log",
             tmp != NULL ? tmp : "/tmp");
    int logfd = mkstemps(p->log_path, 4);
    if (logfd < 0)
        return -1;

    for (int attempt = 0; attempt < 3; attempt++) {
        p->port = test_free_port();
        char port[16];
        snprintf(port, sizeof port, "%u", p->port);
        const char *argv[72];
        size_t n = 0;
        argv[n++] = bin;
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--set";
        argv[n++] = "bind=127.0.0.1";
        argv[n++] = "--store";
        argv[n++] = "memory";
        /* Tests post far more than a client would; the ones about limits
         * set them again (later flags win). */
        argv[n++] = "--set";
        argv[n++] = "ratelimit_submit=0";
        argv[n++] = "--set";
        argv[n++] = "ratelimit_chat=0";
        argv[n++] = "--set";
        argv[n++] = "ratelimit_create=0";
        /* A test machine running several suites under sanitizers can keep
         * a Redis reply past the 500 ms default, and a 503 then fails a
         * test that is not about it; the tests about timeouts and stalls
         * set their own. */
        argv[n++] = "--set";
        argv[n++] = "redis_timeout_ms=3000";
        for (size_t i = 0; args != NULL && args[i] != NULL && n < 70; i++)
            argv[n++] = args[i];
        argv[n] = NULL;

        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            if (chdir(src) != 0)
                _exit(126);
            for (size_t i = 0; env != NULL && env[i] != NULL; i++)
                putenv((char *)env[i]);
            dup2(logfd, STDERR_FILENO);
            dup2(logfd, STDOUT_FILENO);
            execv(bin, (char *const *)argv);
            _exit(127);
        }
        p->pid = pid;
        for (int waited = 0; waited < 10000; waited += 20) {
            if (health_ok(p)) {
                close(logfd);
                return 0;
            }
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                p->pid = 0;
                break; /* exited: maybe the port was taken; try another */
            }
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (p->pid != 0) {
            statusd_stop(p, SIGKILL, 1000);
            break;
        }
    }
    close(logfd);
    statusd_dump_log(p);
    return -1;
}

int statusd_stop(statusd_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int st = 0;
    for (int waited = 0;; waited += 10) {
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid)
            break;
        if (w < 0 && errno != EINTR) {
            p->pid = 0;
            return -1;
        }
        if (waited >= timeout_ms) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    p->pid = 0;
    return st;
}

bool statusd_log_has(const statusd_proc *p, const char *text, const char *also)
{
    FILE *f = fopen(p->log_path, "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL && (also == NULL || strstr(line, also) != NULL);
    fclose(f);
    return found;
}
