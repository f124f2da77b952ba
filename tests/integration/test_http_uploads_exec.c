/*
 * Uploads through exec handlers over real HTTP, on the memory store and
 * on Redis: what the program gets on stdin, a field that fails leaving
 * the run failed and a retry after the cause is fixed completing it, the
 * pending and uploading states while a worker is busy, a run posted on
 * one instance and read and retried on another, and a field whose job
 * vanished. Each test starts its own statusd whose upload handler is a
 * shell script in a temporary directory (max_attempts=1, so a failing
 * field fails at once). Nothing here depends on timing: every wait polls
 * with a long deadline, and a job that must be caught mid-run waits for a
 * file the test creates.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "test_http_uploads_common.h"

/* Fails the field named "bad" until $1/fixed exists; otherwise answers
 * its input, kind and members the view must not let through. */
static const char CMS_SCRIPT[] =
    "#!/bin/sh\n"
    "input=$(cat)\n"
    "case \"$input\" in\n"
    "  *'\"field\":\"bad\"'*)\n"
    "    if [ ! -e \"$1/fixed\" ]; then\n"
    "      echo 'connecting to the cms' >&2\n"
    "      echo 'cms refused bad' >&2\n"
    "      exit 1\n"
    "    fi ;;\n"
    "esac\n"
    "echo '{\"progress\":50,\"stage\":\"sending\"}'\n"
    "printf '{\"result\":{\"media_id\":7,\"url\":\"https://cms.example/7\",\"input\":%s,"
    "\"kind\":\"%s\",\"status\":\"bogus\",\"field\":\"bogus\",\"attempts\":99}}\\n' "
    "\"$input\" \"$STATUSD_JOB_KIND\"\n";

/* Waits for $1/go, then completes with a fixed result. */
static const char GATED_SCRIPT[] =
    "#!/bin/sh\n"
    "cat >/dev/null\n"
    "i=0\n"
    "while [ ! -e \"$1/go\" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n"
    "echo '{\"result\":{\"media_id\":1}}'\n";

static const char *const ONE_WORKER[] = {"--set", "workers=1", NULL};

static int cms_memory_setup(void **state) { return up_setup(state, false, CMS_SCRIPT, NULL); }
static int cms_redis_setup(void **state) { return up_setup(state, true, CMS_SCRIPT, NULL); }
static int gated_memory_setup(void **state)
{
    return up_setup(state, false, GATED_SCRIPT, ONE_WORKER);
}
static int gated_redis_setup(void **state)
{
    return up_setup(state, true, GATED_SCRIPT, ONE_WORKER);
}

static void create_marker(const up_fixture *f, const char *name)
{
    char *path = test_write_file(f->dir, name, "", 0644);
    assert_non_null(path);
    free(path);
}

/* Asserts that f is a field the CMS script completed. */
static void assert_cms_upload(const cJSON *f, const char *name, int attempts)
{
    assert_non_null(f);
    /* field, status, attempts, then media_id, url, input, kind: the
     * result's status, field and attempts are the field's own */
    assert_int_equal(cJSON_GetArraySize(f), 7);
    assert_string_equal(test_jstr(f, "field"), name);
    assert_string_equal(test_jstr(f, "status"), "completed");
    assert_int_equal(test_jint(f, "attempts"), attempts);
    assert_int_equal(test_jint(f, "media_id"), 7);
    assert_string_equal(test_jstr(f, "url"), "https://cms.example/7");
    assert_string_equal(test_jstr(f, "kind"), "upload");
}

/* ---- tests ---- */

