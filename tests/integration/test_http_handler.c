/*
 * http:// handlers against a real web app (tests/support/app_server.c)
 * and a real statusd, on the memory store and on Redis: what the app
 * answers decides the run. Nothing waits on timing: jobs that must be
 * caught mid-run wait for the app's gate, which the test opens.
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

#include "app_jobs_test.h"

static void assert_str_has(const char *s, const char *part)
{
    if (s == NULL || strstr(s, part) == NULL)
        fail_msg("'%s' does not contain '%s'", s != NULL ? s : "(null)", part);
}

static void test_json_answer_completes_the_job_with_it(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "echo", "{\"text\":\"h\\u00e9llo\",\"n\":[1,2]}");
    assert_string_equal(test_jstr(v, "kind"), "echo");
    assert_string_equal(test_jstr(v, "status"), "queued");
    cJSON *in = cJSON_GetObjectItemCaseSensitive(v, "input");
    assert_string_equal(test_jstr(in, "text"), "h\xC3\xA9llo");
    assert_null(cJSON_GetObjectItemCaseSensitive(v, "run_token"));
    char id[64];
    snprintf(id, sizeof id, "%s", app_view_id(v));
    cJSON_Delete(v);

    v = test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(v, "result");
    const cJSON *echo = cJSON_GetObjectItemCaseSensitive(result, "echo");
    assert_string_equal(test_jstr(echo, "id"), id);
    assert_string_equal(test_jstr(echo, "kind"), "echo");
    assert_int_equal(test_jint(echo, "attempt"), 1);
    assert_string_equal(test_jstr(cJSON_GetObjectItemCaseSensitive(echo, "input"), "text"),
                        "h\xC3\xA9llo");
    assert_string_equal(test_jstr(result, "job"), id);
    const char *token = test_jstr(result, "token");
    assert_non_null(token);
    assert_int_equal(strlen(token), 32);
    assert_true(test_is_hex(token, 32));
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);

    app_request rq;
    assert_true(app_server_wait_request(f->app, "/json", 1, &rq, TEST_DEADLINE_MS));
    assert_string_equal(rq.content_type, "application/json");
    assert_int_equal(app_server_count(f->app, "/json"), 1);
}

static void test_each_run_gets_its_own_token(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *a = app_submit(f->sd->proc.port, "echo", "{}");
    cJSON *b = app_submit(f->sd->proc.port, "echo", "{}");
    cJSON *va = test_wait_job_status(port, app_view_id(a), "completed", 100, TEST_DEADLINE_MS);
    cJSON *vb = test_wait_job_status(port, app_view_id(b), "completed", 100, TEST_DEADLINE_MS);
    const char *ta = test_jstr(cJSON_GetObjectItemCaseSensitive(va, "result"), "token");
    const char *tb = test_jstr(cJSON_GetObjectItemCaseSensitive(vb, "result"), "token");
    assert_non_null(ta);
    assert_non_null(tb);
    assert_string_not_equal(ta, tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(va);
    cJSON_Delete(vb);
}

static void test_ndjson_progress_is_seen_mid_run_then_the_last_result_completes(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "stream", "{\"doc\":1}");
    char id[64];
    snprintf(id, sizeof id, "%s", app_view_id(v));
    cJSON_Delete(v);

    /* The app holds the rest of its answer until the gate opens. */
    v = test_wait_job_status(port, id, "processing", 30, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "progress"), 30);
    assert_string_equal(test_jstr(v, "stage"), "analyzing");
    cJSON_Delete(v);
    app_server_open_gate(f->app);

    v = test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(v, "result");
    assert_int_equal(test_jint(result, "lines"), 3);
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
}

