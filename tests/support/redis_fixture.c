/* A private Redis and one statusd on it (see redis_fixture.h). */
#include "redis_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define FIXTURE_SETS_MAX 8

int redis_fixture_setup(void **state, bool aof, const char *const *sets)
{
    redis_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->redis.appendonly = aof;
    if (test_redis_start(&f->redis) != 0) {
        free(f);
        return -1;
    }
    char url[128];
    snprintf(url, sizeof url, "redis_url=redis://127.0.0.1:%u/0", f->redis.port);
    const char *args[8 + 2 * FIXTURE_SETS_MAX + 1] = {
        "--store", "redis", "--set", url, "--set", "demo_step_ms=0"};
    size_t n = 6;
    for (size_t i = 0; sets != NULL && sets[i] != NULL; i++) {
        if (i == FIXTURE_SETS_MAX) {
            test_redis_stop(&f->redis);
            free(f);
            return -1;
        }
        args[n++] = "--set";
        args[n++] = sets[i];
    }
    args[n] = NULL;
    f->statusd = test_statusd_start(NULL, args);
    if (f->statusd == NULL) {
        test_redis_stop(&f->redis);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int redis_fixture_teardown(void **state)
{
    redis_fixture *f = *state;
    if (f->redis.pid > 0)
        test_redis_kill(&f->redis, SIGCONT);
    int rc = test_statusd_stop(f->statusd);
    test_redis_stop(&f->redis);
    free(f);
    *state = NULL;
    return rc;
}
