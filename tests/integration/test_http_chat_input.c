/*
 * What the conversations API refuses and how it reads its URLs, over real
 * HTTP on the memory store (validation never reaches the store, so one
 * store is enough): every malformed POST /chat body, the limits at their
 * edges, malformed user ids in the path, percent-encoded user ids, media
 * types, methods, and the API token.
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
#include "statusd/util.h"

#define TOKEN "chat-test-token-0123456789"
#define ONE_MSG "[{\"role\":\"user\",\"content\":\"x\"}]"

/* ---- fixtures ---- */

/* A max_body of 256 KiB, so content of 32768 two-byte characters fits. */
static int input_setup(void **state)
{
    static const char *const args[] = {"--set", "max_body=262144", NULL};
    return test_statusd_setup(state, args);
}

static int token_setup(void **state)
{
    static const char *const args[] = {"--set", "api_token=" TOKEN, NULL};
    return test_statusd_setup(state, args);
}

/* ---- helpers ---- */

static unsigned port_of(void **state) { return ((test_statusd *)*state)->proc.port; }

/* POSTs body to /chat and asserts a 400 invalid-request whose detail has
 * detail_has. */
static void assert_refused(unsigned port, const char *body, const char *detail_has)
{
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/chat", NULL, body, &r), 0);
    if (r.status != 400)
        fail_msg("body %.200s: expected 400, got %d: %s", body, r.status, r.body);
    test_assert_problem(&r, 400, "invalid-request", detail_has);
    http_resp_free(&r);
}

static int request_status(unsigned port, const char *method, const char *path,
                          const char *headers, const char *body)
{
    http_resp r;
    assert_int_equal(http_do(port, method, path, headers, body, &r), 0);
    int status = r.status;
    http_resp_free(&r);
    return status;
}

/* {"user_id":"u","messages":[<n> messages of content]} */
static void body_of(sd_buf *b, const char *user, int n, const char *content)
{
    sd_buf_printf(b, "{\"user_id\":\"%s\",\"messages\":[", user);
    for (int i = 0; i < n; i++) {
        sd_buf_puts(b, i > 0 ? "," : "");
        sd_buf_puts(b, "{\"role\":\"user\",\"content\":\"");
        sd_buf_puts(b, content);
        sd_buf_puts(b, "\"}");
    }
    sd_buf_puts(b, "]}");
    assert_true(sd_buf_ok(b));
}

/* content of n copies of the two-byte character é */
static char *two_byte_text(size_t n)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[2 * n] = '\0';
    return s;
}

/* ---- bodies ---- */

