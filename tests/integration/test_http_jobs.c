/*
 * The job API over real HTTP against a real statusd, with the demo
 * handler: POST /research, GET/HEAD/DELETE /status/<id>, entity tags,
 * keep-alive and request ids, retries of a failing job (its view while
 * it waits, and a cancel meanwhile). Exec handlers over HTTP are in
 * test_http_exec.c. Nothing here depends on timing: every wait polls
 * with a long deadline, and jobs that must be caught queued or mid-run
 * take seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

static void assert_keep_alive(const http_resp *r)
{
    const char *c = http_header(r, "Connection");
    if (c != NULL && strcasestr(c, "close") != NULL)
        fail_msg("unexpected Connection: %s", c);
}

/* ---- fixtures ---- */

/* A failing job is retried twice, 50 to 100 ms apart. */
static int demo_setup(void **state)
{
    static const char *const args[] = {"--set", "demo_step_ms=50", "--set",
                                       "drain_timeout=1", "--set", "retry_backoff_ms=100",
                                       NULL};
    return test_statusd_setup(state, args);
}

/* Two attempts, seconds apart; jobs fail or end at once. */
static int retry_setup(void **state)
{
    static const char *const args[] = {"--set", "workers=1", "--set", "demo_step_ms=0",
                                       "--set", "max_attempts=2", "--set",
                                       "retry_backoff_ms=6000", "--set", "drain_timeout=1",
                                       NULL};
    return test_statusd_setup(state, args);
}

/* One worker, jobs of 3 x 3 s: a second job stays queued for seconds. */
static int slow_setup(void **state)
{
    static const char *const args[] = {"--set", "workers=1", "--set", "demo_step_ms=3000",
                                       "--set", "drain_timeout=1", NULL};
    return test_statusd_setup(state, args);
}

static int short_ttl_setup(void **state)
{
    static const char *const args[] = {"--set", "job_ttl=1", "--set", "demo_step_ms=0", NULL};
    return test_statusd_setup(state, args);
}

/* ---- the demo handler ---- */

static void test_post_research_answers_202_with_location_and_queued_view(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    assert_int_equal(http_do(f->proc.port, "POST", "/research", NULL,
                             "{\"query\":\"quantum dots\",\"params\":{\"lang\":\"en\",\"n\":3}}",
                             &r), 0);
    assert_int_equal(r.status, 202);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Retry-After"), "1");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));

    cJSON *v = test_body_json(&r);
    const char *id = test_jstr(v, "id");
    assert_true(test_is_uuid_v4(id));
    char location[64];
    test_status_path(location, sizeof location, id);
    assert_string_equal(http_header(&r, "Location"), location);
    assert_string_equal(test_jstr(v, "kind"), "research");
    assert_string_equal(test_jstr(v, "status"), "queued");
    assert_int_equal(test_jint(v, "progress"), 0);
    assert_true(test_jnull(v, "stage"));
    assert_true(test_jnull(v, "result"));
    assert_true(test_jnull(v, "error"));
    assert_int_equal(test_jint(v, "attempts"), 0);
    assert_true(test_jnull(v, "retry_at"));
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(v, "input");
    assert_string_equal(test_jstr(input, "query"), "quantum dots");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(input, "params");
    assert_string_equal(test_jstr(params, "lang"), "en");
    assert_int_equal(test_jint(params, "n"), 3);
    assert_int_equal(cJSON_GetArraySize(params), 2);
    assert_int_equal(cJSON_GetArraySize(input), 2);
    assert_true(test_is_rfc3339_ms(test_jstr(v, "created_at")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "updated_at")));
    assert_true(test_is_rfc3339_ms(test_jstr(v, "expires_at")));
    assert_string_equal(test_jstr(v, "created_at"), test_jstr(v, "updated_at"));
    assert_true(strcmp(test_jstr(v, "expires_at"), test_jstr(v, "created_at")) > 0);
    assert_int_equal(cJSON_GetArraySize(v), 13);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void test_post_research_without_params_gets_empty_params(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    assert_int_equal(http_do(f->proc.port, "POST", "/research", NULL, "{\"query\":\"q\"}", &r), 0);
    assert_int_equal(r.status, 202);
    cJSON *v = test_body_json(&r);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(v, "input"), "params");
    assert_true(cJSON_IsObject(params));
    assert_int_equal(cJSON_GetArraySize(params), 0);
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void test_demo_job_completes_with_summary_naming_the_query(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    assert_int_equal(http_do(f->proc.port, "POST", "/research", NULL,
                             "{\"query\":\"tidal energy\"}", &r), 0);
    assert_int_equal(r.status, 202);
    cJSON *posted = test_body_json(&r);
    const char *location = http_header(&r, "Location");
    assert_non_null(location);
    const char *id = location + strlen("/status/");
    assert_string_equal(id, test_jstr(posted, "id"));

    cJSON *v = test_wait_job_status(f->proc.port, id, "completed", 0, TEST_DEADLINE_MS);
    assert_int_equal(test_jint(v, "progress"), 100);
    assert_string_equal(test_jstr(v, "stage"), "summarizing");
    assert_int_equal(test_jint(v, "attempts"), 1);
    assert_true(test_jnull(v, "error"));
    const char *summary = test_jstr(cJSON_GetObjectItemCaseSensitive(v, "result"), "summary");
    assert_non_null(summary);
    assert_non_null(strstr(summary, "tidal energy"));
    assert_string_equal(test_jstr(v, "created_at"), test_jstr(posted, "created_at"));
    assert_true(strcmp(test_jstr(v, "updated_at"), test_jstr(v, "created_at")) >= 0);

    /* a finished job: no Retry-After any more */
    http_resp g;
    cJSON *again = test_get_job(f->proc.port, id, &g);
    assert_null(http_header(&g, "Retry-After"));
    assert_string_equal(http_header(&g, "Cache-Control"), "no-cache");
    assert_true(test_is_weak_etag(http_header(&g, "ETag")));
    assert_string_equal(test_jstr(again, "status"), "completed");
    cJSON_Delete(again);
    http_resp_free(&g);
    cJSON_Delete(v);
    cJSON_Delete(posted);
    http_resp_free(&r);
}

