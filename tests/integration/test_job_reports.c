/*
 * PATCH /status/<id>: the app's reports on a run it carries, for external
 * jobs and for http handlers' runs the app took with a 202, on the memory
 * store and on Redis: tokens (current, earlier, wrong, admin), every
 * malformed body, finished jobs, renewal of the TTL and of the run, and
 * reports that land on another instance than the one that took the job.
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

/* An external job: its id and run token from the 202. */
typedef struct ext_job {
    char id[64];
    char token[64];
} ext_job;

static ext_job submit_external(unsigned port, const char *body)
{
    cJSON *v = app_submit(port, "ext", body);
    ext_job j;
    snprintf(j.id, sizeof j.id, "%s", app_view_id(v));
    const char *token = test_jstr(v, "run_token");
    assert_non_null(token);
    snprintf(j.token, sizeof j.token, "%s", token);
    cJSON_Delete(v);
    return j;
}

/* The value of the /metrics sample line that starts with sample and a
 * space; -1 when there is none. */
static long long metric(unsigned port, const char *sample)
{
    http_resp r;
    test_call(port, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    long long v = -1;
    size_t n = strlen(sample);
    for (const char *line = r.body; line != NULL && *line != '\0'; ) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            v = strtoll(line + n + 1, NULL, 10);
        const char *eol = strchr(line, '\n');
        line = eol != NULL ? eol + 1 : NULL;
    }
    http_resp_free(&r);
    return v;
}

/* Polls metric until it is want (long deadline): counters written just
 * after the change the test saw. */
static void wait_metric(unsigned port, const char *sample, long long want)
{
    long long have = -1;
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        if ((have = metric(port, sample)) >= want)
            break;
        test_sleep_ms(20);
    }
    if (have != want)
        fail_msg("%s is %lld, expected %lld", sample, have, want);
}

#define EXT_FAILED "statusd_jobs_total{kind=\"ext\",outcome=\"failed\"}"
#define EXT_COMPLETED "statusd_jobs_total{kind=\"ext\",outcome=\"completed\"}"

/* PATCH and assert the status; returns the body's view on 200 (else
 * NULL). */
static cJSON *report(unsigned port, const char *id, const char *token, const char *body,
                     int status)
{
    http_resp r;
    app_report(port, id, token, body, &r);
    if (r.status != status)
        fail_msg("PATCH %s: want %d, got %d %s", body, status, r.status, r.body);
    cJSON *v = status == 200 ? test_body_json(&r) : NULL;
    http_resp_free(&r);
    return v;
}

static void test_external_job_starts_processing_with_a_token_only_in_its_202(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "ext", "{\"image\":\"cat.png\"}");
    assert_string_equal(test_jstr(v, "kind"), "ext");
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "attempts"), 1);
    const char *token = test_jstr(v, "run_token");
    assert_non_null(token);
    assert_int_equal(strlen(token), 32);
    assert_true(test_is_hex(token, 32));
    char id[64], tok[64];
    snprintf(id, sizeof id, "%s", app_view_id(v));
    snprintf(tok, sizeof tok, "%s", token);
    cJSON_Delete(v);

    v = test_get_job(port, id, NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(v, "run_token"));
    cJSON_Delete(v);

    v = report(port, id, tok, "{\"progress\":33,\"stage\":\"analyzing\"}", 200);
    assert_int_equal(test_jint(v, "progress"), 33);
    assert_string_equal(test_jstr(v, "stage"), "analyzing");
    assert_null(cJSON_GetObjectItemCaseSensitive(v, "run_token"));
    cJSON_Delete(v);
    v = report(port, id, tok, "{\"progress\":33}", 200); /* the same progress again */
    cJSON_Delete(v);
    v = report(port, id, tok, "{\"status\":\"completed\",\"result\":[\"a\",{\"b\":null}]}", 200);
    assert_string_equal(test_jstr(v, "status"), "completed");
    assert_int_equal(test_jint(v, "progress"), 100);
    cJSON_Delete(v);
    v = test_get_job(port, id, NULL);
    char *printed = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "result"));
    assert_string_equal(printed, "[\"a\",{\"b\":null}]");
    cJSON_free(printed);
    cJSON_Delete(v);
    /* no worker ever ran it */
    assert_int_equal(app_server_count(f->app, "/json"), 0);
}