static void test_post_refuses_every_malformed_body_and_stores_nothing(void **state)
{
    unsigned port = port_of(state);
    static const struct {
        const char *body;
        const char *detail;
    } cases[] = {
        {"{\"messages\":" ONE_MSG "}", "'user_id' is required"},
        {"{\"user_id\":12,\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":null,\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":\"\",\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":\"u v\",\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":\"u/v\",\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":\"u#v\",\"messages\":" ONE_MSG "}", "'user_id' must be 1 to 128"},
        {"{\"user_id\":\"jos\\u00e9\",\"messages\":" ONE_MSG "}", "'user_id' must be"},
        {"{\"user_id\":\"u\"}", "'messages' is required"},
        {"{\"user_id\":\"u\",\"messages\":{}}", "'messages' must be an array"},
        {"{\"user_id\":\"u\",\"messages\":\"hi\"}", "'messages' must be an array"},
        {"{\"user_id\":\"u\",\"messages\":null}", "'messages' must be an array"},
        {"{\"user_id\":\"u\",\"messages\":[]}", "'messages' must hold 1 to 50 messages, got 0"},
        {"{\"user_id\":\"u\",\"messages\":[\"hi\"]}", "messages[0] must be an object"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"admin\",\"content\":\"x\"}]}",
         "messages[0].role must be \"user\", \"assistant\", \"system\" or \"tool\""},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"User\",\"content\":\"x\"}]}",
         "messages[0].role must be"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":1,\"content\":\"x\"}]}",
         "messages[0].role must be"},
        {"{\"user_id\":\"u\",\"messages\":[{\"content\":\"x\"}]}", "messages[0].role must be"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\"}]}",
         "messages[0].content is required"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
         "messages[0].content must be a string"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":null}]}",
         "messages[0].content must be a string"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":[\"x\"]}]}",
         "messages[0].content must be a string"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
         "messages[0].content must be 1 to 32768 characters, got 0"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
         "{\"role\":\"user\",\"content\":\"y\",\"name\":\"bob\"}]}",
         "messages[1]: unknown or repeated field 'name'"},
        {"{\"user_id\":\"u\",\"messages\":[{\"role\":\"user\",\"role\":\"tool\","
         "\"content\":\"x\"}]}",
         "messages[0]: unknown or repeated field 'role'"},
        {"{\"user_id\":\"u\",\"messages\":" ONE_MSG ",\"conversation_id\":\"c\"}",
         "unknown or repeated field 'conversation_id'"},
        {"{\"user_id\":\"u\",\"user_id\":\"v\",\"messages\":" ONE_MSG "}",
         "unknown or repeated field 'user_id'"},
        {"[]", "body must be a JSON object"},
        {"\"u\"", "body must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_refused(port, cases[i].body, cases[i].detail);

    char long_id[130];
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    sd_buf b = SD_BUF_INIT;
    body_of(&b, long_id, 1, "x");
    assert_refused(port, b.data, "'user_id' must be 1 to 128");
    sd_buf_reset(&b);
    body_of(&b, "u", 51, "x");
    assert_refused(port, b.data, "'messages' must hold 1 to 50 messages, got 51");
    sd_buf_reset(&b);
    char *text = two_byte_text(32769);
    body_of(&b, "u", 1, text);
    assert_refused(port, b.data, "messages[0].content must be 1 to 32768 characters, got 32769");
    free(text);
    sd_buf_free(&b);

    assert_int_equal(request_status(port, "GET", "/chat/history/u", NULL, NULL), 404);
}

static void test_post_accepts_the_limits_at_their_edges_and_every_role(void **state)
{
    unsigned port = port_of(state);
    char long_id[129];
    memset(long_id, 'a', 128);
    long_id[128] = '\0';
    sd_buf b = SD_BUF_INIT;
    body_of(&b, long_id, 50, "x");
    assert_int_equal(request_status(port, "POST", "/chat", NULL, b.data), 200);

    sd_buf_reset(&b);
    char *text = two_byte_text(32768);
    body_of(&b, "edge.content", 1, text);
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/chat", NULL, b.data, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "messages"), 0);
    assert_string_equal(test_jstr(m, "content"), text);
    cJSON_Delete(v);
    http_resp_free(&r);
    free(text);
    sd_buf_free(&b);

    const char body[] =
        "{\"user_id\":\"A-z_0.9:+@-\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"},"
        "{\"role\":\"assistant\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\"t\"}]}";
    assert_int_equal(http_do(port, "POST", "/chat", NULL, body, &r), 0);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    static const char *const roles[] = {"system", "user", "assistant", "tool"};
    assert_int_equal(cJSON_GetArraySize(msgs), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(test_jstr(cJSON_GetArrayItem(msgs, i), "role"), roles[i]);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void test_post_with_wrong_media_type_or_bad_json_is_refused(void **state)
{
    unsigned port = port_of(state);
    const char body[] = "{\"user_id\":\"media\",\"messages\":" ONE_MSG "}";
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/chat", "Content-Type: text/plain\r\n", body, &r),
                     0);
    test_assert_problem(&r, 415, "unsupported-media-type", "application/json");
    http_resp_free(&r);

    static const char *const bad[] = {"{\"user_id\":", "{\"user_id\":\"u\",}", "nope",
                                      "{\"user_id\":\"u\"} x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http_do(port, "POST", "/chat", NULL, bad[i], &r), 0);
        test_assert_problem(&r, 400, "invalid-json", NULL);
        http_resp_free(&r);
    }
    int fd = http_connect(port, 10000);
    assert_true(fd >= 0);
    assert_int_equal(http_request(fd, "POST", "/chat", "Content-Type: application/json\r\n",
                                  NULL, 0, &r), 0);
    test_assert_problem(&r, 400, "invalid-json", "a JSON body is required");
    http_resp_free(&r);
    close(fd);
    assert_int_equal(request_status(port, "GET", "/chat/history/media", NULL, NULL), 404);
}

/* ---- paths ---- */

static void test_bad_user_id_in_path_is_400_before_the_store(void **state)
{
    unsigned port = port_of(state);
    char long_path[160];
    snprintf(long_path, sizeof long_path, "/chat/history/%0129d", 7);
    const char *const paths[] = {"/chat/history/a%20b", "/chat/history/a!b",
                                 "/chat/history/a%23b", "/chat/history/jos%C3%A9",
                                 long_path};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (int del = 0; del < 2; del++) {
            http_resp r;
            assert_int_equal(http_do(port, del ? "DELETE" : "GET", paths[i], NULL, NULL, &r),
                             0);
            test_assert_problem(&r, 400, "invalid-request", "user_id must be 1 to 128");
            http_resp_free(&r);
        }
    }
    /* a '/' in an id cannot be told from a path separator */
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/chat/history/a%2Fb", NULL, NULL, &r), 0);
    test_assert_problem(&r, 404, "not-found", "no resource");
    http_resp_free(&r);
}

