/*
 * The session API over real HTTP against a real statusd, every test on
 * the memory store and again on Redis: create (POST, PUT), read (ETag,
 * 304, HEAD, TTL renewal), merge patch, delete, touch, ids, and every
 * error answer with its status and problem type. Concurrency, TTLs in
 * Redis, expiry and listing are in test_http_sessions_store.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "session_test.h"

#define TTL_MS (3600 * 1000)
#define MERGE_PATCH "Content-Type: application/merge-patch+json\r\n"

/* ---- fixtures: max_body at its minimum, so 413s are cheap to reach ---- */

static const char *const ARGS[] = {"--set", "max_body=1024", NULL};

static int memory_setup(void **state) { return sess_setup(state, false, ARGS); }
static int redis_setup(void **state) { return sess_setup(state, true, ARGS); }

static int token_setup(void **state)
{
    static const char *const args[] = {"--set", "api_token=sessions-token-0123456789", NULL};
    return sess_setup(state, false, args);
}

static unsigned port_of(void **state) { return ((test_fixture *)*state)->port; }

static void assert_problem_at(unsigned port, const char *method, const char *path,
                              const char *headers, const char *body, int status,
                              const char *slug, const char *detail_has)
{
    http_resp r;
    test_call(port, method, path, headers, body, &r);
    test_assert_problem(&r, status, slug, detail_has);
    http_resp_free(&r);
}

/* ---- create ---- */

