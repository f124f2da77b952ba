/*
 * Held requests across instances on one Redis: a long-poll and an event
 * stream on an instance without workers follow a job that another
 * instance runs (the change reaches them through Redis pub/sub), and a
 * stream carries on across a Redis restart (resubscribed, the job read
 * again, nothing missed).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "push_test.h"
#include "redis_server.h"

typedef struct pair {
    test_statusd *a, *b;     /* a runs jobs; b has workers = 0 */
    test_redis redis;        /* a private server, for the restart */
    bool own_redis;
} pair;

/* Starts a and b on redis_url with the common arguments. */
static int pair_start(pair *p, const char *url_set)
{
    const char *a_args[] = {"--store", "redis", "--set", url_set, "--set", "demo_step_ms=300",
                            "--set", "handler_ext=external", "--set", "job_timeout=120",
                            "--set", "max_wait=20", NULL};
    const char *b_args[] = {"--store", "redis", "--set", url_set, "--set", "workers=0",
                            "--set", "handler_ext=external", "--set", "job_timeout=120",
                            "--set", "max_wait=20", NULL};
    p->a = test_statusd_start(NULL, a_args);
    p->b = p->a != NULL ? test_statusd_start(NULL, b_args) : NULL;
    return p->b != NULL ? 0 : -1;
}

static int shared_setup(void **state)
{
    pair *p = calloc(1, sizeof *p);
    if (p == NULL || test_redis_group_flush() != 0 ||
        pair_start(p, test_redis_group_url_set()) != 0) {
        if (p != NULL)
            test_statusd_stop(p->a);
        free(p);
        return -1;
    }
    *state = p;
    return 0;
}

static int private_setup(void **state)
{
    pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->redis.appendonly = true;
    if (test_redis_start(&p->redis) != 0) {
        free(p);
        return -1;
    }
    p->own_redis = true;
    static char url[96];
    snprintf(url, sizeof url, "redis_url=redis://127.0.0.1:%u/0", p->redis.port);
    if (pair_start(p, url) != 0) {
        test_statusd_stop(p->a);
        test_redis_stop(&p->redis);
        free(p);
        return -1;
    }
    *state = p;
    return 0;
}

static int pair_teardown(void **state)
{
    pair *p = *state;
    int rc = test_statusd_stop(p->b);
    rc |= test_statusd_stop(p->a);
    if (p->own_redis)
        test_redis_stop(&p->redis);
    free(p);
    return rc;
}

static void test_a_poll_on_an_instance_without_workers_wakes_when_another_runs_the_job(
    void **state)
{
    pair *p = *state;
    unsigned a = p->a->proc.port, b = p->b->proc.port;
    char *id = test_submit_job(b, "{\"query\":\"lion\"}");
    char tag[40];
    push_etag(b, id, tag);
    char path[96], headers[96];
    snprintf(path, sizeof path, "/status/%s?wait=20", id);
    snprintf(headers, sizeof headers, "If-None-Match: %s\r\n", tag);
    int64_t t0 = push_now_ms();
    http_resp r;
    test_call(b, "GET", path, headers, NULL, &r);
    /* held on b until a's worker moved the job: far less than the wait */
    assert_int_equal(r.status, 200);
    assert_true(push_now_ms() - t0 < 15000);
    assert_string_not_equal(http_header(&r, "ETag"), tag);
    http_resp_free(&r);

    /* and b's stream follows the job to its end, run on a */
    snprintf(path, sizeof path, "/status/%s/events", id);
    test_call(b, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *last = NULL;
    for (const char *p2 = strstr(r.body, "data: "); p2 != NULL; p2 = strstr(p2 + 1, "data: "))
        last = p2 + 6;
    assert_non_null(last);
    cJSON *v = cJSON_ParseWithOpts(last, NULL, false);
    assert_non_null(v);
    assert_string_equal(test_jstr(v, "status"), "completed");
    cJSON_Delete(v);
    http_resp_free(&r);
    (void)a;
    free(id);
}

static void test_a_stream_carries_on_across_a_redis_restart(void **state)
{
    pair *p = *state;
    unsigned a = p->a->proc.port, b = p->b->proc.port;
    push_job j = push_submit(a);
    char path[96];
    snprintf(path, sizeof path, "/status/%s/events", j.id);
    push_later s;
    push_later_start(&s, b, 0, "GET", path, "", NULL);
    test_sleep_ms(500);
    assert_int_equal(test_redis_restart(&p->redis), 0);
    /* the report goes to a, the stream is b's: only Redis tells b */
    http_resp r;
    int64_t until = push_now_ms() + TEST_DEADLINE_MS;
    do {
        app_report(a, j.id, j.token, "{\"status\":\"completed\",\"result\":7}", &r);
        if (r.status == 200)
            break;
        http_resp_free(&r);
        test_sleep_ms(100);
    } while (push_now_ms() < until);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    push_later_join(&s);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.resp.status, 200);
    assert_non_null(strstr(s.resp.body, "\"status\":\"processing\""));
    assert_non_null(strstr(s.resp.body, "\"status\":\"completed\""));
    http_resp_free(&s.resp);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_poll_on_an_instance_without_workers_wakes_when_another_runs_the_job,
            shared_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_carries_on_across_a_redis_restart,
                                        private_setup, pair_teardown),
    };
    return cmocka_run_group_tests_name("push_instances", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