static void test_demo_job_with_params_fail_ends_failed_after_max_attempts(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"doomed\",\"params\":{\"fail\":true}}");
    cJSON *v = test_wait_job_status(f->proc.port, id, "failed", 0, TEST_DEADLINE_MS);
    test_assert_job_error(v, "demo_failure", NULL);
    assert_true(test_jnull(v, "result"));
    assert_string_equal(test_jstr(v, "stage"), "analyzing");
    assert_int_equal(test_jint(v, "progress"), 66);
    assert_int_equal(test_jint(v, "attempts"), 3);
    assert_true(test_jnull(v, "retry_at"));
    cJSON_Delete(v);
    free(id);
}

static void test_get_with_matching_etag_answers_304_without_body(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"etag\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "completed", 0, TEST_DEADLINE_MS));
    http_resp g;
    cJSON_Delete(test_get_job(f->proc.port, id, &g));
    assert_true(test_is_weak_etag(http_header(&g, "ETag")));
    char etag[32];
    snprintf(etag, sizeof etag, "%s", http_header(&g, "ETag"));
    http_resp_free(&g);

    /* the tag itself, in a list, in its strong form (weak comparison
     * matches), and "*" */
    char listed[96];
    snprintf(listed, sizeof listed, "W/\"0000000000000000\", %s", etag);
    const char *values[] = {etag, listed, etag + 2, "*"};
    char path[64];
    test_status_path(path, sizeof path, id);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", values[i]);
        http_resp r;
        assert_int_equal(http_do(f->proc.port, "GET", path, hdr, NULL, &r), 0);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        assert_string_equal(http_header(&r, "ETag"), etag);
        assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
        assert_non_null(http_header(&r, "X-Request-Id"));
        http_resp_free(&r);
    }
    free(id);
}