static void test_exec_handler_gets_post_run_field_and_source_on_stdin(void **state)
{
    up_fixture *f = *state;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"post-9\",\"run_id\":\"r:1\",\"fields\":["
                                    "{\"field\":\"hero image\",\"source\":\"https://a/\\\"b\\\".jpg\"}]}"));
    cJSON *v = up_wait(f->fx.port, "post-9", "r:1", "completed");
    up_assert_view(v, "post-9", "r:1", "completed", 1, 0, 0);
    const cJSON *u = up_field(v, "uploaded_fields", "hero image");
    assert_cms_upload(u, "hero image", 1);
    char *input = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(u, "input"));
    assert_non_null(input);
    assert_string_equal(input, "{\"post_id\":\"post-9\",\"run_id\":\"r:1\",\"field\":\"hero "
                               "image\",\"source\":\"https://a/\\\"b\\\".jpg\"}");
    free(input);
    cJSON_Delete(v);
}

static void test_failing_field_fails_the_run_and_a_retry_after_the_fix_completes_it(void **state)
{
    up_fixture *f = *state;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"p\",\"run_id\":\"r\",\"fields\":["
                                    "{\"field\":\"foto\",\"source\":\"a\"},"
                                    "{\"field\":\"bad\",\"source\":\"b\"},"
                                    "{\"field\":\"pdf\",\"source\":\"c\"}]}"));
    cJSON *v = up_wait(f->fx.port, "p", "r", "failed");
    up_assert_view(v, "p", "r", "failed", 2, 0, 1);
    const cJSON *uploaded = cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields");
    assert_cms_upload(cJSON_GetArrayItem(uploaded, 0), "foto", 1);
    assert_cms_upload(cJSON_GetArrayItem(uploaded, 1), "pdf", 1);
    const cJSON *bad = up_field(v, "failed_fields", "bad");
    assert_int_equal(cJSON_GetArraySize(bad), 4);
    assert_int_equal(test_jint(bad, "attempts"), 1);
    up_assert_error(bad, "handler_failed", "connecting to the cms\ncms refused bad");
    cJSON_Delete(v);

    /* a retry before the cause is fixed fails again, one attempt more */
    http_resp r;
    up_call(f->fx.port, "POST", "/uploads/retry?post_id=p&run_id=r", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    v = up_wait(f->fx.port, "p", "r", "failed");
    assert_int_equal(test_jint(up_field(v, "failed_fields", "bad"), "attempts"), 2);
    cJSON_Delete(v);

    create_marker(f, "fixed");
    up_call(f->fx.port, "POST", "/uploads/retry?post_id=p&run_id=r", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    cJSON *answer = test_body_json(&r);
    assert_null(up_field(answer, "failed_fields", "bad"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(answer,
                                                                         "failed_fields")), 0);
    cJSON_Delete(answer);
    http_resp_free(&r);
    v = up_wait(f->fx.port, "p", "r", "completed");
    up_assert_view(v, "p", "r", "completed", 3, 0, 0);
    uploaded = cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields");
    assert_cms_upload(cJSON_GetArrayItem(uploaded, 0), "foto", 1);
    assert_cms_upload(cJSON_GetArrayItem(uploaded, 1), "bad", 3);
    assert_cms_upload(cJSON_GetArrayItem(uploaded, 2), "pdf", 1);
    cJSON_Delete(v);

    up_call(f->fx.port, "POST", "/uploads/retry?post_id=p&run_id=r", NULL, NULL, &r);
    test_assert_problem(&r, 409, "conflict", "has no failed field to retry");
    http_resp_free(&r);
}

/* True once one field is uploading and the other pending. */
static bool one_uploading(const cJSON *v, void *arg)
{
    (void)arg;
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive(v, "pending_fields");
    if (cJSON_GetArraySize(pending) != 2)
        return false;
    int uploading = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, pending) uploading += strcmp(test_jstr(f, "status"), "uploading") == 0;
    return uploading == 1;
}

