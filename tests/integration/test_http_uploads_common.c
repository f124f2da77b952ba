/* Shared pieces of the upload API tests (see test_http_uploads_common.h). */
#include "test_http_uploads_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

test_redis *up_redis(void) { return test_redis_group(); }

int up_group_setup(void **state) { return test_redis_group_setup(state); }

int up_group_teardown(void **state) { return test_redis_group_teardown(state); }

/* The head of up_setup's arguments with handler (may be "") into head
 * (9 entries). */
static void head_of(const char *head[9], const char *handler)
{
    const char *base[] = {"--set", "drain_timeout=1", "--set", "max_attempts=1",
                          "--set", "demo_step_ms=50", NULL, NULL, NULL};
    memcpy(head, base, sizeof base);
    if (handler[0] != '\0') {
        head[6] = "--set";
        head[7] = handler;
    }
}

int up_setup(void **state, bool redis, const char *script, const char *const *args)
{
    *state = NULL;
    up_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    char *dir = NULL;
    if (script != NULL) {
        dir = test_tempdir("statusd-up");
        char *path = dir != NULL ? test_write_file(dir, "up.sh", script, 0755) : NULL;
        int n = path != NULL ? snprintf(f->handler, sizeof f->handler,
                                        "handler_upload=exec:'%s' '%s'", path, dir)
                             : -1;
        free(path);
        if (n < 0 || (size_t)n >= sizeof f->handler) {
            if (dir != NULL) {
                test_rmdir(dir);
                free(dir);
            }
            free(f);
            return -1;
        }
    }
    const char *head[9];
    head_of(head, f->handler);
    if (test_fixture_start(&f->fx, redis, dir, head, args) != 0) {
        free(f);
        return -1;
    }
    f->dir = f->fx.sd->dir;
    *state = f;
    return 0;
}

int up_teardown(void **state) { return test_fixture_teardown(state); }

test_statusd *up_start_peer(const up_fixture *f, const char *const *args)
{
    const char *head[9];
    head_of(head, f->handler);
    return test_statusd_start_store(NULL, head, true, args);
}

void up_call(unsigned port, const char *method, const char *path, const char *headers,
             const char *body, http_resp *out)
{
    test_call(port, method, path, headers, body, out);
}

void up_path(char *out, size_t len, const char *base, const char *post, const char *run)
{
    int n = snprintf(out, len, "%s?post_id=%s&run_id=%s", base, post, run);
    if (n < 0 || (size_t)n >= len)
        fail_msg("upload path longer than %zu bytes", len);
}

char *up_body(const char *post, const char *run, const char *prefix, int n)
{
    size_t cap = 256 + (size_t)n * 128;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t pos = (size_t)snprintf(b, cap, "{\"post_id\":\"%s\",\"run_id\":\"%s\",\"fields\":[",
                                  post, run);
    for (int i = 0; i < n; i++)
        pos += (size_t)snprintf(b + pos, cap - pos,
                                "%s{\"field\":\"%s%02d\",\"source\":\"https://cdn.example/%d.jpg\"}",
                                i > 0 ? "," : "", prefix, i, i);
    snprintf(b + pos, cap - pos, "]}");
    assert_true(pos + 2 < cap);
    return b;
}

cJSON *up_create(unsigned port, const char *body)
{
    http_resp r;
    up_call(port, "POST", "/uploads", NULL, body, &r);
    if (r.status != 202)
        fail_msg("POST /uploads: expected 202, got %d: %s", r.status,
                 r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    http_resp_free(&r);
    return v;
}

static void assert_list(const cJSON *v, const char *list, int count, const char *s1,
                        const char *s2)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, list);
    if (!cJSON_IsArray(a))
        fail_msg("%s is not an array", list);
    if (cJSON_GetArraySize(a) != count) {
        char *text = cJSON_PrintUnformatted(v);
        fail_msg("%s holds %d fields, expected %d: %s", list, cJSON_GetArraySize(a), count,
                 text != NULL ? text : "");
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, a) {
        const char *st = test_jstr(f, "status");
        assert_non_null(test_jstr(f, "field"));
        assert_non_null(st);
        if (strcmp(st, s1) != 0 && (s2 == NULL || strcmp(st, s2) != 0))
            fail_msg("a field in %s has status %s", list, st);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(f, "attempts")));
    }
}

