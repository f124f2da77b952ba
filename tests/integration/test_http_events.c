/*
 * GET /status/<id>/events: the current view, one event per change, the
 * end after a terminal state or at a drain, Last-Event-ID, unknown ids,
 * the heartbeat of a silent stream.
 * On the memory store and on Redis.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "push_test.h"

#define MAX_EVENTS 16

typedef struct sse_event {
    char id[40];
    cJSON *data;
} sse_event;

/* Parses a text/event-stream body into events (asserting the form of
 * each: "event: status", "id: <tag>", one "data:" line of JSON); comment
 * lines are skipped. Returns how many. */
static size_t parse_events(const char *body, sse_event ev[MAX_EVENTS])
{
    size_t n = 0;
    const char *p = body;
    while (*p != '\0') {
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        if (*p == ':') {            /* a comment: the heartbeat */
            p = end + 2;
            continue;
        }
        assert_true(n < MAX_EVENTS);
        assert_memory_equal(p, "event: status\nid: ", 18);
        p += 18;
        const char *nl = strchr(p, '\n');
        assert_true(nl != NULL && nl < end && (size_t)(nl - p) < sizeof ev[n].id);
        snprintf(ev[n].id, sizeof ev[n].id, "%.*s", (int)(nl - p), p);
        assert_true(test_is_weak_etag(ev[n].id));
        p = nl + 1;
        assert_memory_equal(p, "data: ", 6);
        p += 6;
        assert_null(memchr(p, '\n', (size_t)(end - p))); /* one line */
        char *json = strndup(p, (size_t)(end - p));
        assert_non_null(json);
        ev[n].data = cJSON_Parse(json);
        free(json);
        assert_non_null(ev[n].data);
        n++;
        p = end + 2;
    }
    return n;
}

static void events_free(sse_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(ev[i].data);
}

static void events_path(char *out, size_t len, const char *id)
{
    snprintf(out, len, "/status/%s/events", id);
}

static void test_events_give_the_view_then_each_change_and_end_after_completion(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    push_later a, b;
    push_report_later(&a, port, &j, 300, "{\"progress\":40,\"stage\":\"reading\"}");
    push_report_later(&b, port, &j, 900,
                      "{\"status\":\"completed\",\"result\":{\"answer\":42}}");
    char path[96];
    events_path(path, sizeof path, j.id);
    http_resp r;
    test_call(port, "GET", path, NULL, NULL, &r);
    push_later_join(&a);
    push_later_join(&b);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(b.resp.status, 200);
    http_resp_free(&a.resp);
    http_resp_free(&b.resp);

    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "text/event-stream");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    sse_event ev[MAX_EVENTS];
    size_t n = parse_events(r.body, ev);
    assert_int_equal(n, 3);
    assert_string_equal(ev[0].id, j.etag);
    assert_string_equal(test_jstr(ev[0].data, "status"), "processing");
    assert_int_equal(test_jint(ev[0].data, "progress"), 0);
    assert_int_equal(test_jint(ev[1].data, "progress"), 40);
    assert_string_equal(test_jstr(ev[1].data, "stage"), "reading");
    assert_string_equal(test_jstr(ev[2].data, "status"), "completed");
    assert_int_equal(test_jint(ev[2].data, "progress"), 100);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(ev[2].data, "result");
    assert_int_equal(test_jint(result, "answer"), 42);
    assert_string_not_equal(ev[0].id, ev[1].id);
    assert_string_not_equal(ev[1].id, ev[2].id);
    /* the last event's id is the tag a GET answers */
    char now[40];
    push_etag(port, j.id, now);
    assert_string_equal(ev[2].id, now);
    events_free(ev, n);
    http_resp_free(&r);
}