static void test_ndjson_error_line_fails_the_job_for_good(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "streamfail", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(done, "quota", "out of credits");
    assert_int_equal(test_jint(done, "attempts"), 1);
    assert_int_equal(test_jint(done, "progress"), 30);
    assert_int_equal(app_server_count(f->app, "/ndjson-error"), 1);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_202_then_reports_keep_it_processing_until_the_app_completes_it(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "later", "{\"q\":\"slow work\"}");
    char id[64];
    snprintf(id, sizeof id, "%s", app_view_id(v));
    cJSON_Delete(v);
    app_request rq;
    assert_true(app_server_wait_request(f->app, "/accept", 1, &rq, TEST_DEADLINE_MS));
    assert_string_equal(rq.job_id, id);

    http_resp r;
    app_report(port, id, rq.token, "{\"progress\":40,\"stage\":\"thinking\"}", &r);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "progress"), 40);
    assert_string_equal(test_jstr(v, "stage"), "thinking");
    assert_null(cJSON_GetObjectItemCaseSensitive(v, "run_token"));
    cJSON_Delete(v);
    http_resp_free(&r);

    v = test_get_job(port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "progress"), 40);
    cJSON_Delete(v);

    app_report(port, id, rq.token, "{\"status\":\"completed\",\"result\":{\"answer\":42}}", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    v = test_get_job(port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "completed");
    assert_int_equal(test_jint(v, "progress"), 100);
    assert_int_equal(test_jint(cJSON_GetObjectItemCaseSensitive(v, "result"), "answer"), 42);
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    assert_int_equal(app_server_count(f->app, "/accept"), 1);
}

static void test_handed_off_run_without_reports_fails_with_timeout(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "later", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(done, "timeout", "no report from the app within job_timeout of 3 s");
    assert_int_equal(test_jint(done, "attempts"), 1);
    assert_int_equal(app_server_count(f->app, "/accept"), 1);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_503_is_retried_no_sooner_than_retry_after_and_then_succeeds(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "flaky", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "completed", 100,
                                       TEST_DEADLINE_MS);
    assert_int_equal(test_jint(done, "attempts"), 2);
    const cJSON *echo = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(done, "result"), "echo");
    assert_int_equal(test_jint(echo, "attempt"), 2);
    app_request first, second;
    assert_true(app_server_wait_request(f->app, "/flaky", 1, &first, TEST_DEADLINE_MS));
    assert_true(app_server_wait_request(f->app, "/flaky", 2, &second, TEST_DEADLINE_MS));
    /* retry_backoff_ms is 50; the app's Retry-After: 1 sets the least
     * wait (a lower bound: a slow machine only waits longer) */
    assert_true(second.at_ms - first.at_ms >= 900);
    assert_string_not_equal(first.token, second.token);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_400_from_the_app_fails_for_good_with_handler_rejected(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "picky", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "failed", 0, TEST_DEADLINE_MS);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(done, "error");
    assert_string_equal(test_jstr(err, "code"), "handler_rejected");
    assert_str_has(test_jstr(err, "message"), "HTTP 400");
    assert_str_has(test_jstr(err, "message"), "input refused");
    assert_int_equal(test_jint(done, "attempts"), 1);
    assert_int_equal(app_server_count(f->app, "/reject"), 1);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_empty_answer_completes_with_null_and_html_is_rejected(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "quiet", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "completed", 100,
                                       TEST_DEADLINE_MS);
    assert_true(test_jnull(done, "result"));
    cJSON_Delete(v);
    cJSON_Delete(done);
    v = app_submit(port, "html", "{}");
    done = test_wait_job_status(port, app_view_id(v), "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(done, "handler_rejected", "the app's answer is not valid UTF-8 JSON");
    assert_int_equal(test_jint(done, "attempts"), 1);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_refused_connection_is_retried_then_fails_with_handler_failed(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "down", "{}");
    cJSON *done = test_wait_job_status(port, app_view_id(v), "failed", 0, TEST_DEADLINE_MS);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(done, "error");
    assert_string_equal(test_jstr(err, "code"), "handler_failed");
    /* The URL is named without its credentials or query. */
    const char *message = test_jstr(err, "message");
    assert_str_has(message, "http://127.0.0.1:1/nobody-listens");
    assert_null(strstr(message, "s3cret"));
    assert_null(strstr(message, "k3y"));
    assert_null(strstr(message, "app:"));
    assert_int_equal(test_jint(done, "attempts"), 3);
    cJSON_Delete(v);
    cJSON_Delete(done);
}

