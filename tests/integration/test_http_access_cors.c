/*
 * CORS over real HTTP against a real statusd: no CORS headers without
 * cors_origins; with a list, the allowed origin echoed with Vary and the
 * exposed headers on successes and on error answers, other origins left
 * with Vary alone, preflights (exact allow headers, no token needed even
 * with api_token set), OPTIONS that is no preflight, and "*". Tokens are
 * in test_http_access.c, rate limits in test_http_access_limits.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

#define TOKEN "tok-4f9c2a7e1b6d8035c1e9"
#define BEARER "Authorization: Bearer " TOKEN "\r\n"
#define JOB "{\"query\":\"cors\"}"
#define APP_ORIGIN "https://app.example.com"
#define DEV_ORIGIN "http://localhost:3000"
#define EXPOSED \
    "Location, Retry-After, ETag, RateLimit, RateLimit-Policy, X-Request-Id, Idempotent-Replayed, " \
    "Preference-Applied"
#define ALLOWED_HEADERS \
    "Authorization, Content-Type, Idempotency-Key, If-None-Match, Last-Event-ID, Prefer, " \
    "X-Request-Id"

/* A well-formed id that no job has. */
static const char UNKNOWN_ID[] = "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b30";

/* ---- helpers ---- */

/* A request on its own connection; asserts that the server answered. */
static void request(unsigned port, const char *method, const char *path,
                    const char *headers, const char *body, http_resp *r)
{
    assert_int_equal(http_do(port, method, path, headers, body, r), 0);
}

/* Asserts a 401 problem with the Bearer challenge. */
static void assert_401(const http_resp *r)
{
    test_assert_problem(r, 401, "unauthorized", "Authorization: Bearer");
    test_assert_header(r, "WWW-Authenticate", "Bearer realm=\"statusd\"");
}

/* Asserts that r carries no CORS header and no Vary. */
static void assert_no_cors(const http_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->names[i], "Access-Control-", 15) == 0 ||
            strcasecmp(r->names[i], "Vary") == 0)
            fail_msg("unexpected header %s: %s", r->names[i], r->values[i]);
}

/* Asserts the headers of an answer to an allowed origin. */
static void assert_cors_allowed(const http_resp *r, const char *origin)
{
    test_assert_header(r, "Access-Control-Allow-Origin", origin);
    test_assert_header(r, "Vary", "Origin");
    test_assert_header(r, "Access-Control-Expose-Headers", EXPOSED);
}

/* Asserts that r grants nothing (no Access-Control-*) yet says Vary. */
static void assert_cors_refused(const http_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->names[i], "Access-Control-", 15) == 0)
            fail_msg("unexpected header %s: %s", r->names[i], r->values[i]);
    test_assert_header(r, "Vary", "Origin");
}

/* ---- fixtures ---- */

/* Jobs that stay running; a short drain at the end of each test. */
#define SLOW_JOBS "--set", "demo_step_ms=60000", "--set", "drain_timeout=1"

static int open_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, NULL};
    return test_statusd_setup(state, args);
}

static int cors_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set",
                                       "cors_origins=" APP_ORIGIN "," DEV_ORIGIN,
                                       "--set", "api_token=" TOKEN, NULL};
    return test_statusd_setup(state, args);
}

static int cors_any_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "cors_origins=*", NULL};
    return test_statusd_setup(state, args);
}

/* ---- CORS ---- */

