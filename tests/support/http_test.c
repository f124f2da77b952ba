/* Shared helpers of the HTTP integration tests (see http_test.h). */
#include "http_test.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "redis_server.h"

void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- JSON ---- */

cJSON *test_body_json(const http_resp *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    if (j == NULL)
        fail_msg("response body is not JSON: %s", r->body != NULL ? r->body : "(none)");
    return j;
}

const char *test_jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int test_jint(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", key);
    return v->valueint;
}

bool test_jnull(const cJSON *obj, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* ---- shapes of values ---- */

bool test_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool test_is_uuid_v4(const char *s)
{
    if (s == NULL || strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' ||
        s[23] != '-')
        return false;
    if (!test_is_hex(s, 8) || !test_is_hex(s + 9, 4) || !test_is_hex(s + 14, 4) ||
        !test_is_hex(s + 19, 4) || !test_is_hex(s + 24, 12))
        return false;
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

bool test_is_rfc3339_ms(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (s == NULL || strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        bool ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok)
            return false;
    }
    return true;
}

bool test_is_weak_etag(const char *s)
{
    return s != NULL && strlen(s) == 20 && strncmp(s, "W/\"", 3) == 0 && s[19] == '"' &&
           test_is_hex(s + 3, 16);
}

/* ---- requests ---- */

void test_call(unsigned port, const char *method, const char *path, const char *headers,
               const char *body, http_resp *out)
{
    if (http_do(port, method, path, headers, body, out) != 0)
        fail_msg("%s %s: no answer from statusd", method, path);
}

int test_get_status(unsigned port, const char *path)
{
    http_resp r;
    test_call(port, "GET", path, NULL, NULL, &r);
    int status = r.status;
    http_resp_free(&r);
    return status;
}

cJSON *test_get_view(unsigned port, const char *path)
{
    http_resp r;
    bool got = http_do(port, "GET", path, NULL, NULL, &r) == 0 && r.status == 200;
    cJSON *v = got ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
    http_resp_free(&r);
    return v;
}

/* ---- problem answers ---- */

void test_assert_problem(const http_resp *r, int status, const char *slug,
                         const char *detail_has)
{
    if (r->status != status)
        fail_msg("expected %d %s, got %d: %s", status, slug, r->status,
                 r->body != NULL ? r->body : "");
    assert_string_equal(http_header(r, "Content-Type"), "application/problem+json");
    assert_non_null(http_header(r, "X-Request-Id"));
    cJSON *p = test_body_json(r);
    char type[64];
    snprintf(type, sizeof type, "/problems/%s", slug);
    assert_string_equal(test_jstr(p, "type"), type);
    assert_int_equal(test_jint(p, "status"), status);
    assert_non_null(test_jstr(p, "title"));
    const char *detail = test_jstr(p, "detail");
    assert_non_null(detail);
    if (detail_has != NULL && strstr(detail, detail_has) == NULL)
        fail_msg("detail '%s' does not mention '%s'", detail, detail_has);
    assert_int_equal(cJSON_GetArraySize(p), 4);
    cJSON_Delete(p);
}

/* ---- the job API ---- */

void test_status_path(char *path, size_t len, const char *id)
{
    int n = snprintf(path, len, "/status/%s", id);
    if (n < 0 || (size_t)n >= len)
        fail_msg("job id too long for a path of %zu bytes: %s", len, id);
}

char *test_submit_job(unsigned port, const char *body)
{
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/research", NULL, body, &r), 0);
    if (r.status != 202)
        fail_msg("expected 202, got %d: %s", r.status, r.body != NULL ? r.body : "");
    cJSON *v = test_body_json(&r);
    const char *id = test_jstr(v, "id");
    assert_non_null(id);
    char *copy = strdup(id);
    assert_non_null(copy);
    cJSON_Delete(v);
    http_resp_free(&r);
    return copy;
}

char *test_completed_job(unsigned port, const char *body, char *path, size_t pathlen)
{
    char *id = test_submit_job(port, body);
    cJSON_Delete(test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS));
    test_status_path(path, pathlen, id);
    return id;
}

