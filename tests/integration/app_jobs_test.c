/* The fixture of the tests of jobs the app runs; see app_jobs_test.h. */
#include "app_jobs_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redis_server.h"

#define ARG_MAX 160

int app_group_setup(void **state) { return test_redis_group_setup(state); }

int app_group_teardown(void **state) { return test_redis_group_teardown(state); }

/* "handler_<kind>=<app url of path>" into out. */
static void handler_arg(const app_fixture *f, const char *kind, const char *path,
                        char out[ARG_MAX])
{
    char url[96];
    app_server_url(f->app, path, url, sizeof url);
    snprintf(out, ARG_MAX, "handler_%s=%s", kind, url);
}

static test_statusd *start(const app_fixture *f, const char *const *args)
{
    static const struct {
        const char *kind, *path;
    } kinds[] = {{"echo", "/json"},       {"stream", "/ndjson"},
                 {"streamfail", "/ndjson-error"}, {"later", "/accept"},
                 {"flaky", "/flaky"},     {"flakylater", "/flaky-accept"},
                 {"picky", "/reject"},    {"slow", "/slow"},
                 {"quiet", "/no-content"}, {"html", "/html"}};
    enum { NKINDS = sizeof kinds / sizeof kinds[0] };
    char sets[NKINDS][ARG_MAX];
    const char *head[2 * NKINDS + 16];
    size_t n = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        handler_arg(f, kinds[i].kind, kinds[i].path, sets[i]);
        head[n++] = "--set";
        head[n++] = sets[i];
    }
    static const char *const fixed[] = {
        "--set", "handler_down=http://app:s3cret@127.0.0.1:1/nobody-listens?key=k3y",
        "--set", "handler_ext=external",
        "--set", "job_timeout=3",
        "--set", "max_attempts=3",
        "--set", "retry_backoff_ms=50",
        "--set", "admin_token=" APP_ADMIN_TOKEN,
        "--set", "drain_timeout=1",
        NULL};
    for (size_t i = 0; fixed[i] != NULL; i++)
        head[n++] = fixed[i];
    head[n] = NULL;
    if (f->redis && test_redis_group_flush() != 0)
        return NULL;
    return test_statusd_start_store(NULL, head, f->redis, args);
}

int app_setup_with(void **state, bool redis, const char *const *args)
{
    app_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->redis = redis;
    f->app = app_server_start();
    if (f->app != NULL)
        f->sd = start(f, args);
    if (f->sd == NULL) {
        app_server_stop(f->app);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int app_memory_setup(void **state) { return app_setup_with(state, false, NULL); }

int app_redis_setup(void **state) { return app_setup_with(state, true, NULL); }

int app_teardown(void **state)
{
    app_fixture *f = *state;
    /* statusd first: a run waiting on the app ends with the app's gate */
    app_server_open_gate(f->app);
    int rc = test_statusd_stop(f->sd);
    app_server_stop(f->app);
    free(f);
    return rc;
}

test_statusd *app_start_peer(const app_fixture *f)
{
    /* no flush: the peer shares the running instance's records */
    char set[ARG_MAX];
    handler_arg(f, "echo", "/json", set);
    const char *head[] = {"--set", set, "--set", "handler_ext=external", "--set",
                          "job_timeout=3", "--set", "admin_token=" APP_ADMIN_TOKEN, NULL};
    return test_statusd_start_store(NULL, head, true, NULL);
}

cJSON *app_submit(unsigned port, const char *kind, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/jobs/%s", kind);
    http_resp r;
    test_call(port, "POST", path, NULL, body, &r);
    if (r.status != 202)
        fail_msg("POST %s: %d %s", path, r.status, r.body);
    cJSON *v = test_body_json(&r);
    char location[80];
    snprintf(location, sizeof location, "/status/%s", app_view_id(v));
    assert_string_equal(http_header(&r, "Location"), location);
    assert_non_null(http_header(&r, "ETag"));
    assert_string_equal(http_header(&r, "Retry-After"), "1");
    http_resp_free(&r);
    return v;
}

void app_report(unsigned port, const char *id, const char *token, const char *body,
                http_resp *out)
{
    char path[64], headers[256] = "Content-Type: application/json\r\n";
    test_status_path(path, sizeof path, id);
    if (token != NULL)
        snprintf(headers + strlen(headers), sizeof headers - strlen(headers),
                 "Authorization: Bearer %s\r\n", token);
    test_call(port, "PATCH", path, headers, body, out);
}

const char *app_view_id(const cJSON *view)
{
    const char *id = test_jstr(view, "id");
    assert_non_null(id);
    return id;
}