/* The path arrives percent-decoded: a user id may be sent as is (':',
 * '+' and '@' are allowed in a path segment, and '+' is not a space
 * there) or encoded, in either case. */
static void test_user_id_in_path_may_be_raw_or_percent_encoded(void **state)
{
    unsigned port = port_of(state);
    const char body[] = "{\"user_id\":\"whatsapp:+5215512345678\",\"messages\":" ONE_MSG "}";
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/chat", NULL, body, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *posted = test_body_json(&r);
    http_resp_free(&r);
    const char *const paths[] = {"/chat/history/whatsapp:+5215512345678",
                                 "/chat/history/whatsapp%3A%2B5215512345678",
                                 "/chat/history/whatsapp%3a%2b5215512345678"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_int_equal(http_do(port, "GET", paths[i], NULL, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        cJSON *v = test_body_json(&r);
        assert_string_equal(test_jstr(v, "user_id"), "whatsapp:+5215512345678");
        assert_string_equal(test_jstr(v, "conversation_id"),
                            test_jstr(posted, "conversation_id"));
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    /* a space is not a '+' */
    assert_int_equal(request_status(port, "GET", "/chat/history/whatsapp:%205215512345678",
                                    NULL, NULL), 400);

    const char mail[] = "{\"user_id\":\"ana@example.com\",\"messages\":" ONE_MSG "}";
    assert_int_equal(request_status(port, "POST", "/chat", NULL, mail), 200);
    assert_int_equal(request_status(port, "DELETE", "/chat/history/ana%40example.com", NULL,
                                    NULL), 204);
    assert_int_equal(request_status(port, "GET", "/chat/history/ana@example.com", NULL, NULL),
                     404);
    assert_int_equal(request_status(port, "DELETE", paths[1], NULL, NULL), 204);
    assert_int_equal(request_status(port, "GET", paths[0], NULL, NULL), 404);
    cJSON_Delete(posted);
}

static void test_wrong_methods_are_405_with_allow(void **state)
{
    unsigned port = port_of(state);
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"GET", "/chat", "POST"},
        {"DELETE", "/chat", "POST"},
        {"PUT", "/chat/history/u", "GET, HEAD, DELETE"},
        {"POST", "/chat/history/u", "GET, HEAD, DELETE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        assert_int_equal(http_do(port, cases[i].method, cases[i].path, NULL, NULL, &r), 0);
        test_assert_problem(&r, 405, "method-not-allowed", NULL);
        assert_string_equal(http_header(&r, "Allow"), cases[i].allow);
        http_resp_free(&r);
    }
}

/* ---- the API token ---- */

static void test_every_chat_route_needs_the_api_token_when_one_is_set(void **state)
{
    unsigned port = port_of(state);
    const char body[] = "{\"user_id\":\"guarded\",\"messages\":" ONE_MSG "}";
    const char *const wrong[] = {NULL, "Authorization: Bearer not-the-token-at-all\r\n"};
    for (size_t i = 0; i < 2; i++) {
        http_resp r;
        assert_int_equal(http_do(port, "POST", "/chat", wrong[i], body, &r), 0);
        test_assert_problem(&r, 401, "unauthorized", NULL);
        http_resp_free(&r);
        assert_int_equal(request_status(port, "GET", "/chat/history/guarded", wrong[i], NULL),
                         401);
        assert_int_equal(
            request_status(port, "DELETE", "/chat/history/guarded", wrong[i], NULL), 401);
    }
    const char *ok = "Authorization: Bearer " TOKEN "\r\n";
    assert_int_equal(request_status(port, "GET", "/chat/history/guarded", ok, NULL), 404);
    assert_int_equal(request_status(port, "POST", "/chat", ok, body), 200);
    assert_int_equal(request_status(port, "GET", "/chat/history/guarded", ok, NULL), 200);
    assert_int_equal(request_status(port, "DELETE", "/chat/history/guarded", ok, NULL), 204);
}

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_statusd_teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        ON(test_post_refuses_every_malformed_body_and_stores_nothing, input_setup),
        ON(test_post_accepts_the_limits_at_their_edges_and_every_role, input_setup),
        ON(test_post_with_wrong_media_type_or_bad_json_is_refused, input_setup),
        ON(test_bad_user_id_in_path_is_400_before_the_store, input_setup),
        ON(test_user_id_in_path_may_be_raw_or_percent_encoded, input_setup),
        ON(test_wrong_methods_are_405_with_allow, input_setup),
        ON(test_every_chat_route_needs_the_api_token_when_one_is_set, token_setup),
    };
    return cmocka_run_group_tests_name("http_chat_input", tests, NULL, NULL);
}
