/*
 * Bad input over real HTTP against a real statusd: every request the API
 * refuses, with its exact status and problem type, the limits on either
 * side of their edges, and bytes that are not HTTP at all, after which
 * other clients must still be served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

#define MAX_BODY 65536   /* the default max_body */
#define JSON_CT "Content-Type: application/json\r\n"

/* A well-formed id that no job has. */
static const char UNKNOWN_ID[] = "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b30";

/* ---- helpers ---- */

/* POST /research on its own connection with exactly these header lines
 * (nothing added but Host and Content-Length). */
static void post_raw(unsigned port, const char *headers, const char *body, size_t len,
                     http_resp *r)
{
    int fd = http_connect(port, 10000);
    assert_true(fd >= 0);
    assert_int_equal(http_request(fd, "POST", "/research", headers, body, len, r), 0);
    close(fd);
}

static void expect_post_problem(unsigned port, const char *body, int status,
                                const char *slug, const char *detail_has)
{
    http_resp r;
    post_raw(port, JSON_CT, body, strlen(body), &r);
    test_assert_problem(&r, status, slug, detail_has);
    http_resp_free(&r);
}

/* POSTs a body that must be accepted; the job's view (caller deletes). */
static cJSON *expect_accepted(unsigned port, const char *headers, const char *body)
{
    http_resp r;
    post_raw(port, headers, body, strlen(body), &r);
    if (r.status != 202)
        fail_msg("expected 202, got %d: %s", r.status, r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    http_resp_free(&r);
    return v;
}

static void expect_status(unsigned port, const char *method, const char *path, int status,
                          const char *slug)
{
    http_resp r;
    assert_int_equal(http_do(port, method, path, NULL, NULL, &r), 0);
    if (strcmp(method, "HEAD") == 0)
        assert_int_equal(r.status, status);
    else
        test_assert_problem(&r, status, slug, NULL);
    http_resp_free(&r);
}

/* A refused connection: closed with nothing said, or a 4xx answer. */
static void assert_refused(const char *out, size_t got)
{
    if (got == 0)
        return;
    if (!(strncmp(out, "HTTP/1.", 7) == 0 && got > 12 && out[9] == '4'))
        fail_msg("expected a 4xx answer or a close, got: %.200s", out);
}

/* ---- fixtures ---- */

static int errors_setup(void **state)
{
    static const char *const args[] = {"--set", "demo_step_ms=50", "--set",
                                       "drain_timeout=1", NULL};
    return test_statusd_setup(state, args);
}

static int queue_setup(void **state)
{
    static const char *const args[] = {"--set", "workers=1", "--set", "queue_capacity=1",
                                       "--set", "demo_step_ms=2000", "--set",
                                       "drain_timeout=1", NULL};
    return test_statusd_setup(state, args);
}

/* ---- bodies ---- */

static void test_malformed_json_is_400_invalid_json(void **state)
{
    test_statusd *f = *state;
    const char *bodies[] = {"{\"query\":", "{query:\"x\"}", "{\"query\":\"x\",}",
                            "{\"query\":\"x\"} {}", "{\"query\":\"x\"}]", "nul",
                            "{\"query\":\"tab\there\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_post_problem(f->proc.port, bodies[i], 400, "invalid-json", NULL);
}

static void test_empty_body_is_400_invalid_json(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    post_raw(f->proc.port, JSON_CT, "", 0, &r);
    test_assert_problem(&r, 400, "invalid-json", NULL);
    http_resp_free(&r);
    expect_post_problem(f->proc.port, "   \r\n", 400, "invalid-json", NULL);
}

static void test_invalid_utf8_is_400_invalid_json(void **state)
{
    test_statusd *f = *state;
    const char *bodies[] = {
        "{\"query\":\"\xff\"}",               /* never valid */
        "{\"query\":\"\xc0\xaf\"}",           /* overlong '/' */
        "{\"query\":\"\xed\xa0\x80\"}",       /* a surrogate */
        "{\"query\":\"\xf4\x90\x80\x80\"}",   /* past U+10FFFF */
        "{\"query\":\"cut \xc3\"}",           /* a sequence cut short */
        "{\"query\":\"q\",\"params\":{\"\xfe\":1}}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_post_problem(f->proc.port, bodies[i], 400, "invalid-json", NULL);
}

/* {"query":"q","params":{"a":{"a":...{}...}}}, nested depth levels in all. */
static char *nested_body(int depth)
{
    size_t cap = 64 + (size_t)depth * 8;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t n = (size_t)snprintf(b, cap, "{\"query\":\"q\",\"params\":");
    for (int i = 0; i < depth - 2; i++)
        n += (size_t)snprintf(b + n, cap - n, "{\"a\":");
    n += (size_t)snprintf(b + n, cap - n, "{}");
    for (int i = 0; i < depth - 2; i++)
        b[n++] = '}';
    b[n++] = '}';
    b[n] = '\0';
    return b;
}

static void test_json_nested_33_deep_is_400_json_too_deep(void **state)
{
    test_statusd *f = *state;
    char *body = nested_body(33);
    expect_post_problem(f->proc.port, body, 400, "json-too-deep", "32");
    free(body);
    char arrays[67];
    memset(arrays, '[', 33);
    memset(arrays + 33, ']', 33);
    arrays[66] = '\0';
    expect_post_problem(f->proc.port, arrays, 400, "json-too-deep", NULL);
}

static void test_json_nested_32_deep_is_accepted(void **state)
{
    test_statusd *f = *state;
    char *body = nested_body(32);
    cJSON *v = expect_accepted(f->proc.port, JSON_CT, body);
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(v, "input"), "params");
    for (int i = 0; i < 30; i++)
        level = cJSON_GetObjectItemCaseSensitive(level, "a");
    assert_true(cJSON_IsObject(level));
    assert_int_equal(cJSON_GetArraySize(level), 0);
    cJSON_Delete(v);
    free(body);
}

static void test_brackets_inside_strings_do_not_count_as_nesting(void **state)
{
    test_statusd *f = *state;
    char body[128];
    snprintf(body, sizeof body, "{\"query\":\"%s\"}",
             "{{{{{{{{{{[[[[[[[[[[{{{{{{{{{{[[[[[[[[[[");
    cJSON *v = expect_accepted(f->proc.port, JSON_CT, body);
    cJSON_Delete(v);
}

static void test_body_that_is_not_an_object_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    const char *bodies[] = {"[\"query\"]", "\"query\"", "42", "null", "true"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_post_problem(f->proc.port, bodies[i], 400, "invalid-request", "object");
}

static void test_missing_query_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    expect_post_problem(f->proc.port, "{}", 400, "invalid-request", "query");
    expect_post_problem(f->proc.port, "{\"params\":{}}", 400, "invalid-request", "query");
}

static void test_query_that_is_not_a_string_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    const char *bodies[] = {"{\"query\":42}", "{\"query\":null}", "{\"query\":[\"x\"]}",
                            "{\"query\":{\"q\":\"x\"}}", "{\"query\":true}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_post_problem(f->proc.port, bodies[i], 400, "invalid-request", "query");
}

static void test_empty_query_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    expect_post_problem(f->proc.port, "{\"query\":\"\"}", 400, "invalid-request", "query");
}

