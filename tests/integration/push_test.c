/* What the push tests share; see push_test.h. */
#include "push_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static const char *const push_args[] = {
    "--set", "job_timeout=120", "--set", "max_wait=20", "--set", "job_ttl=120", NULL};

int push_memory_setup(void **state) { return app_setup_with(state, false, push_args); }

int push_redis_setup(void **state) { return app_setup_with(state, true, push_args); }

int64_t push_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void push_etag(unsigned port, const char *id, char out[40])
{
    http_resp r;
    cJSON *v = test_get_job(port, id, &r);
    const char *etag = http_header(&r, "ETag");
    assert_non_null(etag);
    snprintf(out, 40, "%s", etag);
    cJSON_Delete(v);
    http_resp_free(&r);
}

push_job push_submit(unsigned port)
{
    cJSON *v = app_submit(port, "ext", "{\"n\":1}");
    push_job j;
    snprintf(j.id, sizeof j.id, "%s", app_view_id(v));
    const char *token = test_jstr(v, "run_token");
    assert_non_null(token);
    snprintf(j.token, sizeof j.token, "%s", token);
    cJSON_Delete(v);
    push_etag(port, j.id, j.etag);
    return j;
}

static void *later_main(void *arg)
{
    push_later *l = arg;
    test_sleep_ms(l->delay_ms);
    l->rc = http_do(l->port, l->method, l->path, l->headers[0] != '\0' ? l->headers : NULL,
                    l->body[0] != '\0' ? l->body : NULL, &l->resp);
    return NULL;
}

void push_later_start(push_later *l, unsigned port, int delay_ms, const char *method,
                      const char *path, const char *headers, const char *body)
{
    memset(l, 0, sizeof *l);
    l->port = port;
    l->delay_ms = delay_ms;
    snprintf(l->method, sizeof l->method, "%s", method);
    snprintf(l->path, sizeof l->path, "%s", path);
    snprintf(l->headers, sizeof l->headers, "%s", headers != NULL ? headers : "");
    snprintf(l->body, sizeof l->body, "%s", body != NULL ? body : "");
    l->rc = -1;
    assert_int_equal(pthread_create(&l->thread, NULL, later_main, l), 0);
}

void push_later_join(push_later *l) { pthread_join(l->thread, NULL); }

void push_report_later(push_later *l, unsigned port, const push_job *j, int delay_ms,
                       const char *body)
{
    char path[96], headers[160];
    test_status_path(path, sizeof path, j->id);
    snprintf(headers, sizeof headers,
             "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n", j->token);
    push_later_start(l, port, delay_ms, "PATCH", path, headers, body);
}