static void test_get_with_etag_of_an_older_state_answers_200_with_new_etag(void **state)
{
    test_statusd *f = *state;
    http_resp p;
    assert_int_equal(
        http_do(f->proc.port, "POST", "/research", NULL, "{\"query\":\"changes\"}", &p), 0);
    assert_int_equal(p.status, 202);
    cJSON *posted = test_body_json(&p);
    char queued_etag[32];
    snprintf(queued_etag, sizeof queued_etag, "%s", http_header(&p, "ETag"));
    cJSON_Delete(test_wait_job_status(f->proc.port, test_jstr(posted, "id"), "completed", 0,
                                      TEST_DEADLINE_MS));

    char path[64], hdr[96];
    test_status_path(path, sizeof path, test_jstr(posted, "id"));
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", queued_etag);
    http_resp r;
    assert_int_equal(http_do(f->proc.port, "GET", path, hdr, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    assert_string_not_equal(http_header(&r, "ETag"), queued_etag);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "completed");
    cJSON_Delete(v);
    http_resp_free(&r);
    cJSON_Delete(posted);
    http_resp_free(&p);
}

/* Two polls of a completed job pause_ms apart: both keep updated_at and
 * the ETag; returns strcmp of the second expires_at with the first. */
static int expires_at_moved(unsigned port, int64_t pause_ms)
{
    char *id = test_submit_job(port, "{\"query\":\"ttl\"}");
    cJSON_Delete(test_wait_job_status(port, id, "completed", 0, TEST_DEADLINE_MS));
    http_resp a, b;
    cJSON *first = test_get_job(port, id, &a);
    test_sleep_ms(pause_ms); /* expires_at has millisecond precision */
    cJSON *second = test_get_job(port, id, &b);
    int moved = strcmp(test_jstr(second, "expires_at"), test_jstr(first, "expires_at"));
    assert_string_equal(test_jstr(second, "updated_at"), test_jstr(first, "updated_at"));
    assert_string_equal(http_header(&b, "ETag"), http_header(&a, "ETag"));
    cJSON_Delete(first);
    cJSON_Delete(second);
    http_resp_free(&a);
    http_resp_free(&b);
    free(id);
    return moved;
}

/* job_ttl is an hour: a poll 50 ms after the last one would move the
 * expiry by far less than a tenth of it, so it leaves it. */
static void test_poll_within_a_tenth_of_job_ttl_keeps_expires_at_and_etag(void **state)
{
    test_statusd *f = *state;
    assert_int_equal(expires_at_moved(f->proc.port, 50), 0);
}

/* job_ttl = 1 s: a poll 200 ms after the last one would move the expiry
 * by more than a tenth of it, so it renews; the ETag stays. */
static void test_poll_past_a_tenth_of_job_ttl_renews_expires_at(void **state)
{
    test_statusd *f = *state;
    assert_true(expires_at_moved(f->proc.port, 200) > 0);
}

static void test_delete_of_a_completed_job_is_409_conflict(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"done already\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "completed", 0, TEST_DEADLINE_MS));
    http_resp r;
    test_delete_job(f->proc.port, id, &r);
    test_assert_problem(&r, 409, "conflict", NULL);
    http_resp_free(&r);
    cJSON *v = test_get_job(f->proc.port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "completed");
    cJSON_Delete(v);
    free(id);
}

static void test_keep_alive_serves_several_requests_on_one_connection(void **state)
{
    test_statusd *f = *state;
    int fd = http_connect(f->proc.port, 10000);
    assert_true(fd >= 0);
    static const char body[] = "{\"query\":\"one connection\"}";
    http_resp r;
    assert_int_equal(http_request(fd, "POST", "/research", "Content-Type: application/json\r\n",
                                  body, strlen(body), &r), 0);
    assert_int_equal(r.status, 202);
    assert_keep_alive(&r);
    cJSON *v = test_body_json(&r);
    char path[64];
    test_status_path(path, sizeof path, test_jstr(v, "id"));
    cJSON_Delete(v);
    http_resp_free(&r);

    for (int i = 0; i < 5; i++) {
        assert_int_equal(http_request(fd, "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_keep_alive(&r);
        http_resp_free(&r);
    }
    assert_int_equal(http_request(fd, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_keep_alive(&r);
    http_resp_free(&r);
    close(fd);
}

static void test_head_status_answers_200_without_body(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"head\"}");
    /* HEAD and a GET pipelined on one connection: the GET's status line
     * must follow the HEAD's header block at once, with no body between. */
    char raw[512];
    int n = snprintf(raw, sizeof raw,
                     "HEAD /status/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                     "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                     id);
    char out[8192];
    size_t got = http_raw(f->proc.port, raw, (size_t)n, out, sizeof out, 10000);
    assert_true(got > 0);
    assert_int_equal(strncmp(out, "HTTP/1.1 200 ", 13), 0);
    const char *end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    assert_non_null(strcasestr(out, "\r\nETag: W/\""));
    const char *rid = strcasestr(out, "\r\nX-Request-Id: ");
    assert_non_null(rid);
    assert_true(rid < end);
    assert_int_equal(strncmp(end + 4, "HTTP/1.1 200 ", 13), 0);

    http_resp r;
    char path[64];
    test_status_path(path, sizeof path, id);
    assert_int_equal(http_do(f->proc.port, "HEAD", path, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_true(test_is_weak_etag(http_header(&r, "ETag")));
    http_resp_free(&r);
    free(id);
}

static void test_request_id_is_echoed_when_well_formed(void **state)
{
    test_statusd *f = *state;
    char longest[129];
    memset(longest, 'x', 128);
    longest[128] = '\0';
    const char *ids[] = {"req-42", "A.b_c:D-9", longest};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\n", ids[i]);
        http_resp r;
        assert_int_equal(http_do(f->proc.port, "GET", "/health", hdr, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(http_header(&r, "X-Request-Id"), ids[i]);
        http_resp_free(&r);
        /* on errors and on accepted jobs too */
        assert_int_equal(http_do(f->proc.port, "GET", "/no/such/path", hdr, NULL, &r), 0);
        assert_int_equal(r.status, 404);
        assert_string_equal(http_header(&r, "X-Request-Id"), ids[i]);
        http_resp_free(&r);
        assert_int_equal(
            http_do(f->proc.port, "POST", "/research", hdr, "{\"query\":\"id\"}", &r), 0);
        assert_int_equal(r.status, 202);
        assert_string_equal(http_header(&r, "X-Request-Id"), ids[i]);
        http_resp_free(&r);
    }
}

static void test_request_id_is_generated_when_missing_or_malformed(void **state)
{
    test_statusd *f = *state;
    char too_long[150];
    snprintf(too_long, sizeof too_long, "X-Request-Id: %0129d\r\n", 7);
    const char *hdrs[] = {NULL, "X-Request-Id: has space\r\n", "X-Request-Id: a/b\r\n",
                          "X-Request-Id: semi;colon\r\n", too_long};
    char seen[sizeof hdrs / sizeof hdrs[0]][40];
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        http_resp r;
        assert_int_equal(http_do(f->proc.port, "GET", "/health", hdrs[i], NULL, &r), 0);
        assert_int_equal(r.status, 200);
        const char *rid = http_header(&r, "X-Request-Id");
        assert_non_null(rid);
        assert_int_equal(strlen(rid), 32);
        assert_true(test_is_hex(rid, 32));
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(seen[k], rid);
        snprintf(seen[i], sizeof seen[i], "%s", rid);
        http_resp_free(&r);
    }
}

/* ---- retries ---- */

static bool waits_for_a_retry(const cJSON *v, void *arg)
{
    (void)arg;
    const char *status = test_jstr(v, "status");
    return status != NULL && strcmp(status, "queued") == 0 && !test_jnull(v, "error");
}

/* The /stats queue figure key ("ready", "delayed", ...). */
static int queue_stat(unsigned port, const char *key)
{
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/stats", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *s = test_body_json(&r);
    int n = test_jint(cJSON_GetObjectItemCaseSensitive(s, "queue"), key);
    cJSON_Delete(s);
    http_resp_free(&r);
    return n;
}

static void test_failed_attempt_waits_queued_with_its_error_and_cancel_ends_it(void **state)
{
    test_statusd *f = *state;
    unsigned port = f->proc.port;
    char *id = test_submit_job(port, "{\"query\":\"again\",\"params\":{\"fail\":true}}");
    cJSON *v = NULL;
    assert_true(test_wait_job(port, id, waits_for_a_retry, NULL, TEST_DEADLINE_MS, &v));
    /* queued again, the last error kept until the next run starts */
    assert_int_equal(test_jint(v, "attempts"), 1);
    test_assert_job_error(v, "demo_failure", NULL);
    const char *retry_at = test_jstr(v, "retry_at");
    assert_true(test_is_rfc3339_ms(retry_at));
    assert_true(strcmp(retry_at, test_jstr(v, "updated_at")) > 0);
    cJSON_Delete(v);
    assert_int_equal(queue_stat(port, "delayed"), 1);
    assert_int_equal(queue_stat(port, "ready"), 0);

    /* a cancel takes it out of the queue: it is never retried */
    http_resp r;
    test_delete_job(port, id, &r);
    assert_int_equal(r.status, 200);
    v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_true(test_jnull(v, "retry_at"));
    assert_true(test_jnull(v, "error"));
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    http_resp_free(&r);
    assert_int_equal(queue_stat(port, "delayed"), 0);
    assert_int_equal(queue_stat(port, "depth"), 0);

    /* the worker is free for the next job */
    char *next = test_submit_job(port, "{\"query\":\"fine\"}");
    cJSON_Delete(test_wait_job_status(port, next, "completed", 100, TEST_DEADLINE_MS));
    v = test_get_job(port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    free(next);
    free(id);
}

/* ---- cancel, with one slow worker ---- */

static void test_delete_queued_job_cancels_it_and_a_second_delete_is_409(void **state)
{
    test_statusd *f = *state;
    char *busy = test_submit_job(f->proc.port, "{\"query\":\"occupies the worker\"}");
    /* Taken first for sure: two jobs pushed in the same millisecond go
     * out in the byte order of their ids, not in the order sent. */
    cJSON_Delete(test_wait_job_status(f->proc.port, busy, "processing", 0, TEST_DEADLINE_MS));
    char *queued = test_submit_job(f->proc.port, "{\"query\":\"waits\"}");

    http_resp r;
    test_delete_job(f->proc.port, queued, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_null(http_header(&r, "Retry-After"));
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "id"), queued);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_int_equal(test_jint(v, "attempts"), 0);
    assert_int_equal(test_jint(v, "progress"), 0);
    assert_true(test_jnull(v, "result"));
    cJSON_Delete(v);
    http_resp_free(&r);

    test_delete_job(f->proc.port, queued, &r);
    test_assert_problem(&r, 409, "conflict", NULL);
    http_resp_free(&r);

    v = test_get_job(f->proc.port, queued, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_int_equal(test_jint(v, "attempts"), 0);
    cJSON_Delete(v);

    test_cancel_job(f->proc.port, busy);
    free(busy);
    free(queued);
}

static void test_delete_processing_demo_job_cancels_it_for_good(void **state)
{
    test_statusd *f = *state;
    char *id = test_submit_job(f->proc.port, "{\"query\":\"interrupted\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, id, "processing", 0, TEST_DEADLINE_MS));
    http_resp r;
    test_delete_job(f->proc.port, id, &r);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_int_equal(test_jint(v, "attempts"), 1);
    cJSON_Delete(v);
    http_resp_free(&r);

    /* The one worker takes the next job only once the canceled run has
     * returned: after that, nothing can complete the first job any more. */
    char *next = test_submit_job(f->proc.port, "{\"query\":\"next\"}");
    cJSON_Delete(test_wait_job_status(f->proc.port, next, "processing", 0, TEST_DEADLINE_MS));
    v = test_get_job(f->proc.port, id, NULL);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_true(test_jnull(v, "result"));
    assert_true(test_jint(v, "progress") < 100);
    cJSON_Delete(v);
    test_cancel_job(f->proc.port, next);
    free(next);
    free(id);
}

int main(void)
{
    const struct CMUnitTest demo[] = {
        cmocka_unit_test(test_post_research_answers_202_with_location_and_queued_view),
        cmocka_unit_test(test_post_research_without_params_gets_empty_params),
        cmocka_unit_test(test_demo_job_completes_with_summary_naming_the_query),
        cmocka_unit_test(test_demo_job_with_params_fail_ends_failed_after_max_attempts),
        cmocka_unit_test(test_get_with_matching_etag_answers_304_without_body),
        cmocka_unit_test(test_get_with_etag_of_an_older_state_answers_200_with_new_etag),
        cmocka_unit_test(test_poll_within_a_tenth_of_job_ttl_keeps_expires_at_and_etag),
        cmocka_unit_test(test_delete_of_a_completed_job_is_409_conflict),
        cmocka_unit_test(test_keep_alive_serves_several_requests_on_one_connection),
        cmocka_unit_test(test_head_status_answers_200_without_body),
        cmocka_unit_test(test_request_id_is_echoed_when_well_formed),
        cmocka_unit_test(test_request_id_is_generated_when_missing_or_malformed),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test_setup_teardown(
            test_delete_queued_job_cancels_it_and_a_second_delete_is_409, slow_setup,
            test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_delete_processing_demo_job_cancels_it_for_good,
                                        slow_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(
            test_failed_attempt_waits_queued_with_its_error_and_cancel_ends_it, retry_setup,
            test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_poll_past_a_tenth_of_job_ttl_renews_expires_at,
                                        short_ttl_setup, test_statusd_teardown),
    };
    int failed = cmocka_run_group_tests_name("jobs over http, demo handler", demo, demo_setup,
                                             test_statusd_teardown);
    failed += cmocka_run_group_tests_name("jobs over http, one server per test", own_server,
                                          NULL, NULL);
    return failed;
}
