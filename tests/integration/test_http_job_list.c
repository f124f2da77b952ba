/*
 * GET /jobs (the listing: newest first, filters, pages while jobs are
 * added, bad parameters, tokens) and POST /status/<id>/retry (each state)
 * over HTTP against a real statusd, on the memory store and on Redis.
 * Jobs of the external kind "ext" stay processing until reported, so
 * listings of them do not move; demo jobs that must be caught queued or
 * running take seconds.
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

#include "http_test.h"
#include "redis_server.h"

#define ADMIN "Authorization: Bearer admin-token-for-listing\r\n"
#define API "Authorization: Bearer api-token-for-listing\r\n"

static const char *const job_args[] = {
    "--set", "admin_token=admin-token-for-listing", "--set", "api_token=api-token-for-listing",
    "--set", "handler_ext=external", "--set", "workers=1", "--set", "demo_step_ms=1500",
    "--set", "max_attempts=1", NULL};

static int memory_setup(void **state) { return test_fixture_setup(state, false, NULL, job_args); }
static int redis_setup(void **state) { return test_fixture_setup(state, true, NULL, job_args); }

static unsigned port_of(void **state) { return test_fixture_port(state); }

/* POSTs body to path with the API token; asserts 202; returns the id. */
static char *submit(unsigned port, const char *path, const char *body)
{
    http_resp r;
    test_call(port, "POST", path, API, body, &r);
    if (r.status != 202)
        fail_msg("POST %s: %d %s", path, r.status, r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    char *id = strdup(test_jstr(v, "id"));
    assert_non_null(id);
    cJSON_Delete(v);
    http_resp_free(&r);
    return id;
}

static char *submit_ext(unsigned port) { return submit(port, "/jobs/ext", "{\"n\":1}"); }

/* DELETE /status/<id> with the API token; asserts 200. */
static void cancel(unsigned port, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/status/%s", id);
    http_resp r;
    test_call(port, "DELETE", path, API, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* GET path with headers; asserts 200; returns the body. */
static cJSON *list(unsigned port, const char *path, const char *headers)
{
    http_resp r;
    test_call(port, "GET", path, headers, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: %d %s", path, r.status, r.body != NULL ? r.body : "");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    cJSON *b = test_body_json(&r);
    http_resp_free(&r);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "items")));
    return b;
}

/* The ids of a listing's items joined by ' ' into out. */
static void item_ids(const cJSON *b, char *out, size_t cap)
{
    out[0] = '\0';
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(b, "items"))
    {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len > 0 ? " " : "", test_jstr(it, "id"));
    }
}

/* The listing's next_cursor, or NULL when it is null. */
static const char *cursor_of(const cJSON *b)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(b, "next_cursor");
    if (cJSON_IsNull(c))
        return NULL;
    assert_true(cJSON_IsString(c));
    return c->valuestring;
}

static void expect_ids(unsigned port, const char *path, const char *want)
{
    cJSON *b = list(port, path, ADMIN);
    char got[4096];
    item_ids(b, got, sizeof got);
    assert_string_equal(got, want);
    cJSON_Delete(b);
}

/* ---- the listing ---- */

static void test_listing_pages_newest_first_while_jobs_are_added(void **state)
{
    unsigned port = port_of(state);
    char *ids[9];
    for (int i = 0; i < 7; i++)
        ids[i] = submit_ext(port);
    cJSON *b = list(port, "/jobs?kind=ext&limit=3", API);
    char got[4096], want[4096], path[256];
    item_ids(b, got, sizeof got);
    snprintf(want, sizeof want, "%s %s %s", ids[6], ids[5], ids[4]);
    assert_string_equal(got, want);
    /* items carry no input nor result unless asked for */
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "items"), 0);
    assert_string_equal(test_jstr(first, "status"), "processing");
    assert_string_equal(test_jstr(first, "kind"), "ext");
    assert_null(cJSON_GetObjectItemCaseSensitive(first, "input"));
    assert_null(cJSON_GetObjectItemCaseSensitive(first, "result"));
    assert_non_null(cursor_of(b));
    snprintf(path, sizeof path, "/jobs?kind=ext&limit=3&cursor=%s", cursor_of(b));
    cJSON_Delete(b);

    ids[7] = submit_ext(port);
    ids[8] = submit_ext(port);
    b = list(port, path, ADMIN);
    item_ids(b, got, sizeof got);
    snprintf(want, sizeof want, "%s %s %s", ids[3], ids[2], ids[1]);
    assert_string_equal(got, want);
    snprintf(path, sizeof path, "/jobs?kind=ext&limit=3&cursor=%s", cursor_of(b));
    cJSON_Delete(b);
    b = list(port, path, ADMIN);
    item_ids(b, got, sizeof got);
    assert_string_equal(got, ids[0]);
    assert_null(cursor_of(b));
    cJSON_Delete(b);

    /* the two added since lead a new listing; full=1 adds the input */
    b = list(port, "/jobs?limit=2&full=1", ADMIN);
    item_ids(b, got, sizeof got);
    snprintf(want, sizeof want, "%s %s", ids[8], ids[7]);
    assert_string_equal(got, want);
    first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "items"), 0);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(first, "input");
    assert_int_equal(test_jint(input, "n"), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(first, "result")));
    cJSON_Delete(b);
    /* the default limit is 50 */
    for (int i = 9; i < 52; i++)
        free(submit_ext(port));
    b = list(port, "/jobs", ADMIN);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "items")), 50);
    assert_non_null(cursor_of(b));
    cJSON_Delete(b);
    for (int i = 0; i < 9; i++)
        free(ids[i]);
}