static void test_fields_are_pending_then_uploading_while_the_one_worker_is_busy(void **state)
{
    up_fixture *f = *state;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"p\",\"run_id\":\"busy\",\"fields\":["
                                    "{\"field\":\"a\",\"source\":\"x\"},"
                                    "{\"field\":\"b\",\"source\":\"y\"}]}"));
    cJSON_Delete(up_wait_until(f->fx.port, "p", "busy", one_uploading, NULL));
    /* the worker waits for the test: this view is of a run mid-way */
    http_resp g;
    cJSON *v = up_get(f->fx.port, "p", "busy", &g);
    up_assert_view(v, "p", "busy", "processing", 0, 2, 0);
    assert_string_equal(http_header(&g, "Retry-After"), "1");
    char busy_tag[32];
    snprintf(busy_tag, sizeof busy_tag, "%s", http_header(&g, "ETag"));
    http_resp_free(&g);
    const cJSON *field;
    cJSON_ArrayForEach(field, cJSON_GetObjectItemCaseSensitive(v, "pending_fields")) {
        bool up = strcmp(test_jstr(field, "status"), "uploading") == 0;
        assert_int_equal(cJSON_GetArraySize(field), 3);
        assert_int_equal(test_jint(field, "attempts"), up ? 1 : 0);
    }
    cJSON_Delete(v);
    /* nothing changed: the same tag answers 304 */
    char hdr[64];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", busy_tag);
    http_resp r;
    up_call(f->fx.port, "GET", "/upload-status?post_id=p&run_id=busy", hdr, NULL, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Retry-After"), "1");
    http_resp_free(&r);

    create_marker(f, "go");
    v = up_wait(f->fx.port, "p", "busy", "completed");
    up_assert_view(v, "p", "busy", "completed", 2, 0, 0);
    cJSON_Delete(v);
    v = up_get(f->fx.port, "p", "busy", &g);
    assert_null(http_header(&g, "Retry-After"));
    assert_string_not_equal(http_header(&g, "ETag"), busy_tag);
    cJSON_Delete(v);
    http_resp_free(&g);
    up_call(f->fx.port, "GET", "/upload-status?post_id=p&run_id=busy", hdr, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

static void test_run_posted_on_one_instance_is_read_and_retried_on_another(void **state)
{
    up_fixture *f = *state;
    test_statusd *peer = up_start_peer(f, NULL);
    assert_non_null(peer);
    unsigned other = peer->proc.port;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"shared\",\"run_id\":\"r\",\"fields\":["
                                    "{\"field\":\"ok\",\"source\":\"a\"},"
                                    "{\"field\":\"bad\",\"source\":\"b\"}]}"));
    cJSON *v = up_wait(other, "shared", "r", "failed");
    up_assert_view(v, "shared", "r", "failed", 1, 0, 1);
    assert_cms_upload(up_field(v, "uploaded_fields", "ok"), "ok", 1);
    up_assert_error(up_field(v, "failed_fields", "bad"), "handler_failed", NULL);
    cJSON_Delete(v);

    create_marker(f, "fixed");
    http_resp r;
    up_call(other, "POST", "/uploads/retry?post_id=shared&run_id=r", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    v = up_wait(f->fx.port, "shared", "r", "completed");
    assert_cms_upload(up_field(v, "uploaded_fields", "bad"), "bad", 2);
    cJSON *w = up_wait(other, "shared", "r", "completed");
    cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields");
    cJSON *b = cJSON_GetObjectItemCaseSensitive(w, "uploaded_fields");
    assert_true(cJSON_Compare(a, b, true));
    cJSON_Delete(w);
    cJSON_Delete(v);

    /* the run exists for both: creating it again on either is refused */
    up_call(other, "POST", "/uploads", NULL,
            "{\"post_id\":\"shared\",\"run_id\":\"r\",\"fields\":[{\"field\":\"x\","
            "\"source\":\"y\"}]}",
            &r);
    test_assert_problem(&r, 409, "already-exists", NULL);
    http_resp_free(&r);
    assert_int_equal(test_statusd_stop(peer), 0);
}

/* The keys of job records in the group's Redis (SCAN, as statusd
 * lists keys), at most max of them. */
static size_t job_keys(redisContext *c, char keys[][96], size_t max)
{
    size_t n = 0;
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", "statusd:{job:*}", "COUNT", "1000"};
        size_t lens[6];
        for (size_t i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        redisReply *rep = redisCommandArgv(c, 6, argv, lens);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        assert_int_equal(rep->elements, 2);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        const redisReply *found = rep->element[1];
        for (size_t i = 0; i < found->elements && n < max; i++) {
            const char *k = found->element[i]->str;
            /* statusd:{job:<36-character id>}, not the store's indexes */
            if (strlen(k) == strlen("statusd:{job:}") + 36)
                snprintf(keys[n++], sizeof keys[0], "%s", k);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* True once field a is uploading. */
static bool a_uploading(const cJSON *v, void *arg)
{
    (void)arg;
    const cJSON *f = up_field(v, "pending_fields", "a");
    return f != NULL && strcmp(test_jstr(f, "status"), "uploading") == 0;
}

static void test_field_whose_job_vanished_fails_with_expired_and_a_retry_requeues_it(void **state)
{
    up_fixture *f = *state;
    cJSON_Delete(up_create(f->fx.port, "{\"post_id\":\"p\",\"run_id\":\"gone\",\"fields\":["
                                    "{\"field\":\"a\",\"source\":\"x\"}]}"));
    cJSON_Delete(up_wait_until(f->fx.port, "p", "gone", a_uploading, NULL));
    redisContext *c = test_redis_connect(up_redis());
    assert_non_null(c);
    char keys[4][96];
    assert_int_equal(job_keys(c, keys, 4), 1);
    const char *argv[] = {"DEL", keys[0]};
    size_t lens[] = {3, strlen(keys[0])};
    redisReply *rep = redisCommandArgv(c, 2, argv, lens);
    assert_non_null(rep);
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    redisFree(c);

    cJSON *v = up_get(f->fx.port, "p", "gone", NULL);
    up_assert_view(v, "p", "gone", "failed", 0, 0, 1);
    const cJSON *field = up_field(v, "failed_fields", "a");
    up_assert_error(field, "expired",
                    "the field's upload job expired before its outcome was read");
    assert_int_equal(test_jint(field, "attempts"), 0);
    cJSON_Delete(v);

    create_marker(f, "go");
    http_resp r;
    up_call(f->fx.port, "POST", "/uploads/retry?post_id=p&run_id=gone", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    http_resp_free(&r);
    v = up_wait(f->fx.port, "p", "gone", "completed");
    const cJSON *done = up_field(v, "uploaded_fields", "a");
    assert_int_equal(test_jint(done, "attempts"), 1);
    assert_int_equal(test_jint(done, "media_id"), 1);
    cJSON_Delete(v);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_exec_handler_gets_post_run_field_and_source_on_stdin, cms_memory_setup,
            up_teardown),
        cmocka_unit_test_setup_teardown(
            test_failing_field_fails_the_run_and_a_retry_after_the_fix_completes_it,
            cms_memory_setup, up_teardown),
        cmocka_unit_test_setup_teardown(
            test_failing_field_fails_the_run_and_a_retry_after_the_fix_completes_it,
            cms_redis_setup, up_teardown),
        cmocka_unit_test_setup_teardown(
            test_fields_are_pending_then_uploading_while_the_one_worker_is_busy,
            gated_memory_setup, up_teardown),
        cmocka_unit_test_setup_teardown(
            test_fields_are_pending_then_uploading_while_the_one_worker_is_busy,
            gated_redis_setup, up_teardown),
        cmocka_unit_test_setup_teardown(
            test_run_posted_on_one_instance_is_read_and_retried_on_another, cms_redis_setup,
            up_teardown),
        cmocka_unit_test_setup_teardown(
            test_field_whose_job_vanished_fails_with_expired_and_a_retry_requeues_it,
            gated_redis_setup, up_teardown),
    };
    return cmocka_run_group_tests_name("http_uploads_exec", tests, up_group_setup,
                                       up_group_teardown);
}
