/*
 * Requests that could mean two things, refused: control characters that
 * decode out of a path or a query value (%00 cutting an id short), query
 * keys given twice or in another case, numbers out of a double's range,
 * and bodies whose length two readers could see differently (two
 * Content-Length headers, or one with Transfer-Encoding), which must be
 * answered 400 and the connection closed, so that nothing after them is
 * read as a request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define ADMIN_AUTH "Authorization: Bearer " ADMIN_TOKEN "\r\n"
#define JSON_CT "Content-Type: application/json\r\n"

static int hardening_setup(void **state)
{
    static const char *const args[] = {"--set", "admin_token=" ADMIN_TOKEN, "--set",
                                       "demo_step_ms=50", "--set", "drain_timeout=1", NULL};
    return test_statusd_setup(state, args);
}

/* The answer's status; asserts nothing else. */
static int status_of(unsigned port, const char *method, const char *path, const char *headers,
                     const char *body)
{
    http_resp r;
    test_call(port, method, path, headers, body, &r);
    int st = r.status;
    http_resp_free(&r);
    return st;
}

/* Asserts a problem answer (see test_assert_problem). */
static void expect_problem(unsigned port, const char *method, const char *path,
                           const char *headers, const char *body, int status,
                           const char *slug, const char *detail_has)
{
    http_resp r;
    test_call(port, method, path, headers, body, &r);
    test_assert_problem(&r, status, slug, detail_has);
    http_resp_free(&r);
}

/* ---- paths ---- */

