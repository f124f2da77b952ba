/*
 * Long-polls and event streams of upload runs: GET /upload-status with a
 * wait and the run's ETag is held until one of its fields moves (a field's
 * job changing wakes it), and GET /upload-status/events follows the run
 * to its end. Bad waits and unknown runs are refused. On the memory store
 * and on Redis.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "test_http_uploads_common.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Slow fields: three stages of 700 ms each. */
static const char *const slow[] = {"--set", "demo_step_ms=700", "--set", "max_wait=20", NULL};

static int memory_setup(void **state) { return up_setup(state, false, NULL, slow); }
static int redis_setup(void **state) { return up_setup(state, true, NULL, slow); }

/* True when every field of the view is uploading. */
static bool all_uploading(const cJSON *v)
{
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive(v, "pending_fields");
    if (cJSON_GetArraySize(pending) == 0)
        return false;
    const cJSON *f;
    cJSON_ArrayForEach(f, pending)
        if (strcmp(test_jstr(f, "status") != NULL ? test_jstr(f, "status") : "", "uploading") != 0)
            return false;
    return true;
}

static void test_a_held_upload_poll_answers_when_a_field_finishes(void **state)
{
    up_fixture *f = *state;
    char *body = up_body("p1", "r1", "f", 2);
    cJSON_Delete(up_create(f->fx.port, body));
    free(body);
    /* the fields' jobs run now; from here the run only changes when one
     * of them finishes, seconds later */
    char tag[40] = "";
    int64_t until = mono_ms() + TEST_DEADLINE_MS;
    for (;;) {
        http_resp r;
        cJSON *v = up_get(f->fx.port, "p1", "r1", &r);
        bool ready = all_uploading(v);
        snprintf(tag, sizeof tag, "%s", http_header(&r, "ETag"));
        cJSON_Delete(v);
        http_resp_free(&r);
        if (ready)
            break;
        assert_true(mono_ms() < until);
        test_sleep_ms(20);
    }
    char path[128], headers[128];
    up_path(path, sizeof path, "/upload-status", "p1", "r1");
    snprintf(headers, sizeof headers, "Prefer: wait=20\r\nIf-None-Match: %s\r\n", tag);
    int64_t t0 = mono_ms();
    http_resp r;
    up_call(f->fx.port, "GET", path, headers, NULL, &r);
    int64_t took = mono_ms() - t0;
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=20");
    assert_string_not_equal(http_header(&r, "ETag"), tag);
    cJSON *v = test_body_json(&r);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields")) >= 1);
    cJSON_Delete(v);
    http_resp_free(&r);
    assert_true(took < 15000);

    /* and a poll of the finished run waits out its wait: 304 */
    until = mono_ms() + TEST_DEADLINE_MS;
    for (;;) {
        http_resp g;
        cJSON *w = up_get(f->fx.port, "p1", "r1", &g);
        bool done = strcmp(test_jstr(w, "status"), "completed") == 0;
        snprintf(tag, sizeof tag, "%s", http_header(&g, "ETag"));
        cJSON_Delete(w);
        http_resp_free(&g);
        if (done)
            break;
        assert_true(mono_ms() < until);
        test_sleep_ms(50);
    }
    snprintf(path + strlen(path), sizeof path - strlen(path), "&wait=1");
    snprintf(headers, sizeof headers, "If-None-Match: %s\r\n", tag);
    up_call(f->fx.port, "GET", path, headers, NULL, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=1");
    http_resp_free(&r);
}

static void test_upload_events_follow_the_run_to_its_end(void **state)
{
    up_fixture *f = *state;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"p2\",\"run_id\":\"r1\",\"fields\":["
                                    "{\"field\":\"photo\",\"source\":\"https://cdn.example/a\"},"
                                    "{\"field\":\"broken\",\"source\":\"fail:gone\"}]}"));
    char path[128];
    up_path(path, sizeof path, "/upload-status/events", "p2", "r1");
    http_resp r;
    up_call(f->fx.port, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "text/event-stream");
    /* several events, the last one the run's end */
    size_t events = 0;
    const char *last = NULL;
    for (const char *p = strstr(r.body, "data: "); p != NULL; p = strstr(p + 1, "data: ")) {
        events++;
        last = p + 6;
    }
    assert_true(events >= 2);
    cJSON *v = cJSON_ParseWithOpts(last, NULL, false);
    assert_non_null(v);
    assert_string_equal(test_jstr(v, "status"), "failed");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "failed_fields")), 1);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void test_upload_waits_and_streams_refuse_bad_input(void **state)
{
    up_fixture *f = *state;
    http_resp r;
    char path[128];
    up_path(path, sizeof path, "/upload-status/events", "nobody", "r1");
    up_call(f->fx.port, "GET", path, NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", "nobody");
    http_resp_free(&r);
    up_call(f->fx.port, "GET", "/upload-status/events?post_id=p", NULL, NULL, &r);
    test_assert_problem(&r, 400, "invalid-request", "run_id");
    http_resp_free(&r);
    char *body = up_body("p3", "r1", "f", 1);
    cJSON_Delete(up_create(f->fx.port, body));
    free(body);
    up_path(path, sizeof path, "/upload-status", "p3", "r1");
    strcat(path, "&wait=soon");
    up_call(f->fx.port, "GET", path, "If-None-Match: *\r\n", NULL, &r);
    test_assert_problem(&r, 400, "invalid-request", "wait");
    http_resp_free(&r);
}

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, up_teardown)
#define ON_BOTH(test) TEST_ON_BOTH(test, memory_setup, redis_setup, up_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_a_held_upload_poll_answers_when_a_field_finishes),
        ON_BOTH(test_upload_events_follow_the_run_to_its_end),
        ON_BOTH(test_upload_waits_and_streams_refuse_bad_input),
    };
    return cmocka_run_group_tests_name("http_upload_push", tests, up_group_setup,
                                       up_group_teardown);
}
