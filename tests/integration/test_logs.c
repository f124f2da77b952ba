/*
 * Log lines of a real statusd: with log_format = json every line of its
 * stderr parses as one JSON object with ts, level and msg; an access line
 * at info for every answer (request_id, method, route, status,
 * duration_ms, client) unless access_log = off; the job lifecycle lines
 * (queued, started, retried, completed, failed) with job_id, kind,
 * attempt and outcome; hostile text (a newline or a quote in a path, a
 * path longer than the line) never breaks a line. With log_format = text
 * the same fields follow the message as key=value.
 *
 * Lines are written by other threads after the answer went out, so each
 * wanted line is polled for (long deadline), never expected at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

#define ADMIN "Authorization: Bearer admin-token-for-the-logs\r\n"

static const char *const JSON_ARGS[] = {
    "--set", "log_format=json", "--set", "demo_step_ms=0", "--set", "max_attempts=2",
    "--set", "retry_backoff_ms=10", "--set", "admin_token=admin-token-for-the-logs", NULL};
static const char *const QUIET_ARGS[] = {"--set", "log_format=json", "--set",
                                         "access_log=off", NULL};
static const char *const TEXT_ARGS[] = {"--set", "log_format=text", "--set",
                                        "demo_step_ms=0", NULL};

static int json_setup(void **state) { return test_statusd_setup(state, JSON_ARGS); }
static int quiet_setup(void **state) { return test_statusd_setup(state, QUIET_ARGS); }
static int text_setup(void **state) { return test_statusd_setup(state, TEXT_ARGS); }

static test_statusd *sd_of(void **state) { return *state; }

/* The whole log so far (the caller frees it). */
static char *log_text(const test_statusd *s)
{
    FILE *f = fopen(s->proc.log_path, "r");
    assert_non_null(f);
    size_t cap = 65536, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t got;
    while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
    }
    fclose(f);
    text[n] = '\0';
    return text;
}

/* Asserts that every complete line of the JSON log is one object with
 * string ts, level and msg and returns them as an array (the caller
 * frees it). */
static cJSON *json_lines(const test_statusd *s)
{
    char *text = log_text(s);
    cJSON *lines = cJSON_CreateArray();
    assert_non_null(lines);
    char *line = text;
    for (char *eol; (eol = strchr(line, '\n')) != NULL; line = eol + 1) {
        *eol = '\0';
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o))
            fail_msg("not one JSON object: %s", line);
        static const char *const keys[] = {"ts", "level", "msg"};
        for (size_t k = 0; k < 3; k++)
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, keys[k])))
                fail_msg("no %s string in %s", keys[k], line);
        if (!test_is_rfc3339_ms(test_jstr(o, "ts")))
            fail_msg("ts is not a time: %s", line);
        cJSON_AddItemToArray(lines, o);
    }
    free(text);
    return lines;
}

/* Whether the line's key is the string want (NULL: matches anything). */
static bool has(const cJSON *o, const char *key, const char *want)
{
    if (want == NULL)
        return true;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

/* Polls the JSON log for the first line whose string fields k1 and k2
 * (k2 may be NULL) are v1 and v2; fails after the deadline. The caller
 * frees the copy returned. */
static cJSON *wait_line(const test_statusd *s, const char *k1, const char *v1, const char *k2,
                        const char *v2)
{
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        cJSON *lines = json_lines(s);
        const cJSON *o;
        cJSON_ArrayForEach(o, lines)
            if (has(o, k1, v1) && (k2 == NULL || has(o, k2, v2))) {
                cJSON *copy = cJSON_Duplicate(o, true);
                cJSON_Delete(lines);
                return copy;
            }
        cJSON_Delete(lines);
        test_sleep_ms(20);
    }
    fail_msg("no log line with %s=%s %s=%s", k1, v1, k2 != NULL ? k2 : "", v2 != NULL ? v2 : "");
    return NULL;
}

/* The job's lifecycle line with msg starting "job <event>" and attempt
 * (0: the line has none). */
static cJSON *wait_job_line(const test_statusd *s, const char *id, const char *event,
                            int attempt)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "job %s", event);
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        cJSON *lines = json_lines(s);
        const cJSON *o;
        cJSON_ArrayForEach(o, lines) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "attempt");
            bool attempt_ok = attempt == 0 ? a == NULL : (cJSON_IsNumber(a) && a->valueint == attempt);
            if (has(o, "job_id", id) && attempt_ok &&
                strncmp(test_jstr(o, "msg"), prefix, strlen(prefix)) == 0) {
                cJSON *copy = cJSON_Duplicate(o, true);
                cJSON_Delete(lines);
                return copy;
            }
        }
        cJSON_Delete(lines);
        test_sleep_ms(20);
    }
    fail_msg("no line \"%s\" of job %s, attempt %d", prefix, id, attempt);
    return NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", key);
    return v->valuedouble;
}