/* {"query":"<count times unit>"} */
static char *query_body(const char *unit, size_t count)
{
    size_t ulen = strlen(unit), cap = 32 + ulen * count;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t n = (size_t)snprintf(b, cap, "{\"query\":\"");
    for (size_t i = 0; i < count; i++, n += ulen)
        memcpy(b + n, unit, ulen);
    snprintf(b + n, cap - n, "\"}");
    return b;
}

static void test_query_of_1001_characters_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    char *ascii = query_body("x", 1001);
    expect_post_problem(f->proc.port, ascii, 400, "invalid-request", "1001");
    free(ascii);
    char *accented = query_body("\xc3\xa9", 1001);
    expect_post_problem(f->proc.port, accented, 400, "invalid-request", "1001");
    free(accented);
}

static void test_query_of_1000_characters_is_accepted_multibyte_too(void **state)
{
    test_statusd *f = *state;
    char *ascii = query_body("x", 1000);
    cJSON_Delete(expect_accepted(f->proc.port, JSON_CT, ascii));
    free(ascii);

    /* 1000 characters, 2000 bytes */
    char *accented = query_body("\xc3\xa9", 1000);
    cJSON *v = expect_accepted(f->proc.port, JSON_CT, accented);
    const char *q = test_jstr(cJSON_GetObjectItemCaseSensitive(v, "input"), "query");
    assert_non_null(q);
    assert_int_equal(strlen(q), 2000);
    assert_int_equal(strncmp(q, accented + strlen("{\"query\":\""), 2000), 0);
    cJSON_Delete(v);
    free(accented);

    /* 1000 characters of four bytes each */
    char *emoji = query_body("\xf0\x9f\x98\x80", 1000);
    cJSON_Delete(expect_accepted(f->proc.port, JSON_CT, emoji));
    free(emoji);
}