static void test_listing_filters_by_status_and_kind(void **state)
{
    unsigned port = port_of(state);
    char *failing = submit(port, "/research",
                           "{\"query\":\"q\",\"params\":{\"fail\":true}}");
    char *e1 = submit_ext(port), *e2 = submit_ext(port);
    cancel(port, e1);
    cJSON_Delete(test_wait_job_status(port, failing, "failed", 0, 20000));

    expect_ids(port, "/jobs?status=failed", failing);
    expect_ids(port, "/jobs?status=canceled", e1);
    expect_ids(port, "/jobs?status=processing", e2);
    expect_ids(port, "/jobs?status=queued", "");
    expect_ids(port, "/jobs?status=completed", "");
    expect_ids(port, "/jobs?kind=research", failing);
    expect_ids(port, "/jobs?kind=ext&status=canceled", e1);
    expect_ids(port, "/jobs?kind=ext&status=failed", "");
    expect_ids(port, "/jobs?kind=nosuchkind", "");
    char want[256];
    snprintf(want, sizeof want, "%s %s %s", e2, e1, failing);
    expect_ids(port, "/jobs", want);
    /* a failed item carries its error */
    cJSON *b = list(port, "/jobs?status=failed", ADMIN);
    const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "items"), 0);
    test_assert_job_error(it, "demo_failure", NULL);
    cJSON_Delete(b);
    free(failing);
    free(e1);
    free(e2);
}

static void expect_400(unsigned port, const char *path, const char *names)
{
    http_resp r;
    test_call(port, "GET", path, ADMIN, NULL, &r);
    test_assert_problem(&r, 400, "invalid-request", names);
    http_resp_free(&r);
}

static void test_listing_refuses_bad_parameters_naming_them(void **state)
{
    unsigned port = port_of(state);
    expect_400(port, "/jobs?status=done", "status");
    expect_400(port, "/jobs?status=", "status");
    expect_400(port, "/jobs?status=QUEUED", "status");
    expect_400(port, "/jobs?kind=Bad", "kind");
    expect_400(port, "/jobs?kind=", "kind");
    expect_400(port, "/jobs?limit=0", "limit");
    expect_400(port, "/jobs?limit=201", "limit");
    expect_400(port, "/jobs?limit=ten", "limit");
    expect_400(port, "/jobs?limit=5x", "limit");
    expect_400(port, "/jobs?cursor=abc", "cursor");
    expect_400(port, "/jobs?cursor=-5", "cursor");
    expect_400(port, "/jobs?cursor=99999999999999999999999", "cursor");
    expect_400(port, "/jobs?full=yes", "full");
    expect_400(port, "/jobs?status=failed&status=queued", "status");
    expect_400(port, "/jobs?Limit=5", "limit");
    /* the edges are fine */
    expect_ids(port, "/jobs?limit=1", "");
    expect_ids(port, "/jobs?limit=200&cursor=1&full=0", "");
}

