/*
 * Long-polls on GET /status/<id>: Prefer: wait=<n> or ?wait=<n> with an
 * If-None-Match of the current tag, held until the job changes (200),
 * the wait ends (304 with Preference-Applied), or the job is deleted or
 * expires (404); waits cut to max_wait, bad waits refused, max_waiters,
 * and held polls answered at a drain. On the memory store and on Redis.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "push_test.h"

/* GET /status/<id> with the If-None-Match of tag and the extra header
 * lines and query; asserts the server answered. */
static void poll_job(unsigned port, const push_job *j, const char *tag, const char *query,
                     const char *headers, http_resp *out)
{
    char path[160], h[256];
    snprintf(path, sizeof path, "/status/%s%s", j->id, query);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n%s", tag, headers);
    test_call(port, "GET", path, h, NULL, out);
}

static void test_held_poll_answers_200_with_the_new_view_when_the_job_changes(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    push_later rep;
    push_report_later(&rep, port, &j, 300, "{\"progress\":40,\"stage\":\"reading\"}");
    int64_t t0 = push_now_ms();
    http_resp r;
    poll_job(port, &j, j.etag, "", "Prefer: wait=15\r\n", &r);
    int64_t took = push_now_ms() - t0;
    push_later_join(&rep);
    assert_int_equal(rep.resp.status, 200);
    http_resp_free(&rep.resp);

    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=15");
    assert_string_not_equal(http_header(&r, "ETag"), j.etag);
    cJSON *v = test_body_json(&r);
    assert_int_equal(test_jint(v, "progress"), 40);
    assert_string_equal(test_jstr(v, "stage"), "reading");
    cJSON_Delete(v);
    http_resp_free(&r);
    /* held past the report, answered long before the wait's end */
    assert_true(took >= 250);
    assert_true(took < 10000);
}

static void test_held_poll_answers_304_with_preference_applied_after_the_wait(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    int64_t t0 = push_now_ms();
    http_resp r;
    poll_job(port, &j, j.etag, "?wait=1", "", &r);
    int64_t took = push_now_ms() - t0;
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=1");
    assert_string_equal(http_header(&r, "ETag"), j.etag);
    http_resp_free(&r);
    assert_true(took >= 900);
}

