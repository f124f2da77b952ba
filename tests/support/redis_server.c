/* A throwaway redis-server for integration tests (see redis_server.h). */
#include "redis_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "proc.h"

#define START_WAIT_MS 10000
#define STOP_WAIT_MS 5000
#define START_ATTEMPTS 3

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* Whether pid has exited (reaping it when it has). */
static bool exited(pid_t pid)
{
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    return w == pid || (w < 0 && errno == ECHILD);
}

redisContext *test_redis_connect(const test_redis *r)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)r->port, tv);
    if (c == NULL)
        return NULL;
    bool ok = c->err == 0 && redisSetTimeout(c, tv) == REDIS_OK;
    if (ok && r->password != NULL) {
        const char *argv[] = {"AUTH", r->password};
        size_t lens[] = {4, strlen(r->password)};
        redisReply *rep = redisCommandArgv(c, 2, argv, lens);
        ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
        freeReplyObject(rep);
    }
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

long long test_redis_info(redisContext *c, const char *section, const char *field)
{
    const char *argv[] = {"INFO", section};
    size_t lens[] = {4, strlen(section)};
    redisReply *rep = redisCommandArgv(c, 2, argv, lens);
    long long v = -1;
    if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
        const char *p = strstr(rep->str, field);
        v = 0;
        if (p != NULL) {
            char *end = NULL;
            v = strtoll(p + strlen(field), &end, 10);
            if (end == p + strlen(field))
                v = -1;
        }
    }
    freeReplyObject(rep);
    return v;
}

/* True when the server answers PING with PONG (after AUTH when it has a
 * password): it has loaded its data and takes commands. */
static bool answers(const test_redis *r)
{
    redisContext *c = test_redis_connect(r);
    if (c == NULL)
        return false;
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *rep = redisCommandArgv(c, 1, argv, lens);
    bool ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
    freeReplyObject(rep);
    redisFree(c);
    return ok;
}

/* Forks and execs the server on r->port in r->dir; sets r->pid. */
static int spawn(test_redis *r)
{
    const char *bin = getenv("SD_REDIS_SERVER");
    if (bin == NULL || bin[0] == '\0')
        bin = "redis-server";
    char port[16], pidfile[600], logfile[600];
    snprintf(port, sizeof port, "%u", r->port);
    snprintf(pidfile, sizeof pidfile, "%s/redis.pid", r->dir);
    snprintf(logfile, sizeof logfile, "%s/redis.log", r->dir);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--dir";
    argv[n++] = r->dir;
    argv[n++] = "--pidfile";
    argv[n++] = pidfile;
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = r->appendonly ? "yes" : "no";
    if (r->appendonly) {
        argv[n++] = "--appendfsync";
        argv[n++] = "everysec";
    }
    if (r->password != NULL) {
        argv[n++] = "--requirepass";
        argv[n++] = r->password;
    }
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        execvp(bin, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    r->pid = pid;
    return 0;
}

/* Spawns and waits until it answers; on failure the child is gone.
 * Returns 1 when the child exited early (the port may have been taken). */
static int spawn_and_wait(test_redis *r)
{
    if (spawn(r) != 0)
        return -1;
    for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
        if (answers(r))
            return 0;
        if (exited(r->pid)) {
            r->pid = 0;
            return 1;
        }
        sleep_ms(20);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
    return -1;
}

void test_redis_dump_log(const test_redis *r)
{
    if (r->dir == NULL)
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/redis.log", r->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- redis-server log (%s) ----\n", path);
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

int test_redis_start(test_redis *r)
{
    r->pid = 0;
    r->dir = test_tempdir("sd-redis");
    if (r->dir == NULL)
        return -1;
    int rc = -1;
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        r->port = test_free_port();
        if (r->port == 0)
            break;
        rc = spawn_and_wait(r);
        if (rc <= 0)
            break;
    }
    if (rc != 0) {
        test_redis_dump_log(r);
        test_rmdir(r->dir);
        free(r->dir);
        r->dir = NULL;
        return -1;
    }
    return 0;
}

/* SIGTERM (and SIGCONT) by pid, SIGKILL after STOP_WAIT_MS; reaps it. */
static void terminate(test_redis *r)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGTERM);
    kill(r->pid, SIGCONT);
    for (int waited = 0; !exited(r->pid); waited += 10) {
        if (waited >= STOP_WAIT_MS) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            break;
        }
        sleep_ms(10);
    }
    r->pid = 0;
}

void test_redis_stop(test_redis *r)
{
    terminate(r);
    if (r->dir != NULL) {
        test_rmdir(r->dir);
        free(r->dir);
        r->dir = NULL;
    }
}

int test_redis_kill(test_redis *r, int sig)
{
    if (r->pid <= 0 || kill(r->pid, sig) != 0)
        return -1;
    if (sig == SIGKILL) {
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            continue;
        r->pid = 0;
    }
    return 0;
}

int test_redis_restart(test_redis *r)
{
    if (r->dir == NULL)
        return -1;
    terminate(r);
    /* The port was the server's; give the kernel a moment if a previous
     * socket still holds it, then report failure with the log. */
    for (int attempt = 0; attempt < 50; attempt++) {
        int rc = spawn_and_wait(r);
        if (rc == 0)
            return 0;
        if (rc < 0)
            break;
        sleep_ms(100);
    }
    test_redis_dump_log(r);
    return -1;
}

/* ---- one server for a cmocka group ---- */

static test_redis group_server;
static char group_url_set[128];   /* "redis_url=redis://127.0.0.1:<port>/0" */

int test_redis_group_setup(void **state)
{
    (void)state;
    memset(&group_server, 0, sizeof group_server);
    if (test_redis_start(&group_server) != 0)
        return -1;
    snprintf(group_url_set, sizeof group_url_set, "redis_url=redis://127.0.0.1:%u/0",
             group_server.port);
    return 0;
}

int test_redis_group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&group_server);
    return 0;
}

test_redis *test_redis_group(void) { return &group_server; }

const char *test_redis_group_url_set(void) { return group_url_set; }

int test_redis_group_flush(void)
{
    redisContext *c = test_redis_connect(&group_server);
    if (c == NULL)
        return -1;
    const char *argv[] = {"FLUSHALL"};
    size_t lens[] = {8};
    redisReply *rep = redisCommandArgv(c, 1, argv, lens);
    int rc = rep != NULL && rep->type == REDIS_REPLY_STATUS ? 0 : -1;
    freeReplyObject(rep);
    redisFree(c);
    return rc;
}