static void test_app_may_fail_the_job_with_its_own_error(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    assert_int_equal(metric(port, EXT_FAILED), 0);
    cJSON *v = report(port, j.id, j.token,
                      "{\"status\":\"failed\",\"error\":{\"code\":\"model_down\","
                      "\"message\":\"the model is \\u00fcberlastet\"}}",
                      200);
    assert_string_equal(test_jstr(v, "status"), "failed");
    test_assert_job_error(v, "model_down", "the model is \xC3\xBC" "berlastet");
    cJSON_Delete(v);
    v = test_get_job(port, j.id, NULL);
    assert_int_equal(test_jint(v, "attempts"), 1);
    assert_string_equal(test_jstr(v, "status"), "failed");
    cJSON_Delete(v);
    /* the app's end counts in the job metrics like a worker's */
    assert_int_equal(metric(port, EXT_FAILED), 1);
    assert_int_equal(metric(port, EXT_COMPLETED), 0);
}

static void test_external_job_without_reports_fails_with_timeout_and_no_retry(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    cJSON *done = test_wait_job_status(port, j.id, "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(done, "timeout", "no report from the app within job_timeout of 3 s");
    assert_int_equal(test_jint(done, "attempts"), 1);
    cJSON_Delete(done);
    wait_metric(port, EXT_FAILED, 1);
    /* reports after it are told the job ended */
    http_resp r;
    app_report(port, j.id, j.token, "{\"progress\":50}", &r);
    test_assert_problem(&r, 409, "job-finished", "failed");
    http_resp_free(&r);
}

/* job_ttl 20 s: a change renews a job only when that moves expires_at
 * by more than a tenth of it, 2 s. */
static const char *const short_ttl[] = {"--set", "job_ttl=20", NULL};

static int short_ttl_memory_setup(void **state)
{
    return app_setup_with(state, false, short_ttl);
}

static int short_ttl_redis_setup(void **state)
{
    return app_setup_with(state, true, short_ttl);
}

static void test_reports_keep_the_run_alive_and_renew_the_ttl_past_its_slack(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    cJSON *v = test_get_job(port, j.id, NULL);
    char expires[64];
    snprintf(expires, sizeof expires, "%s", test_jstr(v, "expires_at"));
    cJSON_Delete(v);
    /* a report within the slack leaves expires_at where it was */
    test_sleep_ms(50);
    v = report(port, j.id, j.token, "{\"progress\":1}", 200);
    assert_string_equal(test_jstr(v, "expires_at"), expires);
    cJSON_Delete(v);
    v = test_get_job(port, j.id, NULL);
    assert_int_equal(test_jint(v, "progress"), 1);
    assert_string_equal(test_jstr(v, "expires_at"), expires);
    cJSON_Delete(v);
    /* reports every 0.5 s for twice job_timeout (3 s): the run lives on */
    for (int i = 1; i <= 12; i++) {
        test_sleep_ms(500);
        char body[32];
        snprintf(body, sizeof body, "{\"progress\":%d}", i);
        v = report(port, j.id, j.token, body, 200);
        assert_string_equal(test_jstr(v, "status"), "processing");
        cJSON_Delete(v);
    }
    v = test_get_job(port, j.id, NULL);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "progress"), 12);
    assert_true(strcmp(test_jstr(v, "expires_at"), expires) > 0);
    cJSON_Delete(v);
}

