#ifndef SD_TEST_REDIS_FIXTURE_H
#define SD_TEST_REDIS_FIXTURE_H

#include <stdbool.h>

#include "http_test.h"
#include "redis_server.h"

/*
 * A cmocka fixture of its own redis-server and one statusd on it, for
 * tests that stop, restart or kill that server: both are stopped by pid
 * in redis_fixture_teardown (the server continued first, in case a test
 * left it stopped, so that statusd's drain does not wait on it).
 */
typedef struct redis_fixture {
    test_redis redis;
    test_statusd *statusd;
} redis_fixture;

/* Starts the server (with an append-only file when aof) and statusd on
 * it with --store redis, demo_step_ms=0 and each of sets (NULL-terminated
 * "key=value" strings, at most 8) as a --set; *state gets the fixture. 0
 * on success, -1 when either does not start. */
int redis_fixture_setup(void **state, bool aof, const char *const *sets);

/* Stops both and frees the fixture; statusd's exit status check as
 * test_statusd_stop's. */
int redis_fixture_teardown(void **state);

#endif
