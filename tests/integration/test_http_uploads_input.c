/*
 * What POST /uploads, GET /upload-status and POST /uploads/retry refuse,
 * over real HTTP against a real statusd on the memory store and on
 * Redis: every malformed body (400 naming the problem, nothing created),
 * bad JSON, media type and size, missing or bad ids, unknown runs and
 * methods, the api_token and the submit limit.
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

#include "test_http_uploads_common.h"

#define TOKEN "tok-8d1e5b2c9a7f4036e1d2"
#define BEARER "Authorization: Bearer " TOKEN "\r\n"

static const char *const GUARDED[] = {"--set", "api_token=" TOKEN, NULL};
static const char *const LIMITED[] = {"--set", "ratelimit_submit=3", NULL};

static int memory_setup(void **state) { return up_setup(state, false, NULL, NULL); }
static int redis_setup(void **state) { return up_setup(state, true, NULL, NULL); }
static int guarded_memory_setup(void **state) { return up_setup(state, false, NULL, GUARDED); }
static int guarded_redis_setup(void **state) { return up_setup(state, true, NULL, GUARDED); }
static int limited_memory_setup(void **state) { return up_setup(state, false, NULL, LIMITED); }
static int limited_redis_setup(void **state) { return up_setup(state, true, NULL, LIMITED); }

static unsigned port_of(void **state) { return test_fixture_port(state); }

/* ---- bodies ---- */

typedef struct bad_case {
    const char *body;
    const char *detail;
} bad_case;

#define F "{\"field\":\"a\",\"source\":\"s\"}"
#define IDS "\"post_id\":\"p\",\"run_id\":\"r\""