static void test_missing_and_wrong_tokens_are_401(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    ext_job other = submit_external(port, "{}");
    const char *bad[] = {NULL, "0123456789abcdef0123456789abcdef", other.token, "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_resp r;
        app_report(port, j.id, bad[i], "{\"progress\":10}", &r);
        test_assert_problem(&r, 401, "unauthorized", NULL);
        http_resp_free(&r);
    }
    char path[64];
    test_status_path(path, sizeof path, j.id);
    http_resp r;
    test_call(port, "PATCH", path, "Authorization: Basic dXNlcjpwYXNz\r\n", "{\"progress\":1}",
              &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    cJSON *v = test_get_job(port, j.id, NULL);
    assert_int_equal(test_jint(v, "progress"), 0);
    cJSON_Delete(v);
    /* the admin token may report on any job */
    v = report(port, j.id, APP_ADMIN_TOKEN, "{\"progress\":10}", 200);
    assert_int_equal(test_jint(v, "progress"), 10);
    cJSON_Delete(v);
    /* an unknown job is 404 whatever the token */
    app_report(port, "00000000-0000-4000-8000-000000000000", j.token, "{}", &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
}

static void test_token_of_an_earlier_run_is_409_stale_run(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    cJSON *v = app_submit(port, "flakylater", "{}");
    char id[64];
    snprintf(id, sizeof id, "%s", app_view_id(v));
    cJSON_Delete(v);
    app_request first, second;
    assert_true(app_server_wait_request(f->app, "/flaky-accept", 1, &first, TEST_DEADLINE_MS));
    assert_true(app_server_wait_request(f->app, "/flaky-accept", 2, &second, TEST_DEADLINE_MS));
    assert_string_not_equal(first.token, second.token);
    http_resp r;
    app_report(port, id, first.token, "{\"progress\":10}", &r);
    test_assert_problem(&r, 409, "stale-run", NULL);
    http_resp_free(&r);
    v = report(port, id, second.token, "{\"progress\":10}", 200);
    assert_int_equal(test_jint(v, "attempts"), 2);
    cJSON_Delete(v);
}

static void test_report_on_a_finished_job_is_409_job_finished(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    cJSON_Delete(report(port, j.id, j.token, "{\"status\":\"completed\"}", 200));
    cJSON *v = test_get_job(port, j.id, NULL);
    assert_true(test_jnull(v, "result"));
    cJSON_Delete(v);
    const char *again[] = {"{\"progress\":100}", "{\"status\":\"completed\",\"result\":1}",
                           "{}"};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        http_resp r;
        app_report(port, j.id, j.token, again[i], &r);
        test_assert_problem(&r, 409, "job-finished", "completed");
        http_resp_free(&r);
    }
    ext_job c = submit_external(port, "{}");
    test_cancel_job(port, c.id);
    http_resp r;
    app_report(port, c.id, c.token, "{\"progress\":5}", &r);
    test_assert_problem(&r, 409, "job-finished", "canceled");
    http_resp_free(&r);
}

static void test_every_bad_report_body_is_400_naming_the_field(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    ext_job j = submit_external(port, "{}");
    cJSON_Delete(report(port, j.id, j.token, "{\"progress\":50,\"stage\":\"half\"}", 200));
    static const struct {
        const char *body, *slug, *detail;
    } cases[] = {
        {"[]", "invalid-request", "body must be a JSON object"},
        {"7", "invalid-request", "body must be a JSON object"},
        {"{\"progress\":101}", "invalid-request", "'progress'"},
        {"{\"progress\":-1}", "invalid-request", "'progress'"},
        {"{\"progress\":12.5}", "invalid-request", "'progress'"},
        {"{\"progress\":\"60\"}", "invalid-request", "'progress'"},
        {"{\"progress\":null}", "invalid-request", "'progress'"},
        {"{\"progress\":1e999}", "invalid-request", "'progress'"},
        {"{\"progress\":40}", "invalid-request", "'progress' 40 is lower than the job's "
                                                 "progress 50"},
        {"{\"stage\":5}", "invalid-request", "'stage'"},
        {"{\"stage\":null}", "invalid-request", "'stage'"},
        {"{\"stage\":\"12345678901234567890123456789012345678901234567890123456789012345\"}",
         "invalid-request", "'stage' must be a string of at most 64 characters"},
        {"{\"status\":\"done\"}", "invalid-request", "'status'"},
        {"{\"status\":\"processing\"}", "invalid-request", "'status'"},
        {"{\"status\":1}", "invalid-request", "'status'"},
        {"{\"status\":\"failed\"}", "invalid-request", "'error'"},
        {"{\"status\":\"failed\",\"error\":\"boom\"}", "invalid-request", "'error'"},
        {"{\"status\":\"failed\",\"error\":{\"code\":\"\",\"message\":\"m\"}}",
         "invalid-request", "'error.code'"},
        {"{\"status\":\"failed\",\"error\":{\"code\":7,\"message\":\"m\"}}", "invalid-request",
         "'error.code'"},
        {"{\"status\":\"failed\",\"error\":{\"code\":\"c\"}}", "invalid-request",
         "'error.message'"},
        {"{\"status\":\"failed\",\"error\":{\"code\":\"c\",\"message\":\"m\",\"x\":1}}",
         "invalid-request", "'error' has an unknown or repeated field 'x'"},
        {"{\"status\":\"failed\",\"error\":{\"code\":\"c\",\"message\":\"m\"},\"result\":1}",
         "invalid-request", "'result'"},
        {"{\"status\":\"completed\",\"result\":{\"n\":1e999}}", "invalid-request",
         "'result.n'"},
        {"{\"status\":\"completed\",\"error\":{\"code\":\"c\",\"message\":\"m\"}}",
         "invalid-request", "'error'"},
        {"{\"result\":1}", "invalid-request", "'result'"},
        {"{\"error\":{\"code\":\"c\",\"message\":\"m\"}}", "invalid-request", "'error'"},
        {"{\"colour\":\"red\"}", "invalid-request", "'colour'"},
        {"{\"progress\":60,\"progress\":70}", "invalid-request", "'progress'"},
        {"{\"progress\":", "invalid-json", NULL},
        {"\xff\xfe{}", "invalid-json", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        app_report(port, j.id, j.token, cases[i].body, &r);
        test_assert_problem(&r, 400, cases[i].slug, cases[i].detail);
        http_resp_free(&r);
    }
    char path[64], headers[200];
    test_status_path(path, sizeof path, j.id);
    snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\nContent-Type: text/plain\r\n",
             j.token);
    http_resp r;
    test_call(port, "PATCH", path, headers, "{\"progress\":60}", &r);
    test_assert_problem(&r, 415, "unsupported-media-type",
                        "application/json or application/merge-patch+json");
    http_resp_free(&r);
    snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\n"
             "Content-Type: application/merge-patch+json\r\n", j.token);
    test_call(port, "PATCH", path, headers, "", &r);
    test_assert_problem(&r, 400, "invalid-json", NULL);
    http_resp_free(&r);

    /* nothing above changed the job */
    cJSON *v = test_get_job(port, j.id, NULL);
    assert_string_equal(test_jstr(v, "status"), "processing");
    assert_int_equal(test_jint(v, "progress"), 50);
    assert_string_equal(test_jstr(v, "stage"), "half");
    cJSON_Delete(v);
    /* merge-patch+json is taken as well */
    test_call(port, "PATCH", path, headers, "{\"progress\":60}", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

static void test_reports_on_another_instance_are_handled_the_same(void **state)
{
    app_fixture *f = *state;
    unsigned a = f->sd->proc.port;
    test_statusd *peer = app_start_peer(f);
    assert_non_null(peer);
    unsigned b = peer->proc.port;
    ext_job j = submit_external(a, "{\"doc\":\"report.pdf\"}");
    cJSON *v = report(b, j.id, j.token, "{\"progress\":25,\"stage\":\"reading\"}", 200);
    assert_int_equal(test_jint(v, "progress"), 25);
    cJSON_Delete(v);
    v = test_get_job(a, j.id, NULL);
    assert_int_equal(test_jint(v, "progress"), 25);
    assert_string_equal(test_jstr(v, "stage"), "reading");
    cJSON_Delete(v);
    http_resp r;
    app_report(b, j.id, "0123456789abcdef0123456789abcdef", "{\"progress\":30}", &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    /* keeps it alive past job_timeout from the other instance too */
    for (int i = 0; i < 8; i++) {
        test_sleep_ms(500);
        cJSON_Delete(report(b, j.id, j.token, "{}", 200));
    }
    cJSON_Delete(report(b, j.id, j.token, "{\"status\":\"completed\",\"result\":{\"pages\":3}}",
                        200));
    v = test_get_job(a, j.id, NULL);
    assert_string_equal(test_jstr(v, "status"), "completed");
    assert_int_equal(test_jint(cJSON_GetObjectItemCaseSensitive(v, "result"), "pages"), 3);
    cJSON_Delete(v);

    /* and one the other instance never hears of times out there too */
    ext_job t = submit_external(b, "{}");
    cJSON *done = test_wait_job_status(a, t.id, "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(done, "timeout", NULL);
    cJSON_Delete(done);
    assert_int_equal(test_statusd_stop(peer), 0);
}

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, app_teardown)
#define ON_BOTH(test) TEST_ON_BOTH(test, app_memory_setup, app_redis_setup, app_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_external_job_starts_processing_with_a_token_only_in_its_202),
        ON_BOTH(test_app_may_fail_the_job_with_its_own_error),
        ON_BOTH(test_external_job_without_reports_fails_with_timeout_and_no_retry),
        TEST_ON_BOTH(test_reports_keep_the_run_alive_and_renew_the_ttl_past_its_slack,
                     short_ttl_memory_setup, short_ttl_redis_setup, app_teardown),
        ON_BOTH(test_missing_and_wrong_tokens_are_401),
        ON_BOTH(test_token_of_an_earlier_run_is_409_stale_run),
        ON_BOTH(test_report_on_a_finished_job_is_409_job_finished),
        ON_BOTH(test_every_bad_report_body_is_400_naming_the_field),
        ON(test_reports_on_another_instance_are_handled_the_same, app_redis_setup),
    };
    return cmocka_run_group_tests_name("job_reports", tests, app_group_setup,
                                       app_group_teardown);
}