static void test_nul_in_a_session_id_is_400_and_never_reaches_the_session(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    assert_int_equal(status_of(port, "PUT", "/sessions/a", JSON_CT, "{\"v\":1}"), 201);
    const char *detail = "path parameter id holds a control character";
    expect_problem(port, "GET", "/sessions/a%00junk", NULL, NULL, 400, "invalid-request",
                   detail);
    expect_problem(port, "PUT", "/sessions/a%00junk", JSON_CT, "{\"v\":2}", 400,
                   "invalid-request", detail);
    expect_problem(port, "DELETE", "/sessions/a%00", NULL, NULL, 400, "invalid-request",
                   detail);
    expect_problem(port, "GET", "/sessions/a%0Ajunk", NULL, NULL, 400, "invalid-request",
                   detail);
    expect_problem(port, "GET", "/sessions/a%7Fjunk", NULL, NULL, 400, "invalid-request",
                   detail);
    expect_problem(port, "GET", "/status/%00", NULL, NULL, 400, "invalid-request",
                   "path parameter id");
    /* Outside any parameter the path itself is named. */
    expect_problem(port, "GET", "/hea%00lth", NULL, NULL, 400, "invalid-request",
                   "the path holds a control character");
    /* Session a is as it was. */
    http_resp r;
    test_call(port, "GET", "/sessions/a", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    assert_int_equal(test_jint(cJSON_GetObjectItem(v, "data"), "v"), 1);
    cJSON_Delete(v);
    http_resp_free(&r);
}

/* ---- query strings ---- */

static void test_ambiguous_confirm_never_clears_the_store(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    assert_int_equal(status_of(port, "PUT", "/sessions/kept", JSON_CT, "{}"), 201);
    expect_problem(port, "DELETE", "/admin/data?confirm=true%00x", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "query parameter confirm holds a control character");
    expect_problem(port, "DELETE", "/admin/data?CONFIRM=true", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "query parameter CONFIRM must be spelled confirm");
    expect_problem(port, "DELETE", "/admin/data?Confirm=true&confirm=true", ADMIN_AUTH, NULL,
                   400, "invalid-request", "Confirm must be spelled confirm");
    expect_problem(port, "DELETE", "/admin/data?confirm=true&confirm=false", ADMIN_AUTH,
                   NULL, 400, "invalid-request",
                   "query parameter confirm is given 2 times");
    expect_problem(port, "DELETE", "/admin/data?confirm=false&confirm=true", ADMIN_AUTH,
                   NULL, 400, "invalid-request", "confirm is given 2 times");
    expect_problem(port, "DELETE", "/admin/data?confirm%01=true", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "query parameter name confirm%01 holds a control");
    assert_int_equal(status_of(port, "GET", "/sessions/kept", NULL, NULL), 200);
    /* The plain form still works, with other keys beside it. */
    assert_int_equal(status_of(port, "DELETE", "/admin/data?x=1&confirm=true&x=2", ADMIN_AUTH,
                               NULL), 200);
    assert_int_equal(status_of(port, "GET", "/sessions/kept", NULL, NULL), 404);
}

static void test_listing_refuses_repeated_or_miscased_limit_and_cursor(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    expect_problem(port, "GET", "/sessions?limit=1&limit=1000", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "limit is given 2 times");
    expect_problem(port, "GET", "/sessions?LIMIT=5", ADMIN_AUTH, NULL, 400, "invalid-request",
                   "LIMIT must be spelled limit");
    expect_problem(port, "GET", "/sessions?cursor=0&cursor=0", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "cursor is given 2 times");
    expect_problem(port, "GET", "/sessions?limit=5%00", ADMIN_AUTH, NULL, 400,
                   "invalid-request", "limit holds a control character");
    assert_int_equal(status_of(port, "GET", "/sessions?limit=5", ADMIN_AUTH, NULL), 200);
}

/* ---- numbers ---- */

static void test_numbers_out_of_double_range_are_400(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    const char *bodies[] = {"{\"n\":1e999}", "{\"n\":-1e999}", "{\"a\":[1,{\"b\":2E+400}]}"};
    const char *where[] = {"the number at 'n' is out of range",
                           "the number at 'n' is out of range",
                           "the number at 'a[1].b' is out of range"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        expect_problem(port, "PUT", "/sessions/num", JSON_CT, bodies[i], 400,
                       "invalid-request", where[i]);
        expect_problem(port, "PATCH", "/sessions/num", "Content-Type: "
                       "application/merge-patch+json\r\n", bodies[i], 400, "invalid-request",
                       "out of range");
    }
    expect_problem(port, "POST", "/research", JSON_CT,
                   "{\"query\":\"q\",\"params\":{\"n\":1e999}}", 400, "invalid-request",
                   "out of range");
    assert_int_equal(status_of(port, "GET", "/sessions/num", NULL, NULL), 404);
    /* Large but finite, and tiny (underflow to 0) numbers are fine. */
    assert_int_equal(status_of(port, "PUT", "/sessions/num", JSON_CT,
                               "{\"n\":1e308,\"m\":1e-999}"), 201);
}

/* ---- ambiguous lengths ---- */

/* Sends raw on one connection and reads until the server closes it
 * (bounded); asserts one 400 answer naming why and nothing after it. */
static void expect_refused_and_closed(unsigned port, const char *raw, const char *why)
{
    char out[8192];
    size_t got = http_raw(port, raw, strlen(raw), out, sizeof out, 10000);
    if (strncmp(out, "HTTP/1.1 400 ", 13) != 0)
        fail_msg("expected a 400, got: %.300s", out);
    if (strstr(out, why) == NULL || strstr(out, "application/problem+json") == NULL)
        fail_msg("expected a problem naming '%s', got: %.600s", why, out);
    /* One answer only: the bytes after the headers were not read as a
     * second request. */
    const char *second = strstr(out + 1, "HTTP/1.1 ");
    if (second != NULL)
        fail_msg("a second answer followed: %.600s", out);
    assert_true(got < sizeof out - 1);
}

static void test_two_content_lengths_are_400_and_close(void **state)
{
    test_statusd *f = *state;
    const char *raw = "POST /research HTTP/1.1\r\nHost: x\r\n" JSON_CT
                      "Content-Length: 17\r\nContent-Length: 60\r\n\r\n"
                      "{\"query\":\"abc\"}  GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_refused_and_closed(f->proc.port, raw, "more than one Content-Length");
    const char *same = "POST /research HTTP/1.1\r\nHost: x\r\n" JSON_CT
                       "Content-Length: 15\r\nContent-Length: 15\r\n\r\n{\"query\":\"abc\"}";
    expect_refused_and_closed(f->proc.port, same, "more than one Content-Length");
    assert_true(test_health_ok(f->proc.port));
}

static void test_content_length_with_transfer_encoding_is_400_and_close(void **state)
{
    test_statusd *f = *state;
    const char *raw = "POST /research HTTP/1.1\r\nHost: x\r\n" JSON_CT
                      "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "f\r\n{\"query\":\"abc\"}\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_refused_and_closed(f->proc.port, raw,
                              "Content-Length and Transfer-Encoding together");
    const char *get = "GET /health HTTP/1.1\r\nHost: x\r\n"
                      "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n";
    expect_refused_and_closed(f->proc.port, get, "Content-Length and Transfer-Encoding");
    assert_true(test_health_ok(f->proc.port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_a_session_id_is_400_and_never_reaches_the_session),
        cmocka_unit_test(test_ambiguous_confirm_never_clears_the_store),
        cmocka_unit_test(test_listing_refuses_repeated_or_miscased_limit_and_cursor),
        cmocka_unit_test(test_numbers_out_of_double_range_are_400),
        cmocka_unit_test(test_two_content_lengths_are_400_and_close),
        cmocka_unit_test(test_content_length_with_transfer_encoding_is_400_and_close),
    };
    return cmocka_run_group_tests_name("ambiguous input", tests, hardening_setup,
                                       test_statusd_teardown);
}