static void test_listing_and_retry_need_the_admin_or_api_token(void **state)
{
    unsigned port = port_of(state);
    char *id = submit_ext(port);
    char path[128];
    snprintf(path, sizeof path, "/status/%s/retry", id);
    static const char *const bad[] = {NULL, "Authorization: Bearer wrong\r\n"};
    for (size_t i = 0; i < 2; i++) {
        http_resp r;
        test_call(port, "GET", "/jobs", bad[i], NULL, &r);
        test_assert_problem(&r, 401, "unauthorized", NULL);
        http_resp_free(&r);
        test_call(port, "POST", path, bad[i], NULL, &r);
        test_assert_problem(&r, 401, "unauthorized", NULL);
        http_resp_free(&r);
    }
    cJSON_Delete(list(port, "/jobs", API));
    cJSON_Delete(list(port, "/jobs", ADMIN));
    free(id);
}

/* ---- retry ---- */

/* POST /status/<id>/retry with the token; the answer into r. */
static void retry(unsigned port, const char *id, http_resp *r)
{
    char path[128];
    snprintf(path, sizeof path, "/status/%s/retry", id);
    test_call(port, "POST", path, API, NULL, r);
}

/* Asserts a 200 retry leaving the job queued afresh. */
static void expect_requeued(unsigned port, const char *id)
{
    http_resp r;
    retry(port, id, &r);
    if (r.status != 200)
        fail_msg("retry %s: %d %s", id, r.status, r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "id"), id);
    assert_string_equal(test_jstr(v, "status"), "queued");
    assert_int_equal(test_jint(v, "attempts"), 0);
    assert_int_equal(test_jint(v, "progress"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "error")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "result")));
    assert_string_equal(test_jstr(cJSON_GetObjectItemCaseSensitive(v, "input"), "query"),
                        "again");
    char location[64];
    test_status_path(location, sizeof location, id);
    assert_string_equal(http_header(&r, "Location"), location);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void expect_409(unsigned port, const char *id, const char *why)
{
    http_resp r;
    retry(port, id, &r);
    test_assert_problem(&r, 409, "conflict", why);
    http_resp_free(&r);
}

static void test_retry_of_each_state(void **state)
{
    unsigned port = port_of(state);
    /* the one worker is busy with blocker for 4.5 s */
    char *blocker = submit(port, "/research", "{\"query\":\"blocker\"}");
    cJSON_Delete(test_wait_job_status(port, blocker, "processing", 0, 20000));
    char *job = submit(port, "/research", "{\"query\":\"again\",\"params\":{\"fail\":true}}");

    /* queued: nothing to do, and saying so again changes nothing */
    expect_requeued(port, job);
    expect_requeued(port, job);
    /* processing */
    expect_409(port, blocker, "processing");
    /* canceled while queued, then retried twice */
    http_resp r;
    char path[128];
    cancel(port, job);
    expect_requeued(port, job);
    expect_requeued(port, job);
    expect_ids(port, "/jobs?status=queued", job);
    expect_ids(port, "/jobs?status=canceled", "");

    /* failed: after the blocker is canceled, the job runs and fails */
    cancel(port, blocker);
    cJSON *v = test_wait_job_status(port, job, "failed", 0, 20000);
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    expect_requeued(port, job);
    expect_ids(port, "/jobs?status=failed", "");
    /* it runs again, a fresh attempt budget, and fails again */
    v = test_wait_job_status(port, job, "failed", 0, 20000);
    assert_int_equal(test_jint(v, "attempts"), 1);
    test_assert_job_error(v, "demo_failure", NULL);
    cJSON_Delete(v);

    /* completed: an external job reported done */
    char *ext = submit_ext(port);
    snprintf(path, sizeof path, "/status/%s", ext);
    test_call(port, "PATCH", path, ADMIN "Content-Type: application/json\r\n",
              "{\"status\":\"completed\",\"result\":{\"ok\":true}}", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    expect_409(port, ext, "completed");
    /* a job the app runs itself is never run again by statusd */
    char *ext2 = submit_ext(port);
    expect_409(port, ext2, "processing");
    cancel(port, ext2);
    expect_409(port, ext2, "run by the app");

    /* unknown and malformed ids */
    retry(port, "7d9f5b0c-0b8e-4a8e-9d55-6f1f0b1c2d3e", &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
    test_call(port, "POST", "/status/nope/retry", API, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
    free(blocker);
    free(job);
    free(ext);
    free(ext2);
}

#define BOTH(t) TEST_ON_BOTH(t, memory_setup, redis_setup, test_fixture_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        BOTH(test_listing_pages_newest_first_while_jobs_are_added),
        BOTH(test_listing_filters_by_status_and_kind),
        BOTH(test_listing_refuses_bad_parameters_naming_them),
        BOTH(test_listing_and_retry_need_the_admin_or_api_token),
        BOTH(test_retry_of_each_state),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