cJSON *test_get_job(unsigned port, const char *id, http_resp *keep)
{
    char path[64];
    test_status_path(path, sizeof path, id);
    http_resp r;
    assert_int_equal(http_do(port, "GET", path, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    return v;
}

/* The job's view when the server answers 200 with JSON, else NULL;
 * asserts nothing. The caller frees the view. */
static cJSON *job_view(unsigned port, const char *id)
{
    char path[64];
    int n = snprintf(path, sizeof path, "/status/%s", id);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    return test_get_view(port, path);
}

void test_job_status(unsigned port, const char *id, char *out, size_t outlen)
{
    out[0] = '\0';
    cJSON *v = job_view(port, id);
    if (test_jstr(v, "status") != NULL)
        snprintf(out, outlen, "%s", test_jstr(v, "status"));
    cJSON_Delete(v);
}

bool test_job_is_terminal(const char *status)
{
    return status != NULL && (strcmp(status, "completed") == 0 ||
                              strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0);
}

typedef struct job_wait {
    unsigned port;
    const char *id;
    test_job_pred done;
    void *arg;
    cJSON *view;          /* the last view read */
} job_wait;

static bool job_done(void *arg)
{
    job_wait *w = arg;
    cJSON *v = job_view(w->port, w->id);
    if (v == NULL)
        return false;
    cJSON_Delete(w->view);
    w->view = v;
    return w->done(v, w->arg);
}

bool test_wait_job(unsigned port, const char *id, test_job_pred done, void *arg,
                   int deadline_ms, cJSON **last)
{
    job_wait w = {port, id, done, arg, NULL};
    bool ok = test_wait_until(job_done, &w, deadline_ms);
    *last = w.view;
    return ok;
}

typedef struct status_wanted {
    const char *status;
    int min_progress;
} status_wanted;

/* True once the job has the wanted status and progress, or has ended in
 * another state (which the caller then reports). */
static bool status_reached(const cJSON *view, void *arg)
{
    const status_wanted *want = arg;
    const char *s = test_jstr(view, "status");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(view, "progress");
    if (s != NULL && strcmp(s, want->status) == 0 && cJSON_IsNumber(p) &&
        p->valueint >= want->min_progress)
        return true;
    return test_job_is_terminal(s) && strcmp(s, want->status) != 0;
}

cJSON *test_wait_job_status(unsigned port, const char *id, const char *status,
                            int min_progress, int deadline_ms)
{
    status_wanted want = {status, min_progress};
    cJSON *view = NULL;
    bool ok = test_wait_job(port, id, status_reached, &want, deadline_ms, &view);
    const char *got = test_jstr(view, "status");
    if (!ok || got == NULL || strcmp(got, status) != 0) {
        char *text = view != NULL ? cJSON_PrintUnformatted(view) : NULL;
        fail_msg("job %s did not reach %s (progress >= %d); last view: %s", id, status,
                 min_progress, text != NULL ? text : "none");
    }
    return view;
}

void test_delete_job(unsigned port, const char *id, http_resp *out)
{
    char path[64];
    test_status_path(path, sizeof path, id);
    assert_int_equal(http_do(port, "DELETE", path, NULL, NULL, out), 0);
}

void test_cancel_job(unsigned port, const char *id)
{
    http_resp r;
    test_delete_job(port, id, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

void test_assert_job_error(const cJSON *view, const char *code, const char *message)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(view, "error");
    assert_string_equal(test_jstr(err, "code"), code);
    const char *got = test_jstr(err, "message");
    assert_non_null(got);
    if (message != NULL)
        assert_string_equal(got, message);
    else
        assert_true(strlen(got) > 0);
}

cJSON *test_get_stats(unsigned port)
{
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/stats", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *s = test_body_json(&r);
    http_resp_free(&r);
    return s;
}

int test_stat(const cJSON *stats, const char *group, const char *key)
{
    return test_jint(cJSON_GetObjectItemCaseSensitive(stats, group), key);
}

bool test_health_ok(unsigned port)
{
    http_resp r;
    bool ok = http_do(port, "GET", "/health", NULL, NULL, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}

/* ---- a statusd per fixture ---- */

static void drop_dir(char *dir)
{
    if (dir == NULL)
        return;
    test_rmdir(dir);
    free(dir);
}

test_statusd *test_statusd_start(char *dir, const char *const *args)
{
    test_statusd *s = calloc(1, sizeof *s);
    if (s == NULL) {
        drop_dir(dir);
        return NULL;
    }
    s->dir = dir;
    if (statusd_start(&s->proc, args, NULL) != 0) {
        drop_dir(s->dir);
        free(s);
        return NULL;
    }
    return s;
}

#define EXEC_ARGS_MAX 24

test_statusd *test_statusd_start_store(char *dir, const char *const *head, bool redis,
                                       const char *const *args)
{
    const char *argv[TEST_STATUSD_ARGS_MAX + 1];
    size_t n = 0;
    const char *store[] = {"--store", "redis", "--set", test_redis_group_url_set(), NULL};
    const char *const *lists[] = {head, redis ? store : NULL, args};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++) {
            if (n >= TEST_STATUSD_ARGS_MAX) {
                fprintf(stderr, "test_statusd_start_store: more than %d arguments\n",
                        TEST_STATUSD_ARGS_MAX);
                drop_dir(dir);
                return NULL;
            }
            argv[n++] = lists[l][i];
        }
    }
    argv[n] = NULL;
    return test_statusd_start(dir, argv);
}

test_statusd *test_statusd_start_exec(const char *script, const char *const *args)
{
    size_t nargs = 0;
    while (args != NULL && args[nargs] != NULL)
        nargs++;
    if (nargs > EXEC_ARGS_MAX) {
        fprintf(stderr, "test_statusd_start_exec: more than %d arguments\n", EXEC_ARGS_MAX);
        return NULL;
    }
    char *dir = test_tempdir("statusd-exec");
    if (dir == NULL)
        return NULL;
    char *path = test_write_file(dir, "job.sh", script, 0755);
    if (path == NULL) {
        drop_dir(dir);
        return NULL;
    }
    char handler[1200];
    int n = snprintf(handler, sizeof handler, "handler_research=exec:'%s' '%s'", path, dir);
    free(path);
    if (n < 0 || (size_t)n >= sizeof handler) {
        drop_dir(dir);
        return NULL;
    }
    const char *argv[EXEC_ARGS_MAX + 3] = {"--set", handler};
    for (size_t i = 0; i < nargs; i++)
        argv[2 + i] = args[i];
    argv[2 + nargs] = NULL;
    return test_statusd_start(dir, argv);
}

int test_statusd_stop(test_statusd *s)
{
    if (s == NULL)
        return 0;
    if (s->dir != NULL)
        free(test_write_file(s->dir, "go", "", 0644));
    /* A clean stop is part of every test: exit status 0 (and, in a
     * sanitizer build, no leak report). */
    int st = s->proc.pid > 0 ? statusd_stop(&s->proc, SIGTERM, 15000) : 0;
    if (st != 0) {
        fprintf(stderr, "statusd ended with wait status %d\n", st);
        statusd_dump_log(&s->proc);
    }
    remove(s->proc.log_path);
    drop_dir(s->dir);
    free(s);
    return st == 0 ? 0 : -1;
}

int test_statusd_setup(void **state, const char *const *args)
{
    *state = test_statusd_start(NULL, args);
    return *state != NULL ? 0 : -1;
}

int test_statusd_setup_exec(void **state, const char *script, const char *const *args)
{
    *state = test_statusd_start_exec(script, args);
    return *state != NULL ? 0 : -1;
}

int test_statusd_teardown(void **state)
{
    int rc = test_statusd_stop(*state);
    *state = NULL;
    return rc;
}

/* ---- one statusd per test, on either store ---- */

int test_fixture_start(test_fixture *f, bool redis, char *dir, const char *const *head,
                       const char *const *args)
{
    f->redis = redis;
    f->port = 0;
    f->sd = NULL;
    if (redis && test_redis_group_flush() != 0) {
        drop_dir(dir);
        return -1;
    }
    f->sd = test_statusd_start_store(dir, head, redis, args);
    if (f->sd == NULL)
        return -1;
    f->port = f->sd->proc.port;
    return 0;
}

int test_fixture_stop(test_fixture *f)
{
    int rc = test_statusd_stop(f->sd);
    f->sd = NULL;
    return rc;
}

int test_fixture_setup(void **state, bool redis, const char *const *head,
                       const char *const *args)
{
    *state = NULL;
    test_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (test_fixture_start(f, redis, NULL, head, args) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int test_fixture_teardown(void **state)
{
    test_fixture *f = *state;
    if (f == NULL)
        return 0;
    int rc = test_fixture_stop(f);
    free(f);
    *state = NULL;
    return rc;
}

unsigned test_fixture_port(void **state) { return ((test_fixture *)*state)->port; }

void test_assert_header(const http_resp *r, const char *name, const char *want)
{
    const char *got = http_header(r, name);
    if (got == NULL)
        fail_msg("no %s header; expected '%s'", name, want);
    if (strcmp(got, want) != 0)
        fail_msg("%s: expected '%s', got '%s'", name, want, got);
}

const char *test_source_path(char *buf, size_t len, const char *rel)
{
    const char *root = getenv("SD_TEST_SOURCE_DIR");
    if (root == NULL || root[0] == '\0')
        fail_msg("SD_TEST_SOURCE_DIR is not set (run the tests through ctest)");
    int n = snprintf(buf, len, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= len)
        fail_msg("%s/%s: path too long", root, rel);
    if (access(buf, R_OK) != 0)
        fail_msg("%s: not readable", buf);
    return buf;
}