/* Asserts the fields of an access line. */
static void assert_access(const cJSON *o, const char *method, const char *route, int status)
{
    assert_string_equal(test_jstr(o, "level"), "info");
    assert_string_equal(test_jstr(o, "method"), method);
    assert_string_equal(test_jstr(o, "route"), route);
    assert_int_equal((int)num(o, "status"), status);
    double ms = num(o, "duration_ms");
    assert_true(ms >= 0 && ms < 60000);
    assert_string_equal(test_jstr(o, "client"), "127.0.0.1");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "job_id"));
}

static void test_json_access_lines_carry_the_request_fields(void **state)
{
    unsigned port = sd_of(state)->proc.port;
    http_resp r;
    test_call(port, "POST", "/research", "X-Request-Id: log-test-submit\r\n",
              "{\"query\":\"logged\"}", &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    test_call(port, "GET", "/status/0f8fad5b-d9cb-469f-a165-70867728950e",
              "X-Request-Id: log-test-missing\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    test_call(port, "GET", "/no/such/path", "X-Request-Id: log-test-unmatched\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);

    cJSON *o = wait_line(sd_of(state), "request_id", "log-test-submit", NULL, NULL);
    assert_access(o, "POST", "/research", 202);
    assert_string_equal(test_jstr(o, "msg"), "POST /research 202");
    cJSON_Delete(o);
    o = wait_line(sd_of(state), "request_id", "log-test-missing", NULL, NULL);
    assert_access(o, "GET", "/status/:id", 404);
    cJSON_Delete(o);
    o = wait_line(sd_of(state), "request_id", "log-test-unmatched", NULL, NULL);
    assert_access(o, "GET", "unmatched", 404);
    cJSON_Delete(o);
    /* a generated id when the client sent none */
    test_call(port, "GET", "/health", NULL, NULL, &r);
    char id[64];
    snprintf(id, sizeof id, "%s", http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    o = wait_line(sd_of(state), "request_id", id, NULL, NULL);
    assert_access(o, "GET", "/health", 200);
    cJSON_Delete(o);
}

/* A newline (refused), a quote and a backslash, a byte that is not UTF-8
 * in a path, and a path longer than a line holds: every line still
 * parses (json_lines asserts it) and keeps its fields. */
static void test_json_lines_survive_hostile_paths(void **state)
{
    unsigned port = sd_of(state)->proc.port;
    http_resp r;
    test_call(port, "GET", "/a%0a%22b%5c%0d%7B", "X-Request-Id: log-test-hostile\r\n",
              NULL, &r);
    assert_int_equal(r.status, 400);   /* a control character in the path */
    http_resp_free(&r);
    test_call(port, "GET", "/q%22b%5cc%7B", "X-Request-Id: log-test-quote\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    test_call(port, "GET", "/u%ff%c3%a9", "X-Request-Id: log-test-utf8\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    size_t len = 6000;
    char *path = malloc(len + 1);
    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'p', len - 1);
    path[len] = '\0';
    test_call(port, "GET", path, "X-Request-Id: log-test-long\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    free(path);

    cJSON *o = wait_line(sd_of(state), "request_id", "log-test-hostile", NULL, NULL);
    assert_access(o, "GET", "unmatched", 400);
    cJSON_Delete(o);
    o = wait_line(sd_of(state), "request_id", "log-test-quote", NULL, NULL);
    assert_access(o, "GET", "unmatched", 404);
    assert_string_equal(test_jstr(o, "msg"), "GET /q\"b\\c{ 404");
    cJSON_Delete(o);
    /* a byte that is not UTF-8 becomes U+FFFD; UTF-8 stays as it is */
    o = wait_line(sd_of(state), "request_id", "log-test-utf8", NULL, NULL);
    assert_string_equal(test_jstr(o, "msg"), "GET /u\xEF\xBF\xBD\xC3\xA9 404");
    cJSON_Delete(o);
    o = wait_line(sd_of(state), "request_id", "log-test-long", NULL, NULL);
    assert_access(o, "GET", "unmatched", 404);
    assert_true(strlen(test_jstr(o, "msg")) < len);
    cJSON_Delete(o);
}

static void assert_job_line(const cJSON *o, const char *outcome)
{
    assert_string_equal(test_jstr(o, "level"), "info");
    assert_string_equal(test_jstr(o, "kind"), "research");
    if (outcome == NULL)
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "outcome"));
    else
        assert_string_equal(test_jstr(o, "outcome"), outcome);
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "request_id"));
}