static void test_without_cors_origins_no_cors_headers_and_no_vary(void **state)
{
    test_statusd *f = *state;
    const char *origin = "Origin: " APP_ORIGIN "\r\n";
    http_resp r;
    request(f->proc.port, "GET", "/health", origin, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_no_cors(&r);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", origin, JOB, &r);
    assert_int_equal(r.status, 202);
    assert_no_cors(&r);
    http_resp_free(&r);
    request(f->proc.port, "GET", "/nowhere", origin, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    assert_no_cors(&r);
    http_resp_free(&r);
    request(f->proc.port, "OPTIONS", "/research",
            "Origin: " APP_ORIGIN "\r\nAccess-Control-Request-Method: POST\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    test_assert_header(&r, "Allow", "POST");
    assert_no_cors(&r);
    http_resp_free(&r);
}

static void test_allowed_origin_is_echoed_on_reads_and_posts(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "POST", "/research", BEARER "Origin: " APP_ORIGIN "\r\n", JOB, &r);
    assert_int_equal(r.status, 202);
    assert_cors_allowed(&r, APP_ORIGIN);
    assert_non_null(http_header(&r, "Location"));
    cJSON *v = test_body_json(&r);
    char path[64];
    test_status_path(path, sizeof path, test_jstr(v, "id"));
    cJSON_Delete(v);
    http_resp_free(&r);

    request(f->proc.port, "GET", path, "Origin: " DEV_ORIGIN "\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_cors_allowed(&r, DEV_ORIGIN);
    http_resp_free(&r);
    request(f->proc.port, "GET", "/health", "Origin: " APP_ORIGIN "\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_cors_allowed(&r, APP_ORIGIN);
    http_resp_free(&r);
}

static void test_allowed_origin_is_echoed_on_error_answers(void **state)
{
    test_statusd *f = *state;
    const char *origin = "Origin: " APP_ORIGIN "\r\n";
    http_resp r;
    request(f->proc.port, "GET", "/nowhere", origin, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    assert_cors_allowed(&r, APP_ORIGIN);
    http_resp_free(&r);
    char path[64];
    test_status_path(path, sizeof path, UNKNOWN_ID);
    request(f->proc.port, "GET", path, origin, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    assert_cors_allowed(&r, APP_ORIGIN);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", origin, JOB, &r);
    assert_401(&r);
    assert_cors_allowed(&r, APP_ORIGIN);
    http_resp_free(&r);
    request(f->proc.port, "PUT", "/research", origin, NULL, &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_cors_allowed(&r, APP_ORIGIN);
    http_resp_free(&r);
}

static void test_other_origins_get_vary_but_no_allow_origin(void **state)
{
    test_statusd *f = *state;
    const char *origins[] = {
        "https://evil.example.com", "https://app.example.com.evil.example",
        "http://app.example.com",   /* another scheme */
        "https://app.example.com:8443", "https://APP.EXAMPLE.COM",
        "http://localhost:3001", "null", "*",
    };
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        char headers[128];
        snprintf(headers, sizeof headers, "Origin: %s\r\n", origins[i]);
        http_resp r;
        request(f->proc.port, "GET", "/health", headers, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_cors_refused(&r);
        http_resp_free(&r);
        request(f->proc.port, "POST", "/research", headers, JOB, &r);
        assert_401(&r);
        assert_cors_refused(&r);
        http_resp_free(&r);
    }
    http_resp r;
    request(f->proc.port, "GET", "/health", NULL, NULL, &r);
    assert_cors_refused(&r);
    http_resp_free(&r);
}

static void test_preflight_is_204_with_allow_headers_and_needs_no_token(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "OPTIONS", "/research",
            "Origin: " APP_ORIGIN "\r\nAccess-Control-Request-Method: POST\r\n"
            "Access-Control-Request-Headers: authorization, content-type\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_cors_allowed(&r, APP_ORIGIN);
    test_assert_header(&r, "Allow", "POST");
    test_assert_header(&r, "Access-Control-Allow-Methods", "POST");
    test_assert_header(&r, "Access-Control-Allow-Headers", ALLOWED_HEADERS);
    test_assert_header(&r, "Access-Control-Max-Age", "600");
    assert_null(http_header(&r, "WWW-Authenticate"));
    http_resp_free(&r);

    char path[64];
    test_status_path(path, sizeof path, UNKNOWN_ID);
    request(f->proc.port, "OPTIONS", path,
            "Origin: " DEV_ORIGIN "\r\nAccess-Control-Request-Method: DELETE\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_cors_allowed(&r, DEV_ORIGIN);
    test_assert_header(&r, "Allow", "GET, HEAD, DELETE, PATCH");
    test_assert_header(&r, "Access-Control-Allow-Methods", "GET, HEAD, DELETE, PATCH");
    test_assert_header(&r, "Access-Control-Allow-Headers", ALLOWED_HEADERS);
    test_assert_header(&r, "Access-Control-Max-Age", "600");
    http_resp_free(&r);
}

static void test_preflight_from_other_origin_has_no_allow_headers(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "OPTIONS", "/research",
            "Origin: https://evil.example.com\r\nAccess-Control-Request-Method: POST\r\n"
            "Access-Control-Request-Headers: authorization\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    test_assert_header(&r, "Allow", "POST");
    assert_cors_refused(&r);
    http_resp_free(&r);
}

/* OPTIONS without Access-Control-Request-Method is no preflight: the
 * Allow list and the plain CORS headers, no Allow-Methods/-Headers. */
static void test_plain_options_and_unknown_paths_are_no_preflight(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "OPTIONS", "/research", "Origin: " APP_ORIGIN "\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    test_assert_header(&r, "Allow", "POST");
    assert_cors_allowed(&r, APP_ORIGIN);
    assert_null(http_header(&r, "Access-Control-Allow-Methods"));
    assert_null(http_header(&r, "Access-Control-Allow-Headers"));
    assert_null(http_header(&r, "Access-Control-Max-Age"));
    http_resp_free(&r);
    request(f->proc.port, "OPTIONS", "/nowhere",
            "Origin: " APP_ORIGIN "\r\nAccess-Control-Request-Method: POST\r\n", NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    assert_cors_allowed(&r, APP_ORIGIN);
    assert_null(http_header(&r, "Access-Control-Allow-Methods"));
    http_resp_free(&r);
}

static void test_star_echoes_any_origin_never_a_star(void **state)
{
    test_statusd *f = *state;
    const char *origins[] = {"https://anything.example", "http://127.0.0.1:8080", "null"};
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        char headers[160];
        snprintf(headers, sizeof headers, "Origin: %s\r\nAccess-Control-Request-Method: POST\r\n",
                 origins[i]);
        http_resp r;
        request(f->proc.port, "GET", "/health", headers, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_cors_allowed(&r, origins[i]);
        http_resp_free(&r);
        request(f->proc.port, "OPTIONS", "/research", headers, NULL, &r);
        assert_int_equal(r.status, 204);
        assert_cors_allowed(&r, origins[i]);
        test_assert_header(&r, "Access-Control-Allow-Methods", "POST");
        http_resp_free(&r);
    }
    http_resp r;
    request(f->proc.port, "GET", "/health", NULL, NULL, &r);
    assert_cors_refused(&r);
    http_resp_free(&r);
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_statusd_teardown)

int main(void)
{
    /* The fixtures decide the origins and tokens; inherited ones would
     * skew them. */
    unsetenv("API_TOKEN");
    unsetenv("STATUSD_API_TOKEN");
    unsetenv("STATUSD_CORS_ORIGINS");
    static const struct CMUnitTest tests[] = {
        WITH(test_without_cors_origins_no_cors_headers_and_no_vary, open_setup),
        WITH(test_allowed_origin_is_echoed_on_reads_and_posts, cors_setup),
        WITH(test_allowed_origin_is_echoed_on_error_answers, cors_setup),
        WITH(test_other_origins_get_vary_but_no_allow_origin, cors_setup),
        WITH(test_preflight_is_204_with_allow_headers_and_needs_no_token, cors_setup),
        WITH(test_preflight_from_other_origin_has_no_allow_headers, cors_setup),
        WITH(test_plain_options_and_unknown_paths_are_no_preflight, cors_setup),
        WITH(test_star_echoes_any_origin_never_a_star, cors_any_setup),
    };
    return cmocka_run_group_tests_name("http_access_cors", tests, NULL, NULL);
}