static void test_params_that_is_not_an_object_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    const char *bodies[] = {"{\"query\":\"q\",\"params\":[1]}",
                            "{\"query\":\"q\",\"params\":\"x\"}",
                            "{\"query\":\"q\",\"params\":3}",
                            "{\"query\":\"q\",\"params\":true}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_post_problem(f->proc.port, bodies[i], 400, "invalid-request", "params");
}

static void test_null_params_is_taken_as_no_params(void **state)
{
    test_statusd *f = *state;
    cJSON *v = expect_accepted(f->proc.port, JSON_CT, "{\"query\":\"q\",\"params\":null}");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(v, "input"), "params");
    assert_true(cJSON_IsObject(params));
    assert_int_equal(cJSON_GetArraySize(params), 0);
    cJSON_Delete(v);
}

static void test_unknown_or_repeated_field_is_400_invalid_request(void **state)
{
    test_statusd *f = *state;
    expect_post_problem(f->proc.port, "{\"query\":\"q\",\"extra\":1}", 400, "invalid-request",
                        "extra");
    expect_post_problem(f->proc.port, "{\"Query\":\"q\"}", 400, "invalid-request", "Query");
    expect_post_problem(f->proc.port, "{\"query\":\"q\",\"query\":\"r\"}", 400,
                        "invalid-request", "query");
}

/* ---- content type and size ---- */

static void test_missing_or_wrong_content_type_is_415(void **state)
{
    test_statusd *f = *state;
    static const char body[] = "{\"query\":\"q\"}";
    const char *headers[] = {"", "Content-Type: text/plain\r\n",
                             "Content-Type: application/x-www-form-urlencoded\r\n",
                             "Content-Type: application/jsonx\r\n",
                             "Content-Type: application/problem+json\r\n",
                             "Content-Type: \r\n"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        http_resp r;
        post_raw(f->proc.port, headers[i], body, strlen(body), &r);
        test_assert_problem(&r, 415, "unsupported-media-type", "application/json");
        http_resp_free(&r);
    }
}

static void test_json_content_type_with_charset_or_other_case_is_accepted(void **state)
{
    test_statusd *f = *state;
    const char *headers[] = {"Content-Type: application/json; charset=utf-8\r\n",
                             "Content-Type: application/json;charset=UTF-8\r\n",
                             "Content-Type: Application/JSON\r\n"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        cJSON_Delete(expect_accepted(f->proc.port, headers[i], "{\"query\":\"q\"}"));
}

static void test_announced_content_length_over_max_body_is_413(void **state)
{
    test_statusd *f = *state;
    const char *headers[] = {JSON_CT "Content-Length: 65537\r\n",
                             JSON_CT "Content-Length: 1000000000000\r\n"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        /* only the headers (one byte over, and far over): the answer comes
         * before any body is sent */
        http_resp r;
        post_raw(f->proc.port, headers[i], NULL, 0, &r);
        test_assert_problem(&r, 413, "body-too-large", NULL);
        http_resp_free(&r);
    }
    assert_true(test_health_ok(f->proc.port));
}

/* {"query":"q","params":{"pad":"xxx..."}} of exactly len bytes. */
static char *padded_body(size_t len)
{
    static const char head[] = "{\"query\":\"q\",\"params\":{\"pad\":\"", tail[] = "\"}}";
    char *b = malloc(len + 1);
    assert_non_null(b);
    size_t pad = len - (sizeof head - 1) - (sizeof tail - 1);
    memcpy(b, head, sizeof head - 1);
    memset(b + sizeof head - 1, 'x', pad);
    memcpy(b + sizeof head - 1 + pad, tail, sizeof tail);
    return b;
}

static void test_body_of_exactly_max_body_is_accepted(void **state)
{
    test_statusd *f = *state;
    char *body = padded_body(MAX_BODY);
    cJSON *v = expect_accepted(f->proc.port, JSON_CT, body);
    const char *pad = test_jstr(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(v, "input"), "params"),
                           "pad");
    assert_non_null(pad);
    assert_int_equal(strlen(pad), MAX_BODY - strlen("{\"query\":\"q\",\"params\":{\"pad\":\"\"}}"));
    cJSON_Delete(v);
    free(body);
}