static void test_cancel_aborts_the_request_in_flight(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "slow", "{}");
    app_request rq;
    assert_true(app_server_wait_request(f->app, "/slow", 1, &rq, TEST_DEADLINE_MS));
    test_cancel_job(port, app_view_id(v));
    /* the app sees its connection dropped: statusd gave up the request
     * (the app would otherwise hold it past every deadline here) */
    assert_true(app_server_wait_slow_dropped(f->app, TEST_DEADLINE_MS));
    cJSON *after = test_get_job(port, app_view_id(v), NULL);
    assert_string_equal(test_jstr(after, "status"), "canceled");
    assert_int_equal(app_server_count(f->app, "/slow"), 1);
    cJSON_Delete(v);
    cJSON_Delete(after);
}

/* ---- POST /jobs/<kind> ---- */

static void test_unknown_or_malformed_kinds_are_404_unknown_kind(void **state)
{
    app_fixture *f = *state;
    static const struct {
        const char *path, *detail;
    } cases[] = {
        {"/jobs/nothere", "no handler is configured for job kind nothere"},
        {"/jobs/Echo", "'Echo' is not a job kind"},
        {"/jobs/9lives", "'9lives' is not a job kind"},
        {"/jobs/a-kind-name-that-is-longer-than-32", "is not a job kind"},
        {"/jobs/research", "POST /research"},
        {"/jobs/upload", "POST /uploads"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        test_call(f->sd->proc.port, "POST", cases[i].path, NULL, "{}", &r);
        test_assert_problem(&r, 404, "unknown-kind", cases[i].detail);
        http_resp_free(&r);
    }
}

static void test_job_input_must_be_a_json_object_of_finite_numbers(void **state)
{
    app_fixture *f = *state;
    static const struct {
        const char *body;
        int status;
        const char *slug, *detail;
    } cases[] = {
        {"[1,2]", 400, "invalid-request", "body must be a JSON object"},
        {"\"text\"", 400, "invalid-request", "body must be a JSON object"},
        {"{\"n\":1e999}", 400, "invalid-request", "finite"},
        {"{\"a\":", 400, "invalid-json", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        test_call(f->sd->proc.port, "POST", "/jobs/echo", NULL, cases[i].body, &r);
        test_assert_problem(&r, cases[i].status, cases[i].slug, cases[i].detail);
        http_resp_free(&r);
    }
    http_resp r;
    test_call(f->sd->proc.port, "POST", "/jobs/echo", "Content-Type: text/plain\r\n", "{}", &r);
    test_assert_problem(&r, 415, "unsupported-media-type", NULL);
    http_resp_free(&r);
    assert_int_equal(app_server_count(f->app, "/json"), 0);
}

static void test_idempotency_key_replays_the_job_of_its_kind_only(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    http_resp a, b, c;
    test_call(port, "POST", "/jobs/echo", "Idempotency-Key: k-1\r\n", "{\"x\":1}", &a);
    assert_int_equal(a.status, 202);
    test_call(port, "POST", "/jobs/echo", "Idempotency-Key: k-1\r\n", "{\"x\":1}", &b);
    assert_int_equal(b.status, 200);
    assert_string_equal(http_header(&b, "Idempotent-Replayed"), "true");
    cJSON *va = test_body_json(&a), *vb = test_body_json(&b);
    assert_string_equal(app_view_id(va), app_view_id(vb));
    /* the same key and body for another kind is another request */
    test_call(port, "POST", "/jobs/picky", "Idempotency-Key: k-1\r\n", "{\"x\":1}", &c);
    test_assert_problem(&c, 409, "conflict", "different body");
    cJSON_Delete(va);
    cJSON_Delete(vb);
    http_resp_free(&a);
    http_resp_free(&b);
    http_resp_free(&c);
}

static void test_jobs_endpoint_takes_the_api_token_and_the_submit_limit(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    http_resp r;
    test_call(port, "POST", "/jobs/echo", NULL, "{}", &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        test_call(port, "POST", "/jobs/echo", "Authorization: Bearer api-token-0123456789\r\n",
                  "{}", &r);
        assert_int_equal(r.status, 202);
        http_resp_free(&r);
    }
    test_call(port, "POST", "/jobs/echo", "Authorization: Bearer api-token-0123456789\r\n",
              "{}", &r);
    test_assert_problem(&r, 429, "rate-limited", NULL);
    http_resp_free(&r);
}

static void test_jobs_endpoint_answers_cors_like_research(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    http_resp r;
    test_call(port, "OPTIONS", "/jobs/echo",
              "Origin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n", NULL,
              &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(http_header(&r, "Access-Control-Allow-Origin"), "http://app.example");
    assert_string_equal(http_header(&r, "Access-Control-Allow-Methods"), "POST");
    http_resp_free(&r);
    test_call(port, "POST", "/jobs/echo",
              "Origin: http://app.example\r\nAuthorization: Bearer api-token-0123456789\r\n",
              "{}", &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(http_header(&r, "Access-Control-Allow-Origin"), "http://app.example");
    http_resp_free(&r);
    test_call(port, "POST", "/jobs/echo",
              "Origin: http://evil.example\r\nAuthorization: Bearer api-token-0123456789\r\n",
              "{}", &r);
    assert_int_equal(r.status, 202);
    assert_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_resp_free(&r);
}

static const char *const GUARDED[] = {"--set", "api_token=api-token-0123456789", "--set",
                                      "ratelimit_submit=2", "--set",
                                      "cors_origins=http://app.example", NULL};

static int guarded_memory_setup(void **state) { return app_setup_with(state, false, GUARDED); }

static int guarded_redis_setup(void **state) { return app_setup_with(state, true, GUARDED); }

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, app_teardown)
#define ON_BOTH(test) ON(test, app_memory_setup), ON(test, app_redis_setup)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_json_answer_completes_the_job_with_it),
        ON_BOTH(test_each_run_gets_its_own_token),
        ON_BOTH(test_ndjson_progress_is_seen_mid_run_then_the_last_result_completes),
        ON_BOTH(test_ndjson_error_line_fails_the_job_for_good),
        ON_BOTH(test_202_then_reports_keep_it_processing_until_the_app_completes_it),
        ON_BOTH(test_handed_off_run_without_reports_fails_with_timeout),
        ON_BOTH(test_503_is_retried_no_sooner_than_retry_after_and_then_succeeds),
        ON_BOTH(test_400_from_the_app_fails_for_good_with_handler_rejected),
        ON_BOTH(test_empty_answer_completes_with_null_and_html_is_rejected),
        ON_BOTH(test_refused_connection_is_retried_then_fails_with_handler_failed),
        ON_BOTH(test_cancel_aborts_the_request_in_flight),
        ON_BOTH(test_unknown_or_malformed_kinds_are_404_unknown_kind),
        ON_BOTH(test_job_input_must_be_a_json_object_of_finite_numbers),
        ON_BOTH(test_idempotency_key_replays_the_job_of_its_kind_only),
        ON(test_jobs_endpoint_takes_the_api_token_and_the_submit_limit, guarded_memory_setup),
        ON(test_jobs_endpoint_takes_the_api_token_and_the_submit_limit, guarded_redis_setup),
        ON(test_jobs_endpoint_answers_cors_like_research, guarded_memory_setup),
    };
    return cmocka_run_group_tests_name("http_handler", tests, app_group_setup,
                                       app_group_teardown);
}