static void test_bad_bodies_are_400_naming_the_problem_and_create_nothing(void **state)
{
    unsigned port = port_of(state);
    char long_id[200], long_name[300], long_source[4200];
    memset(long_id, 'x', 129);
    long_id[129] = '\0';
    char body_id[400], body_name[400], body_source[4400];
    snprintf(body_id, sizeof body_id, "{\"post_id\":\"%s\",\"run_id\":\"r\",\"fields\":[" F "]}",
             long_id);
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    snprintf(body_name, sizeof body_name,
             "{" IDS ",\"fields\":[{\"field\":\"%s\",\"source\":\"s\"}]}", long_name);
    memset(long_source, 's', 4097);
    long_source[4097] = '\0';
    snprintf(body_source, sizeof body_source,
             "{" IDS ",\"fields\":[{\"field\":\"a\",\"source\":\"%s\"}]}", long_source);
    char *many = up_body("p", "r", "f", 101);

    const bad_case cases[] = {
        {"[]", "body must be a JSON object"},
        {"\"text\"", "body must be a JSON object"},
        {"{\"run_id\":\"r\",\"fields\":[" F "]}", "'post_id' is required"},
        {"{\"post_id\":\"p\",\"fields\":[" F "]}", "'run_id' is required"},
        {"{\"post_id\":5,\"run_id\":\"r\",\"fields\":[" F "]}",
         "'post_id' must be a string of 1 to 128 characters of A-Z a-z 0-9 . _ : + @ -"},
        {"{\"post_id\":\"\",\"run_id\":\"r\",\"fields\":[" F "]}", "'post_id' must be"},
        {"{\"post_id\":\"a/b\",\"run_id\":\"r\",\"fields\":[" F "]}", "'post_id' must be"},
        {"{\"post_id\":\"a b\",\"run_id\":\"r\",\"fields\":[" F "]}", "'post_id' must be"},
        {body_id, "'post_id' must be"},
        {"{\"post_id\":\"p\",\"run_id\":\"r?1\",\"fields\":[" F "]}", "'run_id' must be"},
        {"{\"post_id\":\"p\",\"run_id\":null,\"fields\":[" F "]}", "'run_id' must be"},
        {"{" IDS "}", "'fields' is required"},
        {"{" IDS ",\"fields\":{}}", "'fields' must be an array"},
        {"{" IDS ",\"fields\":[]}", "'fields' must hold 1 to 100 fields, got 0"},
        {many, "'fields' must hold 1 to 100 fields, got 101"},
        {"{" IDS ",\"fields\":[5]}", "fields[0] must be an object"},
        {"{" IDS ",\"fields\":[" F ",[]]}", "fields[1] must be an object"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\"}]}", "fields[0].source is required"},
        {"{" IDS ",\"fields\":[{\"source\":\"s\"}]}", "fields[0].field is required"},
        {"{" IDS ",\"fields\":[{\"field\":7,\"source\":\"s\"}]}",
         "fields[0].field must be a string"},
        {"{" IDS ",\"fields\":[" F ",{\"field\":\"b\",\"source\":{}}]}",
         "fields[1].source must be a string"},
        {"{" IDS ",\"fields\":[{\"field\":\"\",\"source\":\"s\"}]}",
         "fields[0].field must be 1 to 128 bytes, got 0"},
        {body_name, "fields[0].field must be 1 to 128 bytes, got 129"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\\u0001b\",\"source\":\"s\"}]}",
         "fields[0].field must not contain control characters"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\\u007f\",\"source\":\"s\"}]}",
         "fields[0].field must not contain control characters"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\",\"source\":\"\"}]}",
         "fields[0].source must be 1 to 4096 bytes, got 0"},
        {body_source, "fields[0].source must be 1 to 4096 bytes, got 4097"},
        {"{" IDS ",\"fields\":[" F ",{\"field\":\"b\",\"source\":\"s\"},"
         "{\"field\":\"a\",\"source\":\"t\"}]}",
         "fields[2].field repeats the name of fields[0]; field names must be distinct"},
        {"{" IDS ",\"fields\":[" F "],\"extra\":1}", "unknown member 'extra'"},
        {"{\"post_id\":\"p\",\"post_id\":\"q\",\"run_id\":\"r\",\"fields\":[" F "]}",
         "repeated member 'post_id'"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\",\"source\":\"s\",\"kind\":\"x\"}]}",
         "fields[0]: unknown member 'kind'"},
        {"{" IDS ",\"fields\":[{\"field\":\"a\",\"field\":\"b\",\"source\":\"s\"}]}",
         "fields[0]: repeated member 'field'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        up_call(port, "POST", "/uploads", NULL, cases[i].body, &r);
        test_assert_problem(&r, 400, "invalid-request", cases[i].detail);
        http_resp_free(&r);
    }
    free(many);
    /* nothing was created: no run, no job */
    http_resp r;
    up_call(port, "GET", "/upload-status?post_id=p&run_id=r", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", "no upload run with post_id p and run_id r");
    http_resp_free(&r);
    up_call(port, "GET", "/stats", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *stats = test_body_json(&r);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(stats, "jobs");
    const cJSON *n;
    cJSON_ArrayForEach(n, jobs) assert_int_equal(n->valueint, 0);
    cJSON_Delete(stats);
    http_resp_free(&r);
}

static void test_bad_json_media_type_and_size_are_refused_before_the_route(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    up_call(port, "POST", "/uploads", NULL, "{\"post_id\":", &r);
    test_assert_problem(&r, 400, "invalid-json", NULL);
    http_resp_free(&r);
    up_call(port, "POST", "/uploads", "Content-Type: text/plain\r\n", "{}", &r);
    test_assert_problem(&r, 415, "unsupported-media-type", "application/json");
    http_resp_free(&r);
    static const char head[] = "{" IDS ",\"fields\":[{\"field\":\"a\",\"source\":\"";
    static const char tail[] = "\"}]}";
    size_t big = 70000;
    char *body = malloc(sizeof head + big + sizeof tail);
    assert_non_null(body);
    memcpy(body, head, sizeof head - 1);
    memset(body + sizeof head - 1, 's', big);
    memcpy(body + sizeof head - 1 + big, tail, sizeof tail);
    up_call(port, "POST", "/uploads", NULL, body, &r);
    test_assert_problem(&r, 413, "body-too-large", NULL);
    http_resp_free(&r);
    free(body);
}

static void test_status_and_retry_refuse_missing_or_bad_ids_and_unknown_runs(void **state)
{
    unsigned port = port_of(state);
    static const struct {
        const char *query;
        int status;
        const char *slug, *detail;
    } cases[] = {
        {"", 400, "invalid-request", "the query parameter post_id is required"},
        {"?run_id=r", 400, "invalid-request", "the query parameter post_id is required"},
        {"?post_id=p", 400, "invalid-request", "the query parameter run_id is required"},
        {"?post_id=a%2Fb&run_id=r", 400, "invalid-request",
         "post_id must be 1 to 128 characters of A-Z a-z 0-9 . _ : + @ -"},
        {"?post_id=p&run_id=", 400, "invalid-request", "run_id must be"},
        {"?post_id=p&run_id=a+b", 400, "invalid-request", "run_id must be"},
        {"?post_id=p&run_id=nope", 404, "not-found",
         "no upload run with post_id p and run_id nope (unknown or expired)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        http_resp r;
        snprintf(path, sizeof path, "/upload-status%s", cases[i].query);
        up_call(port, "GET", path, NULL, NULL, &r);
        test_assert_problem(&r, cases[i].status, cases[i].slug, cases[i].detail);
        http_resp_free(&r);
        snprintf(path, sizeof path, "/uploads/retry%s", cases[i].query);
        up_call(port, "POST", path, NULL, NULL, &r);
        test_assert_problem(&r, cases[i].status, cases[i].slug, cases[i].detail);
        http_resp_free(&r);
    }
    http_resp r;
    up_call(port, "GET", "/uploads", NULL, NULL, &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(http_header(&r, "Allow"), "POST");
    http_resp_free(&r);
    up_call(port, "DELETE", "/upload-status?post_id=p&run_id=r", NULL, NULL, &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(http_header(&r, "Allow"), "GET, HEAD");
    http_resp_free(&r);
}

/* ---- tokens and limits ---- */

static void test_token_guards_post_and_retry_but_not_status(void **state)
{
    unsigned port = port_of(state);
    const char *body = "{\"post_id\":\"p\",\"run_id\":\"tok\",\"fields\":[" F "]}";
    http_resp r;
    up_call(port, "POST", "/uploads", NULL, body, &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    up_call(port, "POST", "/uploads", "Authorization: Bearer wrong-token-0123456789\r\n", body,
            &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    up_call(port, "POST", "/uploads", BEARER, body, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    cJSON_Delete(up_wait(port, "p", "tok", "completed"));
    up_call(port, "POST", "/uploads/retry?post_id=p&run_id=tok", NULL, NULL, &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    up_call(port, "POST", "/uploads/retry?post_id=p&run_id=tok", BEARER, NULL, &r);
    test_assert_problem(&r, 409, "conflict", NULL);
    http_resp_free(&r);
}

static void test_submit_limit_counts_uploads_and_retries_per_client(void **state)
{
    unsigned port = port_of(state);
    for (int i = 0; i < 3; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"post_id\":\"p\",\"run_id\":\"l%d\",\"fields\":[" F "]}",
                 i);
        http_resp r;
        up_call(port, "POST", "/uploads", NULL, body, &r);
        assert_int_equal(r.status, 202);
        assert_string_equal(http_header(&r, "RateLimit-Policy"), "\"submit\";q=3;w=60");
        char want[32];
        snprintf(want, sizeof want, "\"submit\";r=%d;t=", 2 - i);
        assert_non_null(http_header(&r, "RateLimit"));
        assert_true(strncmp(http_header(&r, "RateLimit"), want, strlen(want)) == 0);
        http_resp_free(&r);
    }
    http_resp r;
    up_call(port, "POST", "/uploads", NULL,
            "{\"post_id\":\"p\",\"run_id\":\"l3\",\"fields\":[" F "]}", &r);
    test_assert_problem(&r, 429, "rate-limited", NULL);
    assert_non_null(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    up_call(port, "POST", "/uploads/retry?post_id=p&run_id=l0", NULL, NULL, &r);
    test_assert_problem(&r, 429, "rate-limited", NULL);
    http_resp_free(&r);
    /* reads are not limited */
    cJSON_Delete(up_get(port, "p", "l0", NULL));
    up_call(port, "GET", "/upload-status?post_id=p&run_id=l3", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
}

/* ---- the group ---- */

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, up_teardown)
#define ON_BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, up_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_bad_bodies_are_400_naming_the_problem_and_create_nothing, memory_setup,
                redis_setup),
        ON(test_bad_json_media_type_and_size_are_refused_before_the_route, memory_setup),
        ON_BOTH(test_status_and_retry_refuse_missing_or_bad_ids_and_unknown_runs,
                memory_setup, redis_setup),
        ON_BOTH(test_token_guards_post_and_retry_but_not_status, guarded_memory_setup,
                guarded_redis_setup),
        ON_BOTH(test_submit_limit_counts_uploads_and_retries_per_client, limited_memory_setup,
                limited_redis_setup),
    };
    return cmocka_run_group_tests_name("http_uploads_input", tests, up_group_setup,
                                       up_group_teardown);
}