/* POST /research with a chunked body framed in chunks of `piece` bytes and
 * Connection: close, then what the server answers until it closes (or 10 s
 * of silence). The server may answer and close before the body ends. */
static size_t post_chunked(unsigned port, const char *body, size_t len, size_t piece,
                           char *out, size_t outlen)
{
    static const char head[] = "POST /research HTTP/1.1\r\nHost: 127.0.0.1\r\n" JSON_CT
                               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    static const char last[] = "0\r\n\r\n";
    /* each chunk: its size in hex (at most 16 digits), CRLF, data, CRLF */
    size_t cap = sizeof head + sizeof last + len + (len / piece + 1) * 20;
    char *req = malloc(cap);
    assert_non_null(req);
    memcpy(req, head, sizeof head - 1);
    size_t n = sizeof head - 1;
    for (size_t off = 0; off < len; off += piece) {
        size_t k = len - off < piece ? len - off : piece;
        n += (size_t)snprintf(req + n, cap - n, "%zx\r\n", k);
        memcpy(req + n, body + off, k);
        memcpy(req + n + k, "\r\n", 2);
        n += k + 2;
    }
    memcpy(req + n, last, sizeof last - 1);
    n += sizeof last - 1;
    size_t got = http_raw(port, req, n, out, outlen, 10000);
    free(req);
    return got;
}

static void test_chunked_body_within_max_body_is_accepted(void **state)
{
    test_statusd *f = *state;
    static const char body[] = "{\"query\":\"sent in chunks\"}";
    char out[4096];
    post_chunked(f->proc.port, body, strlen(body), 5, out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 202 ", 13), 0);
    assert_non_null(strstr(out, "sent in chunks"));
}

static void test_chunked_body_growing_over_max_body_is_413(void **state)
{
    test_statusd *f = *state;
    char *body = padded_body(MAX_BODY + 16 * 1024);
    char out[4096];
    size_t got = post_chunked(f->proc.port, body, MAX_BODY + 16 * 1024, 8192, out, sizeof out);
    free(body);
    if (strncmp(out, "HTTP/1.1 413 ", 13) != 0)
        fail_msg("expected a 413 answer, got %zu bytes: %.200s", got, out);
    assert_non_null(strstr(out, "\"type\":\"/problems/body-too-large\""));
    assert_true(test_health_ok(f->proc.port));
}

/* ---- paths, methods, ids ---- */

static void test_unknown_path_is_404_not_found(void **state)
{
    test_statusd *f = *state;
    char path[128];
    snprintf(path, sizeof path, "/status/%s/extra", UNKNOWN_ID);
    const char *paths[] = {"/index.html", "/nope", "/status", "/status/", "/research/x",
                           "/Health", "/health/", path};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        expect_status(f->proc.port, "GET", paths[i], 404, "not-found");
    expect_status(f->proc.port, "POST", "/nope", 404, "not-found");
    expect_status(f->proc.port, "DELETE", "/nope", 404, "not-found");
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    test_statusd *f = *state;
    char path[64];
    snprintf(path, sizeof path, "/status/%s", UNKNOWN_ID);
    const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"PUT", path, "GET, HEAD, DELETE, PATCH"},
        {"POST", path, "GET, HEAD, DELETE, PATCH"},  {"GET", "/research", "POST"},
        {"GET", "/jobs/resize", "POST"},
        {"DELETE", "/research", "POST"},      {"POST", "/health", "GET, HEAD"},
        {"DELETE", "/ready", "GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        assert_int_equal(http_do(f->proc.port, cases[i].method, cases[i].path, NULL, NULL, &r), 0);
        test_assert_problem(&r, 405, "method-not-allowed", NULL);
        assert_string_equal(http_header(&r, "Allow"), cases[i].allow);
        http_resp_free(&r);
    }
}

