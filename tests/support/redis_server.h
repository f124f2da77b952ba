#ifndef SD_TEST_REDIS_SERVER_H
#define SD_TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/*
 * A throwaway redis-server for integration tests: its own port on
 * 127.0.0.1 and its own mkdtemp directory (data, pidfile, log), stopped
 * by its pid, never by name. The binary is $SD_REDIS_SERVER when set,
 * else redis-server from PATH.
 *
 *     test_redis r = {0};            // options below, then start
 *     r.appendonly = true;
 *     if (test_redis_start(&r) != 0) ...
 *     ...
 *     test_redis_stop(&r);
 */

typedef struct test_redis {
    /* Options, set before test_redis_start. */
    bool appendonly;         /* appendonly yes + appendfsync everysec
                                (default: no persistence at all) */
    const char *password;    /* requirepass, or NULL; must outlive r */

    /* Filled by test_redis_start. */
    pid_t pid;               /* 0 when not running */
    unsigned port;
    char *dir;               /* the server's directory */
} test_redis;

/* Starts the server on a free port in a fresh directory and waits until
 * it answers PING (up to 10 s). 0 on success; on failure prints the
 * server's log, cleans up and returns -1. */
int test_redis_start(test_redis *r);

/* SIGTERM by pid (and SIGCONT, in case it is stopped), SIGKILL after
 * 5 s; waits for it and removes the directory. Safe to call twice. */
void test_redis_stop(test_redis *r);

/* Sends sig to the server by pid. After SIGKILL also reaps it, so that
 * test_redis_restart can start it again. 0 on success, -1 if it is not
 * running or kill fails. */
int test_redis_kill(test_redis *r, int sig);

/* Stops the server if it runs (SIGTERM, letting it write its AOF) and
 * starts it again on the same port and directory, waiting until it
 * answers as test_redis_start does. 0 on success. */
int test_redis_restart(test_redis *r);

/* A plain connection to the server, to look at it from outside the
 * store: 5 s timeouts, authenticated when the server has a password.
 * NULL on failure; the caller frees it with redisFree. */
redisContext *test_redis_connect(const test_redis *r);

/* A number from an INFO section: the digits after field (for example
 * "connected_clients:" or "cmdstat_evalsha:calls="); 0 when the section
 * does not list it, -1 when INFO fails or the field holds no number. */
long long test_redis_info(redisContext *c, const char *section, const char *field);

/* Prints the server's log to stderr (for failing tests). */
void test_redis_dump_log(const test_redis *r);

/* ---- one server for a cmocka group ---- */

/*
 * A server that a whole cmocka group shares, with the default options:
 * pass test_redis_group_setup and test_redis_group_teardown to
 * cmocka_run_group_tests, then reach the server through the functions
 * below. One group runs at a time in a test binary.
 */

/* Starts the group's server. 0 on success, -1 when it does not start. */
int test_redis_group_setup(void **state);

/* Stops the group's server (test_redis_stop). Always 0. */
int test_redis_group_teardown(void **state);

/* The group's server. */
test_redis *test_redis_group(void);

/* "redis_url=redis://127.0.0.1:<port>/0" for the group's server: the
 * value of a --set that points statusd at it. */
const char *test_redis_group_url_set(void);

/* FLUSHALL on the group's server, so that a test sees its own keys only.
 * 0 on success, -1 when the server does not answer OK. */
int test_redis_group_flush(void);

#endif
