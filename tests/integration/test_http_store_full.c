/*
 * memory_max_bytes over HTTP: a statusd on a small memory store filled
 * with sessions answers the write that does not fit with 503 store-full
 * and Retry-After, loses nothing it acknowledged, goes on reading,
 * deleting and running the job it accepted before, shows the bytes held
 * in /stats, /metrics and /health/store, and takes writes again once
 * records expire or are deleted.
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

#include "http_test.h"
#include "statusd/util.h"

#define CAP 131072
#define CAP_SET "memory_max_bytes=131072"
#define MAX_SESSIONS 1000

typedef struct filled {
    char *ids[MAX_SESSIONS];
    int n;
    char pad[701];
    char body[900];
} filled;

static int small_setup(void **state)
{
    static const char *const args[] = {"--set", CAP_SET, "--set", "demo_step_ms=400", NULL};
    return test_statusd_setup(state, args);
}

static int short_ttl_setup(void **state)
{
    static const char *const args[] = {"--set", CAP_SET, "--set", "session_ttl=2", NULL};
    return test_statusd_setup(state, args);
}

static unsigned port_of(void **state) { return ((test_statusd *)*state)->proc.port; }

/* POSTs sessions of ~700 bytes until one is refused; asserts that the
 * refusal is 503 store-full with Retry-After and returns the ids of
 * those created (freed by filled_free). */
static void fill(unsigned port, filled *f)
{
    memset(f, 0, sizeof *f);
    memset(f->pad, 'a', 700);
    f->pad[700] = '\0';
    snprintf(f->body, sizeof f->body, "{\"pad\":\"%s\"}", f->pad);
    for (;;) {
        http_resp r;
        test_call(port, "POST", "/sessions", NULL, f->body, &r);
        if (r.status != 201) {
            test_assert_problem(&r, 503, "store-full", "full");
            const char *retry = http_header(&r, "Retry-After");
            assert_non_null(retry);
            assert_string_equal(retry, "1");
            http_resp_free(&r);
            break;
        }
        assert_true(f->n < MAX_SESSIONS);
        cJSON *v = test_body_json(&r);
        f->ids[f->n] = strdup(test_jstr(v, "id"));
        assert_non_null(f->ids[f->n]);
        f->n++;
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    /* 700 bytes of data each in 128 KiB, less what the empty store holds. */
    assert_in_range(f->n, 20, 180);
}

static void filled_free(filled *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->ids[i]);
}

static void assert_session_kept(unsigned port, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/sessions/%s", id);
    cJSON *v = test_get_view(port, path);
    if (v == NULL)
        fail_msg("session %s acknowledged before the store filled up is gone", id);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(data, "pad");
    assert_true(cJSON_IsString(pad));
    assert_int_equal(strlen(pad->valuestring), 700);
    cJSON_Delete(v);
}

/* stats["store"][key]. */
static double store_stat(unsigned port, const char *key)
{
    cJSON *s = test_get_view(port, "/stats");
    assert_non_null(s);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "store"), key);
    assert_true(cJSON_IsNumber(v));
    double d = v->valuedouble;
    cJSON_Delete(s);
    return d;
}

static void assert_metric(const char *text, const char *line_start)
{
    if (strstr(text, line_start) == NULL)
        fail_msg("/metrics has no line starting '%s'", line_start);
}

static void test_full_store_refuses_writes_and_keeps_every_acknowledged_one(void **state)
{
    unsigned port = port_of(state);
    filled f;
    fill(port, &f);
    for (int i = 0; i < f.n; i++)
        assert_session_kept(port, f.ids[i]);
    /* Every kind of new state is refused alike. */
    http_resp r;
    test_call(port, "PUT", "/sessions/late", NULL, f.body, &r);
    test_assert_problem(&r, 503, "store-full", NULL);
    http_resp_free(&r);
    /* Each as large as the sessions, so that no room left over fits it. */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"user_id\":\"late\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
             f.pad);
    test_call(port, "POST", "/chat", NULL, body, &r);
    test_assert_problem(&r, 503, "store-full", NULL);
    http_resp_free(&r);
    snprintf(body, sizeof body, "{\"query\":\"late\",\"params\":%s}", f.body);
    test_call(port, "POST", "/research", NULL, body, &r);
    test_assert_problem(&r, 503, "store-full", NULL);
    http_resp_free(&r);
    assert_null(test_get_view(port, "/sessions/late"));
    /* Reads go on, and the figures say why. */
    assert_true(store_stat(port, "bytes_held") <= CAP);
    assert_true(store_stat(port, "bytes_held") > CAP * 0.9);
    assert_int_equal((int)store_stat(port, "bytes_max"), CAP);
    cJSON *h = test_get_view(port, "/health/store");
    assert_non_null(h);
    assert_int_equal(test_jint(h, "bytes_max"), CAP);
    assert_true(test_jint(h, "bytes_held") > 0);
    cJSON_Delete(h);
    test_call(port, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_metric(r.body, "statusd_store_max_bytes 131072\n");
    assert_metric(r.body, "statusd_store_bytes ");
    assert_metric(r.body, "statusd_store_full_total 4\n");
    http_resp_free(&r);
    /* Deletes go on and make room. */
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/sessions/%s", f.ids[i]);
        test_call(port, "DELETE", path, NULL, NULL, &r);
        assert_int_equal(r.status, 204);
        http_resp_free(&r);
    }
    test_call(port, "PUT", "/sessions/late", NULL, f.body, &r);
    assert_int_equal(r.status, 201);
    http_resp_free(&r);
    assert_session_kept(port, "late");
    for (int i = 3; i < f.n; i++)
        assert_session_kept(port, f.ids[i]);
    filled_free(&f);
}

/* A job accepted before the store filled up runs to its end and its
 * result is kept. */
static void test_job_accepted_before_the_store_filled_completes(void **state)
{
    unsigned port = port_of(state);
    char *id = test_submit_job(port, "{\"query\":\"before full\"}");
    filled f;
    fill(port, &f);
    cJSON *v = test_wait_job_status(port, id, "completed", 100, 30000);
    assert_non_null(v);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v, "result")));
    cJSON_Delete(v);
    for (int i = 0; i < f.n; i++)
        assert_session_kept(port, f.ids[i]);
    filled_free(&f);
    free(id);
}

/* Expiry drains a full store by itself: once the sessions' TTL has
 * passed, a write is taken again. */
static void test_full_store_takes_writes_again_after_expiry(void **state)
{
    unsigned port = port_of(state);
    filled f;
    fill(port, &f);
    int64_t until = sd_mono_ms() + 15000;
    int status = 0;
    while (sd_mono_ms() < until) {
        http_resp r;
        test_call(port, "POST", "/sessions", NULL, f.body, &r);
        status = r.status;
        http_resp_free(&r);
        if (status == 201)
            break;
        assert_int_equal(status, 503);
        test_sleep_ms(100);
    }
    assert_int_equal(status, 201);
    filled_free(&f);
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_statusd_teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        WITH(test_full_store_refuses_writes_and_keeps_every_acknowledged_one, small_setup),
        WITH(test_job_accepted_before_the_store_filled_completes, small_setup),
        WITH(test_full_store_takes_writes_again_after_expiry, short_ttl_setup),
    };
    return cmocka_run_group_tests_name("http_store_full", tests, NULL, NULL);
}