static void test_options_on_a_known_path_is_204_with_allow(void **state)
{
    test_statusd *f = *state;
    char path[64];
    snprintf(path, sizeof path, "/status/%s", UNKNOWN_ID);
    const struct {
        const char *path, *allow;
    } cases[] = {{path, "GET, HEAD, DELETE, PATCH"}, {"/research", "POST"}, {"/health", "GET, HEAD"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        assert_int_equal(http_do(f->proc.port, "OPTIONS", cases[i].path, NULL, NULL, &r), 0);
        assert_int_equal(r.status, 204);
        assert_int_equal(r.body_len, 0);
        assert_string_equal(http_header(&r, "Allow"), cases[i].allow);
        assert_non_null(http_header(&r, "X-Request-Id"));
        http_resp_free(&r);
    }
    expect_status(f->proc.port, "OPTIONS", "/nope", 404, "not-found");
}

static void test_non_canonical_job_ids_are_404_not_found(void **state)
{
    test_statusd *f = *state;
    const char *ids[] = {
        "0B7C2C4E-9D1A-4F3B-8E6D-2A5F1C9E7B30",  /* upper case */
        "0b7c2c4e9d1a4f3b8e6d2a5f1c9e7b30",      /* no dashes */
        "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b300", /* too long */
        "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b3",   /* too short */
        "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7bzz",  /* not hex */
        "{0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b30}",
        "0b7c2c4e_9d1a_4f3b_8e6d_2a5f1c9e7b30",
        "garbage",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/status/%s", ids[i]);
        expect_status(f->proc.port, "GET", path, 404, "not-found");
        expect_status(f->proc.port, "DELETE", path, 404, "not-found");
        expect_status(f->proc.port, "HEAD", path, 404, NULL);
    }
}

static void test_unknown_job_id_is_404_not_found(void **state)
{
    test_statusd *f = *state;
    char path[64];
    snprintf(path, sizeof path, "/status/%s", UNKNOWN_ID);
    expect_status(f->proc.port, "GET", path, 404, "not-found");
    expect_status(f->proc.port, "DELETE", path, 404, "not-found");
    expect_status(f->proc.port, "HEAD", path, 404, NULL);
}

/* ---- bytes that are not HTTP ---- */

static void test_random_bytes_are_refused_and_others_still_served(void **state)
{
    test_statusd *f = *state;
    unsigned char junk[4096];
    uint32_t x = 2463534242u;
    for (size_t round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            junk[i] = (unsigned char)x;
        }
        char out[4096];
        size_t got = http_raw(f->proc.port, junk, sizeof junk, out, sizeof out, 10000);
        assert_refused(out, got);
        assert_true(test_health_ok(f->proc.port));
    }
}