static void test_post_creates_a_session_with_uuid_location_and_view(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    test_call(port, "POST", "/sessions", NULL,
              "{\"user\":\"ana\",\"cart\":[1,2],\"prefs\":{\"dark\":true}}", &r);
    cJSON *v = sess_assert_view(&r, 201, NULL);
    const char *id = test_jstr(v, "id");
    assert_true(test_is_uuid_v4(id));
    char location[128];
    sess_path(location, sizeof location, id, NULL);
    assert_string_equal(http_header(&r, "Location"), location);
    sess_assert_data(v, "{\"user\":\"ana\",\"cart\":[1,2],\"prefs\":{\"dark\":true}}");
    assert_string_equal(test_jstr(v, "created_at"), test_jstr(v, "updated_at"));
    int64_t left = sess_time_ms(test_jstr(v, "expires_at")) -
                   sess_time_ms(test_jstr(v, "updated_at"));
    assert_true(left >= TTL_MS && left <= TTL_MS + 60000);

    cJSON *g = sess_get(port, id, NULL);
    assert_string_equal(test_jstr(g, "created_at"), test_jstr(v, "created_at"));
    sess_assert_data(g, "{\"user\":\"ana\",\"cart\":[1,2],\"prefs\":{\"dark\":true}}");
    cJSON_Delete(g);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void test_post_twice_gives_two_sessions(void **state)
{
    unsigned port = port_of(state);
    char *a = sess_create(port, "{}");
    char *b = sess_create(port, "{}");
    assert_string_not_equal(a, b);
    cJSON *v = sess_get(port, a, NULL);
    sess_assert_data(v, "{}");
    cJSON_Delete(v);
    free(a);
    free(b);
}

static void test_post_refuses_data_that_is_not_an_object(void **state)
{
    const char *bodies[] = {"[1,2]", "\"text\"", "null", "42", "true"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        assert_problem_at(port_of(state), "POST", "/sessions", NULL, bodies[i], 400,
                          "invalid-request", "must be a JSON object");
}

static void test_post_and_put_refuse_repeated_member_names(void **state)
{
    unsigned port = port_of(state);
    assert_problem_at(port, "POST", "/sessions", NULL, "{\"a\":1,\"a\":2}", 400,
                      "invalid-request", "repeats a member name");
    assert_problem_at(port, "PUT", "/sessions/dup", NULL, "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}",
                      400, "invalid-request", "repeats a member name");
    assert_int_equal(sess_get_status(port, "dup"), 404);
}

static void test_post_refuses_wrong_content_type_and_bad_json(void **state)
{
    unsigned port = port_of(state);
    assert_problem_at(port, "POST", "/sessions", "Content-Type: text/plain\r\n", "{}", 415,
                      "unsupported-media-type", "application/json");
    assert_problem_at(port, "POST", "/sessions", MERGE_PATCH, "{}", 415,
                      "unsupported-media-type", "application/json");
    assert_problem_at(port, "POST", "/sessions", NULL, "{\"a\":", 400, "invalid-json", NULL);
    assert_problem_at(port, "POST", "/sessions", "Content-Type: application/json\r\n", NULL,
                      400, "invalid-json", "required");
}

static void test_post_refuses_data_that_grows_past_max_body_when_normalised(void **state)
{
    /* 1E9 is 3 bytes as sent and 10 as kept: 300 of them fit the body
     * limit of 1024 bytes and not the data limit of the same size */
    char body[1024];
    size_t n = 0;
    n += (size_t)snprintf(body + n, sizeof body - n, "{\"n\":[");
    for (int i = 0; i < 240; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s1E9", i > 0 ? "," : "");
    snprintf(body + n, sizeof body - n, "]}");
    assert_true(strlen(body) < 1024);
    assert_problem_at(port_of(state), "POST", "/sessions", NULL, body, 413,
                      "body-too-large", "max_body allows 1024");
    assert_problem_at(port_of(state), "PUT", "/sessions/big", NULL, body, 413,
                      "body-too-large", "max_body allows 1024");
    assert_int_equal(sess_get_status(port_of(state), "big"), 404);
}

static void test_put_creates_with_201_then_replaces_with_200_keeping_created_at(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    test_call(port, "PUT", "/sessions/user-42", NULL, "{\"step\":1,\"old\":true}", &r);
    cJSON *created = sess_assert_view(&r, 201, "user-42");
    assert_string_equal(http_header(&r, "Location"), "/sessions/user-42");
    sess_assert_data(created, "{\"step\":1,\"old\":true}");
    char etag[32];
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_resp_free(&r);

    test_call(port, "PUT", "/sessions/user-42", NULL, "{\"step\":2}", &r);
    cJSON *replaced = sess_assert_view(&r, 200, "user-42");
    assert_null(http_header(&r, "Location"));
    assert_string_not_equal(http_header(&r, "ETag"), etag);
    sess_assert_data(replaced, "{\"step\":2}");
    assert_string_equal(test_jstr(replaced, "created_at"), test_jstr(created, "created_at"));
    assert_true(strcmp(test_jstr(replaced, "updated_at"), test_jstr(created, "updated_at")) >= 0);
    http_resp_free(&r);

    cJSON *g = sess_get(port, "user-42", NULL);
    sess_assert_data(g, "{\"step\":2}");
    assert_string_equal(test_jstr(g, "created_at"), test_jstr(created, "created_at"));
    cJSON_Delete(g);
    cJSON_Delete(replaced);
    cJSON_Delete(created);
}

/* ---- ids ---- */

static void test_ids_of_every_allowed_character_and_128_long_work(void **state)
{
    unsigned port = port_of(state);
    char longest[129];
    memset(longest, 'Z', 128);
    longest[128] = '\0';
    const char *ids[] = {"Az09._:+@-", "a@b.example:1+2", "-", longest};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[256];
        sess_path(path, sizeof path, ids[i], NULL);
        http_resp r;
        test_call(port, "PUT", path, NULL, "{\"i\":1}", &r);
        cJSON *v = sess_assert_view(&r, 201, ids[i]);
        assert_string_equal(http_header(&r, "Location"), path);
        cJSON_Delete(v);
        http_resp_free(&r);
        cJSON_Delete(sess_get(port, ids[i], NULL));
    }
}

static void test_bad_ids_are_400_on_every_route(void **state)
{
    unsigned port = port_of(state);
    char too_long[130];
    memset(too_long, 'a', 129);
    too_long[129] = '\0';
    const char *ids[] = {too_long, "a%20b", "%20", "caf%C3%A9", "%E2%9C%93", "a%22b", "a*b",
                         "a%25b", "a,b", "a%3Fb", "a%23b", "a%5Cb"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[256], touch[256];
        sess_path(path, sizeof path, ids[i], NULL);
        sess_path(touch, sizeof touch, ids[i], "/touch");
        assert_problem_at(port, "GET", path, NULL, NULL, 400, "invalid-request", "session id");
        assert_problem_at(port, "PUT", path, NULL, "{}", 400, "invalid-request", "session id");
        assert_problem_at(port, "PATCH", path, MERGE_PATCH, "{}", 400, "invalid-request",
                          "session id");
        assert_problem_at(port, "DELETE", path, NULL, NULL, 400, "invalid-request",
                          "session id");
        assert_problem_at(port, "POST", touch, NULL, NULL, 400, "invalid-request",
                          "session id");
    }
    /* A control character is refused before any route sees the id. */
    assert_problem_at(port, "GET", "/sessions/a%09b", NULL, NULL, 400, "invalid-request",
                      "path parameter id holds a control character");
    assert_problem_at(port, "POST", "/sessions/a%09b/touch", NULL, NULL, 400,
                      "invalid-request", "path parameter id holds a control character");
}

static void test_encoded_slash_in_an_id_never_names_a_session(void **state)
{
    /* the path is decoded before routing: a%2Fb is two segments, a path
     * no route has */
    unsigned port = port_of(state);
    assert_problem_at(port, "GET", "/sessions/a%2Fb", NULL, NULL, 404, "not-found", NULL);
    assert_problem_at(port, "PUT", "/sessions/a%2Fb", NULL, "{}", 404, "not-found", NULL);
    assert_int_equal(sess_get_status(port, "a"), 404);
}

/* ---- read ---- */

static void test_unknown_session_is_404_on_every_route(void **state)
{
    unsigned port = port_of(state);
    const char *detail = "no session with id nobody";
    assert_problem_at(port, "GET", "/sessions/nobody", NULL, NULL, 404, "not-found", detail);
    assert_problem_at(port, "PATCH", "/sessions/nobody", MERGE_PATCH, "{\"a\":1}", 404,
                      "not-found", detail);
    assert_problem_at(port, "DELETE", "/sessions/nobody", NULL, NULL, 404, "not-found", detail);
    assert_problem_at(port, "POST", "/sessions/nobody/touch", NULL, NULL, 404, "not-found",
                      detail);
    /* a PATCH does not create */
    assert_int_equal(sess_get_status(port, "nobody"), 404);
}

static void test_get_with_matching_etag_answers_304_and_head_has_no_body(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"k\":\"v\"}");
    http_resp g;
    cJSON_Delete(sess_get(port, id, &g));
    char etag[32];
    snprintf(etag, sizeof etag, "%s", http_header(&g, "ETag"));
    http_resp_free(&g);
    char path[128];
    sess_path(path, sizeof path, id, NULL);

    char listed[96];
    snprintf(listed, sizeof listed, "W/\"0000000000000000\", %s", etag);
    const char *values[] = {etag, listed, etag + 2, "*"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", values[i]);
        http_resp r;
        test_call(port, "GET", path, hdr, NULL, &r);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        assert_string_equal(http_header(&r, "ETag"), etag);
        assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
        http_resp_free(&r);
    }

    http_resp r;
    test_call(port, "GET", path, "If-None-Match: W/\"0000000000000000\"\r\n", NULL, &r);
    cJSON_Delete(sess_assert_view(&r, 200, id));
    http_resp_free(&r);

    /* a write changes the tag: the old one no longer matches */
    cJSON_Delete(sess_patch(port, id, "{\"k\":\"w\"}"));
    char hdr[128];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    test_call(port, "GET", path, hdr, NULL, &r);
    cJSON *v = sess_assert_view(&r, 200, id);
    assert_string_not_equal(http_header(&r, "ETag"), etag);
    sess_assert_data(v, "{\"k\":\"w\"}");
    cJSON_Delete(v);
    http_resp_free(&r);

    test_call(port, "HEAD", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    http_resp_free(&r);
    free(id);
}

typedef struct renew_wait {
    unsigned port;
    const char *id;
    const char *before;    /* expires_at to pass */
    cJSON *view;
    char etag[32];
} renew_wait;

static bool expiry_moved(void *arg)
{
    renew_wait *w = arg;
    http_resp r;
    cJSON *v = sess_get(w->port, w->id, &r);
    snprintf(w->etag, sizeof w->etag, "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    cJSON_Delete(w->view);
    w->view = v;
    return strcmp(test_jstr(v, "expires_at"), w->before) > 0;
}

static void test_get_renews_expires_at_and_keeps_updated_at_and_etag(void **state)
{
    unsigned port = port_of(state);
    http_resp c;
    char path[128];
    test_call(port, "PUT", "/sessions/renewed", NULL, "{\"a\":1}", &c);
    cJSON *created = sess_assert_view(&c, 201, "renewed");
    sess_path(path, sizeof path, "renewed", NULL);
    renew_wait w = {port, "renewed", test_jstr(created, "expires_at"), NULL, ""};
    assert_true(test_wait_until(expiry_moved, &w, TEST_DEADLINE_MS));
    assert_string_equal(test_jstr(w.view, "updated_at"), test_jstr(created, "updated_at"));
    assert_string_equal(w.etag, http_header(&c, "ETag"));
    int64_t left = sess_time_ms(test_jstr(w.view, "expires_at")) -
                   sess_time_ms(test_jstr(created, "updated_at"));
    assert_true(left > TTL_MS);
    cJSON_Delete(w.view);
    cJSON_Delete(created);
    http_resp_free(&c);
}

/* ---- merge patch ---- */

static void test_patch_merges_and_null_removes_a_field(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":\"x\",\"g\":[1]}");
    cJSON *before = sess_get(port, id, NULL);
    cJSON *v = sess_patch(port, id, "{\"b\":{\"c\":null,\"n\":[1]},\"e\":null,\"g\":{\"h\":null},"
                                    "\"f\":true}");
    const char *want = "{\"a\":1,\"b\":{\"d\":3,\"n\":[1]},\"g\":{},\"f\":true}";
    sess_assert_data(v, want);
    assert_string_equal(test_jstr(v, "created_at"), test_jstr(before, "created_at"));
    assert_true(strcmp(test_jstr(v, "updated_at"), test_jstr(before, "updated_at")) >= 0);
    cJSON *g = sess_get(port, id, NULL);
    sess_assert_data(g, want);
    cJSON_Delete(g);
    cJSON_Delete(sess_patch(port, id, "{}"));
    g = sess_get(port, id, NULL);
    sess_assert_data(g, want);
    cJSON_Delete(g);
    cJSON_Delete(v);
    cJSON_Delete(before);
    free(id);
}

static void test_patch_refuses_other_media_types_and_bad_patches(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1}");
    char path[128];
    sess_path(path, sizeof path, id, NULL);
    assert_problem_at(port, "PATCH", path, NULL, "{\"a\":2}", 415, "unsupported-media-type",
                      "application/merge-patch+json");
    assert_problem_at(port, "PATCH", path, "Content-Type: application/json-patch+json\r\n",
                      "[]", 415, "unsupported-media-type", "application/merge-patch+json");
    const char *not_objects[] = {"null", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "\"x\"", "7"};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++)
        assert_problem_at(port, "PATCH", path, MERGE_PATCH, not_objects[i], 400,
                          "invalid-request", "must be a JSON object");
    assert_problem_at(port, "PATCH", path, MERGE_PATCH, "{\"b\":1,\"b\":null}", 400,
                      "invalid-request", "repeats a member name");
    assert_problem_at(port, "PATCH", path, MERGE_PATCH, "{\"b\":", 400, "invalid-json", NULL);
    assert_problem_at(port, "PATCH", path, MERGE_PATCH, NULL, 400, "invalid-json", NULL);
    cJSON *v = sess_get(port, id, NULL);
    sess_assert_data(v, "{\"a\":1}");
    cJSON_Delete(v);
    free(id);
}

