/*
 * Many jobs through a few workers, on the memory store and on Redis: the
 * workers end one run and start the next in one store step, so a burst
 * of jobs keeps them going from job to job. Every job must run exactly
 * once, complete with its own result, and leave the queue: nothing
 * leased or waiting at the end, no retries, no lost leases.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "redis_server.h"
#include "test_stores.h"

#define JOBS 300

static const char *const args[] = {"--set", "workers=3", "--set", "demo_step_ms=0",
                                   "--set", "ratelimit_submit=0", "--set",
                                   "queue_capacity=1000", NULL};

static int memory_setup(void **state) { return test_fixture_setup(state, false, NULL, args); }
static int redis_setup(void **state) { return test_fixture_setup(state, true, NULL, args); }

static void test_many_jobs_through_a_few_workers_each_complete_once_with_their_result(
    void **state)
{
    unsigned port = test_fixture_port(state);
    char *ids[JOBS];
    for (int i = 0; i < JOBS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"query\":\"q-%d\"}", i);
        ids[i] = test_submit_job(port, body);
    }
    for (int i = 0; i < JOBS; i++) {
        cJSON *v = test_wait_job_status(port, ids[i], "completed", 100, TEST_DEADLINE_MS);
        assert_int_equal(test_jint(v, "attempts"), 1);
        assert_true(test_jnull(v, "error"));
        const char *summary =
            test_jstr(cJSON_GetObjectItemCaseSensitive(v, "result"), "summary");
        assert_non_null(summary);
        char want[64];
        snprintf(want, sizeof want, "Demo summary for \"q-%d\":", i);
        assert_true(strncmp(summary, want, strlen(want)) == 0);
        cJSON_Delete(v);
        free(ids[i]);
    }
    /* The last run's step leaves nothing behind, and the heartbeat
     * (which would requeue a lease left over) found nothing to do. */
    cJSON *s = test_get_stats(port);
    assert_int_equal(test_stat(s, "jobs", "completed"), JOBS);
    assert_int_equal(test_stat(s, "jobs", "queued"), 0);
    assert_int_equal(test_stat(s, "jobs", "processing"), 0);
    assert_int_equal(test_stat(s, "queue", "ready"), 0);
    assert_int_equal(test_stat(s, "queue", "delayed"), 0);
    assert_int_equal(test_stat(s, "queue", "leased"), 0);
    assert_int_equal(test_stat(s, "recovery", "retries"), 0);
    assert_int_equal(test_stat(s, "recovery", "requeued"), 0);
    assert_int_equal(test_stat(s, "recovery", "worker_lost"), 0);
    cJSON_Delete(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        TEST_ON_BOTH(test_many_jobs_through_a_few_workers_each_complete_once_with_their_result,
                     memory_setup, redis_setup, test_fixture_teardown),
    };
    return cmocka_run_group_tests_name("queue_jobs", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