static void test_events_of_a_finished_job_are_its_view_and_the_end(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    http_resp r;
    app_report(port, j.id, j.token, "{\"status\":\"failed\",\"error\":{\"code\":\"bad\","
                                    "\"message\":\"no\"}}", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    char path[96];
    events_path(path, sizeof path, j.id);
    test_call(port, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    sse_event ev[MAX_EVENTS];
    size_t n = parse_events(r.body, ev);
    assert_int_equal(n, 1);
    assert_string_equal(test_jstr(ev[0].data, "status"), "failed");
    events_free(ev, n);
    http_resp_free(&r);
}

static void test_last_event_id_of_the_current_tag_skips_the_first_event(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    push_later done;
    push_report_later(&done, port, &j, 300, "{\"status\":\"completed\",\"result\":1}");
    char path[96], headers[96];
    events_path(path, sizeof path, j.id);
    snprintf(headers, sizeof headers, "Last-Event-ID: %s\r\n", j.etag);
    http_resp r;
    test_call(port, "GET", path, headers, NULL, &r);
    push_later_join(&done);
    http_resp_free(&done.resp);
    assert_int_equal(r.status, 200);
    sse_event ev[MAX_EVENTS];
    size_t n = parse_events(r.body, ev);
    assert_int_equal(n, 1);
    assert_string_equal(test_jstr(ev[0].data, "status"), "completed");
    char tag[40];
    snprintf(tag, sizeof tag, "%s", ev[0].id);
    events_free(ev, n);
    http_resp_free(&r);

    /* reconnecting after the last event of a finished job: nothing more */
    snprintf(headers, sizeof headers, "Last-Event-ID: %s\r\n", tag);
    test_call(port, "GET", path, headers, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
    /* another tag: the view again */
    test_call(port, "GET", path, "Last-Event-ID: W/\"0000000000000000\"\r\n", NULL, &r);
    n = parse_events(r.body, ev);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].id, tag);
    events_free(ev, n);
    http_resp_free(&r);
}

static void test_events_of_an_unknown_job_are_404_problem(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    http_resp r;
    test_call(port, "GET", "/status/6f1c1d6e-8d4b-4c55-9f1e-0d6c1b0a9e11/events", NULL, NULL,
              &r);
    test_assert_problem(&r, 404, "not-found", "6f1c1d6e-8d4b-4c55-9f1e-0d6c1b0a9e11");
    http_resp_free(&r);
    test_call(port, "GET", "/status/not-a-job/events", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", "not-a-job");
    http_resp_free(&r);
}

static void test_drain_ends_open_streams(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    char path[96];
    events_path(path, sizeof path, j.id);
    push_later s;
    push_later_start(&s, port, 0, "GET", path, "", NULL);
    test_sleep_ms(500);
    int status = statusd_stop(&f->sd->proc, SIGTERM, 15000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    push_later_join(&s);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.resp.status, 200);
    sse_event ev[MAX_EVENTS];
    size_t n = parse_events(s.resp.body, ev);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].id, j.etag);
    events_free(ev, n);
    http_resp_free(&s.resp);
}

static void test_a_silent_stream_gets_a_heartbeat_comment_every_15_s(void **state)
{
    app_fixture *f = *state;
    unsigned port = f->sd->proc.port;
    push_job j = push_submit(port);
    int fd = http_connect(port, 30000);
    assert_true(fd >= 0);
    char req[160];
    int n = snprintf(req, sizeof req, "GET /status/%s/events HTTP/1.1\r\nHost: t\r\n\r\n",
                     j.id);
    assert_int_equal(write(fd, req, (size_t)n), n);
    static char buf[16384];
    size_t len = 0;
    buf[0] = '\0';
    int64_t t0 = push_now_ms();
    while (strstr(buf, ": heartbeat\n\n") == NULL) {
        ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            fail_msg("the stream ended or stalled without a heartbeat:\n%s", buf);
        len += (size_t)got;
        buf[len] = '\0';
    }
    int64_t took = push_now_ms() - t0;
    close(fd);
    /* one event (the view), then the comment after 15 s of silence */
    const char *first = strstr(buf, "event: status");
    assert_non_null(first);
    assert_null(strstr(first + 1, "event: status"));
    assert_true(took >= 14000);
    assert_true(took < 25000);
}

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, app_teardown)
#define ON_BOTH(test) TEST_ON_BOTH(test, push_memory_setup, push_redis_setup, app_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_events_give_the_view_then_each_change_and_end_after_completion),
        ON_BOTH(test_events_of_a_finished_job_are_its_view_and_the_end),
        ON_BOTH(test_last_event_id_of_the_current_tag_skips_the_first_event),
        ON_BOTH(test_events_of_an_unknown_job_are_404_problem),
        ON_BOTH(test_drain_ends_open_streams),
        ON(test_a_silent_stream_gets_a_heartbeat_comment_every_15_s, push_memory_setup),
    };
    return cmocka_run_group_tests_name("http_events", tests, app_group_setup,
                                       app_group_teardown);
}