static void test_patch_that_would_grow_data_past_max_body_is_413_and_changes_nothing(void **state)
{
    unsigned port = port_of(state);
    char body[1024], fill[601];
    memset(fill, 'x', 600);
    fill[600] = '\0';
    snprintf(body, sizeof body, "{\"one\":\"%s\"}", fill);
    char *id = sess_create(port, body);
    char path[128];
    sess_path(path, sizeof path, id, NULL);
    snprintf(body, sizeof body, "{\"two\":\"%s\"}", fill);
    assert_problem_at(port, "PATCH", path, MERGE_PATCH, body, 413, "body-too-large",
                      "max_body allows 1024");
    cJSON *v = sess_get(port, id, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "data")), 1);
    assert_string_equal(test_jstr(cJSON_GetObjectItemCaseSensitive(v, "data"), "one"), fill);
    cJSON_Delete(v);
    /* a patch that shrinks it still applies */
    cJSON_Delete(sess_patch(port, id, "{\"one\":null,\"two\":2}"));
    v = sess_get(port, id, NULL);
    sess_assert_data(v, "{\"two\":2}");
    cJSON_Delete(v);
    free(id);
}

/* ---- delete and touch ---- */

static void test_delete_answers_204_then_the_session_is_404(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1}");
    char path[128];
    sess_path(path, sizeof path, id, NULL);
    http_resp r;
    test_call(port, "DELETE", path, NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_non_null(http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    assert_problem_at(port, "GET", path, NULL, NULL, 404, "not-found", id);
    assert_problem_at(port, "DELETE", path, NULL, NULL, 404, "not-found", id);
    free(id);
}

static void test_touch_renews_and_answers_id_and_expires_at_only(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1}");
    cJSON *before = sess_get(port, id, NULL);
    char touch[128];
    sess_path(touch, sizeof touch, id, "/touch");
    /* a body is ignored, whatever its type */
    http_resp r;
    test_call(port, "POST", touch, "Content-Type: text/plain\r\n", "ignored", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    cJSON *t = test_body_json(&r);
    assert_int_equal(cJSON_GetArraySize(t), 2);
    assert_string_equal(test_jstr(t, "id"), id);
    assert_true(strcmp(test_jstr(t, "expires_at"), test_jstr(before, "expires_at")) >= 0);
    int64_t left = sess_time_ms(test_jstr(t, "expires_at")) -
                   sess_time_ms(test_jstr(before, "updated_at"));
    assert_true(left >= TTL_MS);
    http_resp_free(&r);

    cJSON *after = sess_get(port, id, NULL);
    assert_string_equal(test_jstr(after, "updated_at"), test_jstr(before, "updated_at"));
    sess_assert_data(after, "{\"a\":1}");
    cJSON_Delete(after);
    cJSON_Delete(t);
    cJSON_Delete(before);
    free(id);
}

/* ---- methods and the token (store-independent: memory only) ---- */

static void test_wrong_methods_are_405_with_allow(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    test_call(port, "POST", "/sessions/x", NULL, "{}", &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(http_header(&r, "Allow"), "GET, HEAD, PUT, PATCH, DELETE");
    http_resp_free(&r);
    test_call(port, "GET", "/sessions/x/touch", NULL, NULL, &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(http_header(&r, "Allow"), "POST");
    http_resp_free(&r);
    test_call(port, "DELETE", "/sessions", NULL, NULL, &r);
    test_assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(http_header(&r, "Allow"), "POST, GET, HEAD");
    http_resp_free(&r);
}

static void test_writes_and_listing_need_the_token_and_reading_does_not(void **state)
{
    unsigned port = port_of(state);
    const char *auth = "Authorization: Bearer sessions-token-0123456789\r\n";
    const char *wrong = "Authorization: Bearer sessions-token-WRONG-6789\r\n";
    const char *heads[] = {NULL, wrong};
    for (size_t i = 0; i < 2; i++) {
        assert_problem_at(port, "POST", "/sessions", heads[i], "{}", 401, "unauthorized", NULL);
        assert_problem_at(port, "GET", "/sessions", heads[i], NULL, 401, "unauthorized", NULL);
        assert_problem_at(port, "PUT", "/sessions/t", heads[i], "{}", 401, "unauthorized", NULL);
        assert_problem_at(port, "POST", "/sessions/t/touch", heads[i], NULL, 401,
                          "unauthorized", NULL);
    }
    http_resp r;
    test_call(port, "PUT", "/sessions/t", auth, "{\"a\":1}", &r);
    cJSON_Delete(sess_assert_view(&r, 201, "t"));
    http_resp_free(&r);
    char patch_auth[160];
    snprintf(patch_auth, sizeof patch_auth, "%s%s", MERGE_PATCH, auth);
    assert_problem_at(port, "PATCH", "/sessions/t", MERGE_PATCH, "{\"a\":2}", 401,
                      "unauthorized", NULL);
    assert_problem_at(port, "DELETE", "/sessions/t", NULL, NULL, 401, "unauthorized", NULL);

    /* reads need only the id */
    cJSON *v = sess_get(port, "t", NULL);
    sess_assert_data(v, "{\"a\":1}");
    cJSON_Delete(v);

    test_call(port, "PATCH", "/sessions/t", patch_auth, "{\"a\":2}", &r);
    v = sess_assert_view(&r, 200, "t");
    sess_assert_data(v, "{\"a\":2}");
    cJSON_Delete(v);
    http_resp_free(&r);
    test_call(port, "GET", "/sessions", auth, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    test_call(port, "POST", "/sessions/t/touch", auth, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    test_call(port, "DELETE", "/sessions/t", auth, NULL, &r);
    assert_int_equal(r.status, 204);
    http_resp_free(&r);
}

/* ---- the group ---- */

#define BOTH(t) TEST_ON_BOTH(t, memory_setup, redis_setup, test_fixture_teardown)
#define MEMORY(t, setup) TEST_ON_STORE(t, setup, test_fixture_teardown, "memory")

int main(void)
{
    static const struct CMUnitTest tests[] = {
        BOTH(test_post_creates_a_session_with_uuid_location_and_view),
        BOTH(test_post_twice_gives_two_sessions),
        BOTH(test_post_refuses_data_that_is_not_an_object),
        BOTH(test_post_and_put_refuse_repeated_member_names),
        BOTH(test_post_refuses_wrong_content_type_and_bad_json),
        BOTH(test_post_refuses_data_that_grows_past_max_body_when_normalised),
        BOTH(test_put_creates_with_201_then_replaces_with_200_keeping_created_at),
        BOTH(test_ids_of_every_allowed_character_and_128_long_work),
        BOTH(test_bad_ids_are_400_on_every_route),
        BOTH(test_encoded_slash_in_an_id_never_names_a_session),
        BOTH(test_unknown_session_is_404_on_every_route),
        BOTH(test_get_with_matching_etag_answers_304_and_head_has_no_body),
        BOTH(test_get_renews_expires_at_and_keeps_updated_at_and_etag),
        BOTH(test_patch_merges_and_null_removes_a_field),
        BOTH(test_patch_refuses_other_media_types_and_bad_patches),
        BOTH(test_patch_that_would_grow_data_past_max_body_is_413_and_changes_nothing),
        BOTH(test_delete_answers_204_then_the_session_is_404),
        BOTH(test_touch_renews_and_answers_id_and_expires_at_only),
        MEMORY(test_wrong_methods_are_405_with_allow, memory_setup),
        MEMORY(test_writes_and_listing_need_the_token_and_reading_does_not, token_setup),
    };
    return cmocka_run_group_tests_name("http_sessions", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