static void test_json_job_lifecycle_lines(void **state)
{
    const test_statusd *s = sd_of(state);
    unsigned port = s->proc.port;
    char *done = test_submit_job(port, "{\"query\":\"fine\"}");
    cJSON_Delete(test_wait_job_status(port, done, "completed", 0, TEST_DEADLINE_MS));
    cJSON *o = wait_job_line(s, done, "queued", 0);
    assert_job_line(o, NULL);
    cJSON_Delete(o);
    o = wait_job_line(s, done, "started", 1);
    assert_job_line(o, NULL);
    cJSON_Delete(o);
    o = wait_job_line(s, done, "completed", 1);
    assert_job_line(o, "completed");
    cJSON_Delete(o);

    /* two attempts (max_attempts = 2), both failing, then a retry by hand */
    char *broken = test_submit_job(port, "{\"query\":\"broken\",\"params\":{\"fail\":true}}");
    cJSON_Delete(test_wait_job_status(port, broken, "failed", 0, TEST_DEADLINE_MS));
    o = wait_job_line(s, broken, "started", 1);
    assert_job_line(o, NULL);
    cJSON_Delete(o);
    o = wait_job_line(s, broken, "retried", 1);
    assert_job_line(o, "retried");
    cJSON_Delete(o);
    o = wait_job_line(s, broken, "started", 2);
    cJSON_Delete(o);
    o = wait_job_line(s, broken, "failed", 2);
    assert_job_line(o, "failed");
    assert_non_null(strstr(test_jstr(o, "msg"), "demo_failure"));
    cJSON_Delete(o);

    char path[128];
    snprintf(path, sizeof path, "/status/%s/retry", broken);
    http_resp r;
    test_call(port, "POST", path, ADMIN, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    o = wait_job_line(s, broken, "retried", 0);
    assert_job_line(o, "retried");
    cJSON_Delete(o);
    o = wait_line(s, "job_id", broken, "outcome", "failed");
    cJSON_Delete(o);
    free(done);
    free(broken);
}

static void test_access_log_off_leaves_requests_out(void **state)
{
    const test_statusd *s = sd_of(state);
    http_resp r;
    test_call(s->proc.port, "GET", "/health", "X-Request-Id: log-test-quiet\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* a later line (a job's) shows the log has caught up */
    char *id = test_submit_job(s->proc.port, "{\"query\":\"after\"}");
    cJSON_Delete(wait_job_line(s, id, "queued", 0));
    cJSON *lines = json_lines(s);
    const cJSON *o;
    cJSON_ArrayForEach(o, lines) {
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "request_id"));
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "route"));
    }
    cJSON_Delete(lines);
    free(id);
}

/* Polls the text log for a line holding every one of the fragments. */
static void wait_text(const test_statusd *s, const char *const *fragments)
{
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        char *text = log_text(s);
        for (char *line = text, *eol; (eol = strchr(line, '\n')) != NULL; line = eol + 1) {
            *eol = '\0';
            bool all = true;
            for (size_t i = 0; fragments[i] != NULL && all; i++)
                all = strstr(line, fragments[i]) != NULL;
            if (all) {
                free(text);
                return;
            }
        }
        free(text);
        test_sleep_ms(20);
    }
    fail_msg("no text line with %s ...", fragments[0]);
}

static void test_text_lines_keep_the_fields_as_key_value(void **state)
{
    const test_statusd *s = sd_of(state);
    http_resp r;
    test_call(s->proc.port, "GET", "/a%20b", "X-Request-Id: log-test-text\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    const char *const access[] = {" info  GET /a b 404 request_id=log-test-text method=GET "
                                  "route=unmatched status=404 duration_ms=",
                                  " client=127.0.0.1", NULL};
    wait_text(s, access);
    char *id = test_submit_job(s->proc.port, "{\"query\":\"text\"}");
    cJSON_Delete(test_wait_job_status(s->proc.port, id, "completed", 0, TEST_DEADLINE_MS));
    char job[80];
    snprintf(job, sizeof job, " job_id=%s kind=research attempt=1 outcome=completed", id);
    const char *const done[] = {" info  job completed job_id=", job, NULL};
    wait_text(s, done);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_access_lines_carry_the_request_fields,
                                        json_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_json_lines_survive_hostile_paths, json_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_json_job_lifecycle_lines, json_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_access_log_off_leaves_requests_out, quiet_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_text_lines_keep_the_fields_as_key_value,
                                        text_setup, test_statusd_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