void up_assert_view(const cJSON *v, const char *post, const char *run, const char *status,
                    int uploaded, int pending, int failed)
{
    assert_int_equal(cJSON_GetArraySize(v), 8);
    assert_string_equal(test_jstr(v, "post_id"), post);
    assert_string_equal(test_jstr(v, "run_id"), run);
    assert_non_null(test_jstr(v, "status"));
    if (status != NULL)
        assert_string_equal(test_jstr(v, "status"), status);
    assert_list(v, "uploaded_fields", uploaded, "completed", NULL);
    assert_list(v, "pending_fields", pending, "pending", "uploading");
    assert_list(v, "failed_fields", failed, "failed", NULL);
    assert_true(test_is_rfc3339_ms(test_jstr(v, "created_at")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "expires_at")));
    assert_true(strcmp(test_jstr(v, "expires_at"), test_jstr(v, "created_at")) > 0);
}

/* The view when the server answers 200 with JSON, else NULL; asserts
 * nothing. */
static cJSON *view_of(unsigned port, const char *post, const char *run)
{
    char path[512];
    int n = snprintf(path, sizeof path, "/upload-status?post_id=%s&run_id=%s", post, run);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    return test_get_view(port, path);
}

cJSON *up_get(unsigned port, const char *post, const char *run, http_resp *keep)
{
    char path[512];
    up_path(path, sizeof path, "/upload-status", post, run);
    http_resp r;
    up_call(port, "GET", path, NULL, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: expected 200, got %d: %s", path, r.status,
                 r.body != NULL ? r.body : "");
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    cJSON *v = test_body_json(&r);
    up_assert_view(v, post, run, NULL, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                                           v, "uploaded_fields")),
                   cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "pending_fields")),
                   cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "failed_fields")));
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    return v;
}

const cJSON *up_field(const cJSON *v, const char *list, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(v, list)) {
        const char *n = test_jstr(f, "field");
        if (n != NULL && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

typedef struct run_wait {
    unsigned port;
    const char *post, *run;
    up_pred done;
    void *arg;
    cJSON *view;
} run_wait;

static bool run_done(void *arg)
{
    run_wait *w = arg;
    cJSON *v = view_of(w->port, w->post, w->run);
    if (v == NULL)
        return false;
    cJSON_Delete(w->view);
    w->view = v;
    return w->done(v, w->arg);
}

cJSON *up_wait_until(unsigned port, const char *post, const char *run, up_pred done,
                     void *arg)
{
    run_wait w = {port, post, run, done, arg, NULL};
    if (!test_wait_until(run_done, &w, TEST_DEADLINE_MS)) {
        char *text = w.view != NULL ? cJSON_PrintUnformatted(w.view) : NULL;
        fail_msg("run %s/%s: the condition did not hold; last view: %s", post, run,
                 text != NULL ? text : "none");
    }
    return w.view;
}

/* Done once the run has the wanted status or another final one. */
static bool status_reached(const cJSON *v, void *arg)
{
    const char *s = test_jstr(v, "status");
    return s != NULL && (strcmp(s, arg) == 0 || strcmp(s, "processing") != 0);
}

cJSON *up_wait(unsigned port, const char *post, const char *run, const char *want)
{
    cJSON *v = up_wait_until(port, post, run, status_reached, (void *)want);
    if (strcmp(test_jstr(v, "status"), want) != 0) {
        char *text = cJSON_PrintUnformatted(v);
        fail_msg("run %s/%s ended %s, not %s: %s", post, run, test_jstr(v, "status"), want,
                 text != NULL ? text : "");
    }
    return v;
}

void up_assert_error(const cJSON *f, const char *code, const char *message)
{
    assert_non_null(f);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(f, "error");
    assert_true(cJSON_IsObject(err));
    assert_int_equal(cJSON_GetArraySize(err), 2);
    test_assert_job_error(f, code, message);
}