static void test_a_wait_longer_than_max_wait_is_cut_to_it(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    http_resp r;
    /* max_wait=1 here, a larger number than any integer too */
    poll_job(port, &j, j.etag, "", "Prefer: respond-async, wait=99999999999999999999999\r\n",
             &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=1");
    http_resp_free(&r);
    poll_job(port, &j, j.etag, "?wait=3600", "", &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=1");
    http_resp_free(&r);
}

static void test_bad_waits_are_400_naming_the_wait(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    static const char *const queries[] = {"?wait=abc", "?wait=-1", "?wait=1.5", "?wait=",
                                          "?wait=1&wait=2", "?wait=%201"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        http_resp r;
        poll_job(port, &j, j.etag, queries[i], "", &r);
        test_assert_problem(&r, 400, "invalid-request", "wait");
        http_resp_free(&r);
    }
    static const char *const prefers[] = {"Prefer: wait=soon\r\n", "Prefer: wait\r\n",
                                          "Prefer: handling=strict, wait=-5\r\n"};
    for (size_t i = 0; i < sizeof prefers / sizeof prefers[0]; i++) {
        http_resp r;
        poll_job(port, &j, j.etag, "", prefers[i], &r);
        test_assert_problem(&r, 400, "invalid-request", "Prefer: wait");
        http_resp_free(&r);
    }
    /* a Prefer without wait is no wait: answered at once */
    http_resp r;
    poll_job(port, &j, j.etag, "", "Prefer: return=minimal\r\n", &r);
    assert_int_equal(r.status, 304);
    assert_null(http_header(&r, "Preference-Applied"));
    http_resp_free(&r);
}

static void test_a_wait_without_the_current_tag_is_answered_at_once(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    int64_t t0 = push_now_ms();
    http_resp r;
    poll_job(port, &j, "W/\"0000000000000000\"", "?wait=15", "", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "ETag"), j.etag);
    http_resp_free(&r);
    char path[96];
    test_status_path(path, sizeof path, j.id);
    strcat(path, "?wait=15");
    test_call(port, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_true(push_now_ms() - t0 < 10000);
}

static void test_held_poll_answers_404_when_the_job_is_deleted(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    push_later del;
    push_later_start(&del, port, 300, "DELETE", "/admin/data?confirm=true",
                     "Authorization: Bearer " APP_ADMIN_TOKEN "\r\n", NULL);
    int64_t t0 = push_now_ms();
    http_resp r;
    poll_job(port, &j, j.etag, "?wait=15", "", &r);
    int64_t took = push_now_ms() - t0;
    push_later_join(&del);
    assert_int_equal(del.resp.status, 200);
    http_resp_free(&del.resp);
    test_assert_problem(&r, 404, "not-found", j.id);
    http_resp_free(&r);
    assert_true(took < 10000);
}

static void test_held_poll_answers_404_when_the_job_expires(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    int64_t t0 = push_now_ms();
    http_resp r;
    /* job_ttl=2 here: the job expires two seconds after this read */
    poll_job(port, &j, j.etag, "?wait=15", "", &r);
    int64_t took = push_now_ms() - t0;
    test_assert_problem(&r, 404, "not-found", j.id);
    http_resp_free(&r);
    assert_true(took >= 1500);
    assert_true(took < 12000);
}

static void test_polls_past_max_waiters_are_503_with_retry_after(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    char path[96], headers[96];
    snprintf(path, sizeof path, "/status/%s?wait=3", j.id);
    snprintf(headers, sizeof headers, "If-None-Match: %s\r\n", j.etag);
    push_later held;   /* max_waiters=1 here: this one takes the place */
    push_later_start(&held, port, 0, "GET", path, headers, NULL);
    test_sleep_ms(500);
    http_resp r;
    poll_job(port, &j, j.etag, "?wait=3", "", &r);
    test_assert_problem(&r, 503, "too-many-waiters", "max_waiters");
    assert_non_null(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    char events[96];
    snprintf(events, sizeof events, "/status/%s/events", j.id);
    test_call(port, "GET", events, NULL, NULL, &r);
    test_assert_problem(&r, 503, "too-many-waiters", "max_waiters");
    http_resp_free(&r);
    /* a poll that need not wait is answered as ever */
    poll_job(port, &j, "W/\"0000000000000000\"", "?wait=3", "", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    push_later_join(&held);
    assert_int_equal(held.resp.status, 304);
    http_resp_free(&held.resp);
    /* the place is free again */
    poll_job(port, &j, j.etag, "?wait=1", "", &r);
    assert_int_equal(r.status, 304);
    http_resp_free(&r);
}

static void test_drain_answers_held_polls_with_the_current_view(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    char path[96], headers[96];
    snprintf(path, sizeof path, "/status/%s?wait=15", j.id);
    snprintf(headers, sizeof headers, "If-None-Match: %s\r\n", j.etag);
    push_later held[3];
    for (size_t i = 0; i < 3; i++)
        push_later_start(&held[i], port, 0, "GET", path, headers, NULL);
    test_sleep_ms(500);
    int64_t t0 = push_now_ms();
    int status = statusd_stop(&f->sd->proc, SIGTERM, 15000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (size_t i = 0; i < 3; i++) {
        push_later_join(&held[i]);
        assert_int_equal(held[i].rc, 0);
        assert_int_equal(held[i].resp.status, 200);
        assert_string_equal(http_header(&held[i].resp, "ETag"), j.etag);
        cJSON *v = test_body_json(&held[i].resp);
        assert_string_equal(test_jstr(v, "id"), j.id);
        cJSON_Delete(v);
        http_resp_free(&held[i].resp);
    }
    assert_true(push_now_ms() - t0 < 10000);
}

static int expiry_memory_setup(void **state)
{
    static const char *const a[] = {"--set", "job_timeout=120", "--set", "job_ttl=2", NULL};
    return app_setup_with(state, false, a);
}

static int expiry_redis_setup(void **state)
{
    static const char *const a[] = {"--set", "job_timeout=120", "--set", "job_ttl=2", NULL};
    return app_setup_with(state, true, a);
}

static const char *const max_wait_args[] = {"--set", "job_timeout=120", "--set", "max_wait=1",
                                            NULL};

static int max_wait_memory_setup(void **state)
{
    return app_setup_with(state, false, max_wait_args);
}

static int max_wait_redis_setup(void **state)
{
    return app_setup_with(state, true, max_wait_args);
}

static const char *const one_waiter_args[] = {"--set", "job_timeout=120", "--set",
                                              "max_waiters=1", NULL};

static int one_waiter_memory_setup(void **state)
{
    return app_setup_with(state, false, one_waiter_args);
}

static int one_waiter_redis_setup(void **state)
{
    return app_setup_with(state, true, one_waiter_args);
}

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, app_teardown)
#define ON_BOTH(test) TEST_ON_BOTH(test, push_memory_setup, push_redis_setup, app_teardown)
#define ON_BOTH_WITH(test, set) TEST_ON_BOTH(test, set##_memory_setup, set##_redis_setup, app_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_held_poll_answers_200_with_the_new_view_when_the_job_changes),
        ON_BOTH(test_held_poll_answers_304_with_preference_applied_after_the_wait),
        ON_BOTH_WITH(test_a_wait_longer_than_max_wait_is_cut_to_it, max_wait),
        ON_BOTH(test_bad_waits_are_400_naming_the_wait),
        ON_BOTH(test_a_wait_without_the_current_tag_is_answered_at_once),
        ON_BOTH(test_held_poll_answers_404_when_the_job_is_deleted),
        ON_BOTH_WITH(test_held_poll_answers_404_when_the_job_expires, expiry),
        ON_BOTH_WITH(test_polls_past_max_waiters_are_503_with_retry_after, one_waiter),
        ON_BOTH(test_drain_answers_held_polls_with_the_current_view),
    };
    return cmocka_run_group_tests_name("http_wait", tests, app_group_setup,
                                       app_group_teardown);
}