static void test_overlong_request_line_is_refused_and_others_still_served(void **state)
{
    test_statusd *f = *state;
    size_t len = 300 * 1024;
    char *req = malloc(len);
    assert_non_null(req);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', len - 5);
    static const char end[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    memcpy(req + len - (sizeof end - 1), end, sizeof end - 1);
    char out[4096];
    size_t got = http_raw(f->proc.port, req, len, out, sizeof out, 10000);
    free(req);
    assert_refused(out, got);
    assert_true(test_health_ok(f->proc.port));
}

static void test_header_without_colon_is_refused_and_others_still_served(void **state)
{
    test_statusd *f = *state;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n";
    char out[4096];
    size_t got = http_raw(f->proc.port, req, sizeof req - 1, out, sizeof out, 10000);
    assert_refused(out, got);
    assert_true(test_health_ok(f->proc.port));
}

static void test_half_sent_request_does_not_hold_up_other_clients(void **state)
{
    test_statusd *f = *state;
    int slow = http_connect(f->proc.port, 10000);
    assert_true(slow >= 0);
    static const char part1[] = "GET /health HTTP/1.1\r\nHo";
    assert_int_equal(send(slow, part1, sizeof part1 - 1, MSG_NOSIGNAL), sizeof part1 - 1);
    for (int i = 0; i < 3; i++)
        assert_true(test_health_ok(f->proc.port));
    static const char part2[] = "st: 127.0.0.1\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(slow, part2, sizeof part2 - 1, MSG_NOSIGNAL), sizeof part2 - 1);
    char out[4096];
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof out && (n = recv(slow, out + got, sizeof out - got - 1, 0)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(slow);
    assert_int_equal(strncmp(out, "HTTP/1.1 200 ", 13), 0);
}

/* ---- a full queue ---- */

typedef struct resubmit {
    unsigned port;
    char id[64];
} resubmit;

static bool accepted_again(void *arg)
{
    resubmit *s = arg;
    http_resp r;
    bool ok = http_do(s->port, "POST", "/research", NULL, "{\"query\":\"again\"}", &r) == 0 &&
              r.status == 202;
    cJSON *v = ok ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
    if (test_jstr(v, "id") != NULL)
        snprintf(s->id, sizeof s->id, "%s", test_jstr(v, "id"));
    cJSON_Delete(v);
    http_resp_free(&r);
    return ok;
}

static void test_full_queue_is_503_queue_full_until_jobs_end(void **state)
{
    test_statusd *f = *state;
    /* One worker and one queue slot: the third submission at the latest
     * finds no room (the second, if the worker has not taken the first). */
    char ids[3][64];
    size_t accepted = 0;
    http_resp r;
    for (;;) {
        assert_int_equal(
            http_do(f->proc.port, "POST", "/research", NULL, "{\"query\":\"fill\"}", &r), 0);
        if (r.status != 202)
            break;
        assert_true(accepted < 2);
        cJSON *v = test_body_json(&r);
        snprintf(ids[accepted++], sizeof ids[0], "%s", test_jstr(v, "id"));
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    assert_true(accepted >= 1);
    test_assert_problem(&r, 503, "queue-full", NULL);
    assert_string_equal(http_header(&r, "Retry-After"), "1");
    http_resp_free(&r);

    for (size_t i = 0; i < accepted; i++)
        test_cancel_job(f->proc.port, ids[i]);
    resubmit s = {f->proc.port, ""};
    assert_true(test_wait_until(accepted_again, &s, TEST_DEADLINE_MS));
    test_cancel_job(f->proc.port, s.id);
}

int main(void)
{
    const struct CMUnitTest errors[] = {
        cmocka_unit_test(test_malformed_json_is_400_invalid_json),
        cmocka_unit_test(test_empty_body_is_400_invalid_json),
        cmocka_unit_test(test_invalid_utf8_is_400_invalid_json),
        cmocka_unit_test(test_json_nested_33_deep_is_400_json_too_deep),
        cmocka_unit_test(test_json_nested_32_deep_is_accepted),
        cmocka_unit_test(test_brackets_inside_strings_do_not_count_as_nesting),
        cmocka_unit_test(test_body_that_is_not_an_object_is_400_invalid_request),
        cmocka_unit_test(test_missing_query_is_400_invalid_request),
        cmocka_unit_test(test_query_that_is_not_a_string_is_400_invalid_request),
        cmocka_unit_test(test_empty_query_is_400_invalid_request),
        cmocka_unit_test(test_query_of_1001_characters_is_400_invalid_request),
        cmocka_unit_test(test_query_of_1000_characters_is_accepted_multibyte_too),
        cmocka_unit_test(test_params_that_is_not_an_object_is_400_invalid_request),
        cmocka_unit_test(test_null_params_is_taken_as_no_params),
        cmocka_unit_test(test_unknown_or_repeated_field_is_400_invalid_request),
        cmocka_unit_test(test_missing_or_wrong_content_type_is_415),
        cmocka_unit_test(test_json_content_type_with_charset_or_other_case_is_accepted),
        cmocka_unit_test(test_announced_content_length_over_max_body_is_413),
        cmocka_unit_test(test_body_of_exactly_max_body_is_accepted),
        cmocka_unit_test(test_chunked_body_within_max_body_is_accepted),
        cmocka_unit_test(test_chunked_body_growing_over_max_body_is_413),
        cmocka_unit_test(test_unknown_path_is_404_not_found),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_options_on_a_known_path_is_204_with_allow),
        cmocka_unit_test(test_non_canonical_job_ids_are_404_not_found),
        cmocka_unit_test(test_unknown_job_id_is_404_not_found),
        cmocka_unit_test(test_random_bytes_are_refused_and_others_still_served),
        cmocka_unit_test(test_overlong_request_line_is_refused_and_others_still_served),
        cmocka_unit_test(test_header_without_colon_is_refused_and_others_still_served),
        cmocka_unit_test(test_half_sent_request_does_not_hold_up_other_clients),
    };
    const struct CMUnitTest queue[] = {
        cmocka_unit_test(test_full_queue_is_503_queue_full_until_jobs_end),
    };
    int failed = cmocka_run_group_tests_name("bad requests", errors, errors_setup,
                                             test_statusd_teardown);
    failed += cmocka_run_group_tests_name("a full queue", queue, queue_setup,
                                          test_statusd_teardown);
    return failed;
}
