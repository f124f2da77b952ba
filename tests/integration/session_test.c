/* Shared pieces of the session API tests (see session_test.h). */
#include "session_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

static const char *const head[] = {"--set", "session_ttl=3600", NULL};

test_statusd *sess_start_on_redis(const char *const *args)
{
    return test_statusd_start_store(NULL, head, true, args);
}

int sess_setup(void **state, bool redis, const char *const *args)
{
    return test_fixture_setup(state, redis, head, args);
}

void sess_path(char *out, size_t len, const char *id, const char *suffix)
{
    int n = snprintf(out, len, "/sessions/%s%s", id, suffix != NULL ? suffix : "");
    if (n < 0 || (size_t)n >= len)
        fail_msg("session path longer than %zu bytes", len);
}

cJSON *sess_assert_view(const http_resp *r, int status, const char *id)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body != NULL ? r->body : "");
    assert_string_equal(http_header(r, "Content-Type"), "application/json");
    assert_true(test_is_weak_etag(http_header(r, "ETag")));
    assert_string_equal(http_header(r, "Cache-Control"), "no-cache");
    assert_non_null(http_header(r, "X-Request-Id"));
    cJSON *v = test_body_json(r);
    assert_int_equal(cJSON_GetArraySize(v), 5);
    assert_non_null(test_jstr(v, "id"));
    if (id != NULL)
        assert_string_equal(test_jstr(v, "id"), id);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v, "data")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "created_at")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "updated_at")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "expires_at")));
    assert_true(strcmp(test_jstr(v, "updated_at"), test_jstr(v, "created_at")) >= 0);
    assert_true(strcmp(test_jstr(v, "expires_at"), test_jstr(v, "updated_at")) > 0);
    return v;
}

void sess_assert_data(const cJSON *view, const char *want)
{
    char *got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(view, "data"));
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("data is %s, expected %s", got, want);
    free(got);
}

char *sess_create(unsigned port, const char *data)
{
    http_resp r;
    test_call(port, "POST", "/sessions", NULL, data, &r);
    cJSON *v = sess_assert_view(&r, 201, NULL);
    char *id = strdup(test_jstr(v, "id"));
    assert_non_null(id);
    cJSON_Delete(v);
    http_resp_free(&r);
    return id;
}

cJSON *sess_get(unsigned port, const char *id, http_resp *keep)
{
    char path[256];
    sess_path(path, sizeof path, id, NULL);
    http_resp r;
    test_call(port, "GET", path, NULL, NULL, &r);
    cJSON *v = sess_assert_view(&r, 200, id);
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    return v;
}

cJSON *sess_patch(unsigned port, const char *id, const char *patch)
{
    char path[256];
    sess_path(path, sizeof path, id, NULL);
    http_resp r;
    test_call(port, "PATCH", path, "Content-Type: application/merge-patch+json\r\n", patch, &r);
    cJSON *v = sess_assert_view(&r, 200, id);
    http_resp_free(&r);
    return v;
}

int sess_get_status(unsigned port, const char *id)
{
    char path[256];
    sess_path(path, sizeof path, id, NULL);
    http_resp r;
    test_call(port, "GET", path, NULL, NULL, &r);
    int status = r.status;
    http_resp_free(&r);
    return status;
}

int64_t sess_time_ms(const char *text)
{
    assert_true(test_is_rfc3339_ms(text));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        fail_msg("not a time: %s", text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}
