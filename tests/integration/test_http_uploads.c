/*
 * The upload API over real HTTP against a real statusd with the demo
 * upload handler, on the memory store and on Redis: POST /uploads, GET
 * /upload-status (ETag/304), POST /uploads/retry, lifetimes, and twenty
 * fields completing at once while clients poll. Refused requests, tokens
 * and the submit limit are in test_http_uploads_input.c, exec handlers in
 * test_http_uploads_exec.c. Nothing here depends on timing: every wait
 * polls with a long deadline.
 */
#include <pthread.h>
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

#define POLLERS 4
/* A field, for runs whose fields do not matter. */
#define F "{\"field\":\"a\",\"source\":\"s\"}"

static const char *const BUSY[] = {"--set", "workers=8", NULL};
static const char *const SHORT_TTL[] = {"--set", "job_ttl=2", NULL};

static int memory_setup(void **state) { return up_setup(state, false, NULL, NULL); }
static int redis_setup(void **state) { return up_setup(state, true, NULL, NULL); }
static int busy_memory_setup(void **state) { return up_setup(state, false, NULL, BUSY); }
static int busy_redis_setup(void **state) { return up_setup(state, true, NULL, BUSY); }
static int short_memory_setup(void **state) { return up_setup(state, false, NULL, SHORT_TTL); }
static int short_redis_setup(void **state) { return up_setup(state, true, NULL, SHORT_TTL); }

static unsigned port_of(void **state) { return test_fixture_port(state); }

/* Asserts that a completed field is exactly {field, status, attempts,
 * media_id, url} as the demo handler makes it; returns the media id. */
static double assert_demo_upload(const cJSON *f, const char *name)
{
    assert_non_null(f);
    assert_int_equal(cJSON_GetArraySize(f), 5);
    assert_string_equal(test_jstr(f, "field"), name);
    assert_string_equal(test_jstr(f, "status"), "completed");
    assert_int_equal(test_jint(f, "attempts"), 1);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "media_id");
    assert_true(cJSON_IsNumber(id));
    assert_true(id->valuedouble >= 1);
    char url[96];
    snprintf(url, sizeof url, "https://media.example/%.0f", id->valuedouble);
    assert_string_equal(test_jstr(f, "url"), url);
    return id->valuedouble;
}

/* ---- creating and reading a run ---- */

static void test_post_answers_202_with_every_field_pending_and_a_location(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    up_call(port, "POST", "/uploads", NULL,
            "{\"post_id\":\"post-1\",\"run_id\":\"run.1\",\"fields\":["
            "{\"field\":\"foto\",\"source\":\"https://cdn.example/a.jpg\"},"
            "{\"field\":\"pdf\",\"source\":\"s3://bucket/c.pdf\"}]}",
            &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Location"),
                        "/upload-status?post_id=post-1&run_id=run.1");
    assert_string_equal(http_header(&r, "Retry-After"), "1");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    assert_string_equal(r.body,
                        "{\"post_id\":\"post-1\",\"run_id\":\"run.1\","
                        "\"status\":\"processing_in_background\",\"fields\":["
                        "{\"field\":\"foto\",\"status\":\"pending\"},"
                        "{\"field\":\"pdf\",\"status\":\"pending\"}]}");
    http_resp_free(&r);
}

static void test_location_percent_encodes_plus_colon_and_at(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    up_call(port, "POST", "/uploads", NULL,
            "{\"post_id\":\"+59112345678\",\"run_id\":\"a:b@c\",\"fields\":["
            "{\"field\":\"foto\",\"source\":\"x\"}]}",
            &r);
    assert_int_equal(r.status, 202);
    const char *loc = http_header(&r, "Location");
    assert_string_equal(loc, "/upload-status?post_id=%2B59112345678&run_id=a%3Ab%40c");
    http_resp g;
    up_call(port, "GET", loc, NULL, NULL, &g);
    assert_int_equal(g.status, 200);
    cJSON *v = test_body_json(&g);
    assert_string_equal(test_jstr(v, "post_id"), "+59112345678");
    assert_string_equal(test_jstr(v, "run_id"), "a:b@c");
    cJSON_Delete(v);
    http_resp_free(&g);
    http_resp_free(&r);
}

static void test_demo_run_of_three_fields_completes_with_a_media_id_and_url_each(void **state)
{
    unsigned port = port_of(state);
    char *body = up_body("p3", "r3", "f", 3);
    cJSON_Delete(up_create(port, body));
    free(body);
    cJSON *v = up_wait(port, "p3", "r3", "completed");
    up_assert_view(v, "p3", "r3", "completed", 3, 0, 0);
    double ids[3];
    const cJSON *uploaded = cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields");
    for (int i = 0; i < 3; i++) {
        char name[24];
        snprintf(name, sizeof name, "f%02d", i);
        ids[i] = assert_demo_upload(cJSON_GetArrayItem(uploaded, i), name);
    }
    assert_true(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    cJSON_Delete(v);

    /* a finished run: no Retry-After; its tag answers 304, with no body */
    http_resp g;
    cJSON_Delete(up_get(port, "p3", "r3", &g));
    assert_null(http_header(&g, "Retry-After"));
    char etag[32], hdr[64], path[128];
    snprintf(etag, sizeof etag, "%s", http_header(&g, "ETag"));
    http_resp_free(&g);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    up_path(path, sizeof path, "/upload-status", "p3", "r3");
    http_resp r;
    up_call(port, "GET", path, hdr, NULL, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(http_header(&r, "ETag"), etag);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    http_resp_free(&r);
    /* another tag: the whole view */
    up_call(port, "GET", path, "If-None-Match: W/\"0000000000000000\"\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "ETag"), etag);
    http_resp_free(&r);
}

static void test_demo_source_starting_with_fail_fails_only_that_field(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"pf\",\"run_id\":\"rf\",\"fields\":["
                                 "{\"field\":\"ok\",\"source\":\"https://cdn.example/1\"},"
                                 "{\"field\":\"broken\",\"source\":\"fail:no such file\"}]}"));
    cJSON *v = up_wait(port, "pf", "rf", "failed");
    up_assert_view(v, "pf", "rf", "failed", 1, 0, 1);
    assert_demo_upload(up_field(v, "uploaded_fields", "ok"), "ok");
    const cJSON *f = up_field(v, "failed_fields", "broken");
    assert_int_equal(cJSON_GetArraySize(f), 4);
    assert_int_equal(test_jint(f, "attempts"), 1);
    up_assert_error(f, "demo_failure",
                    "the demo handler failed the upload because its source starts with "
                    "\"fail:\"");
    cJSON_Delete(v);
}

/* ---- many fields at once ---- */

typedef struct poller {
    unsigned port;
    int reads;        /* 200 answers read */
    int errors;       /* answers other than 200 */
} poller;

/* Reads the run until it is no longer processing (or 20 s pass). */
static void *poller_main(void *arg)
{
    poller *p = arg;
    for (int i = 0; i < 1000; i++) {
        http_resp r;
        if (http_do(p->port, "GET", "/upload-status?post_id=many&run_id=at-once", NULL, NULL,
                    &r) != 0 || r.status != 200) {
            p->errors++;
            http_resp_free(&r);
            continue;
        }
        p->reads++;
        bool done = r.body != NULL && strstr(r.body, "\"status\":\"processing\"") == NULL;
        http_resp_free(&r);
        if (done)
            break;
        test_sleep_ms(20);
    }
    return NULL;
}

/* Twenty fields run on eight workers while four clients poll, so
 * outcomes are copied into the run record by racing readers, in any
 * order: each of the twenty must keep its own result. */
static void test_twenty_fields_processed_at_once_keep_all_twenty_results(void **state)
{
    unsigned port = port_of(state);
    char *body = up_body("many", "at-once", "field-", 20);
    cJSON *created = up_create(port, body);
    free(body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(created, "fields")),
                     20);
    cJSON_Delete(created);

    poller p[POLLERS];
    pthread_t t[POLLERS];
    for (int i = 0; i < POLLERS; i++) {
        p[i] = (poller){port, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, poller_main, &p[i]), 0);
    }
    for (int i = 0; i < POLLERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < POLLERS; i++) {
        assert_int_equal(p[i].errors, 0);
        assert_true(p[i].reads > 0);
    }

    cJSON *v = up_wait(port, "many", "at-once", "completed");
    up_assert_view(v, "many", "at-once", "completed", 20, 0, 0);
    const cJSON *uploaded = cJSON_GetObjectItemCaseSensitive(v, "uploaded_fields");
    double ids[20];
    for (int i = 0; i < 20; i++) {
        char name[24];
        snprintf(name, sizeof name, "field-%02d", i);
        ids[i] = assert_demo_upload(cJSON_GetArrayItem(uploaded, i), name);
        for (int j = 0; j < i; j++)
            if (ids[i] == ids[j])
                fail_msg("fields %d and %d share media_id %.0f", j, i, ids[i]);
    }
    cJSON_Delete(v);
}

/* The largest run: 100 fields, a name of 128 bytes and a source of 4096. */
static void test_limits_are_inclusive_and_a_hundred_fields_complete(void **state)
{
    unsigned port = port_of(state);
    char *body = up_body("big", "run", "f", 100);
    char name[129], source[4097];
    memset(name, 'n', 128);
    name[128] = '\0';
    memset(source, 's', 4096);
    source[4096] = '\0';
    /* the last field gets the longest name and source */
    char *last = strstr(body, "{\"field\":\"f99\"");
    assert_non_null(last);
    size_t cap = strlen(body) + 4400;
    char *full = malloc(cap);
    assert_non_null(full);
    snprintf(full, cap, "%.*s{\"field\":\"%s\",\"source\":\"%s\"}]}", (int)(last - body), body,
             name, source);
    free(body);
    cJSON *created = up_create(port, full);
    free(full);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(created, "fields")),
                     100);
    cJSON_Delete(created);
    cJSON *v = up_wait(port, "big", "run", "completed");
    up_assert_view(v, "big", "run", "completed", 100, 0, 0);
    assert_demo_upload(up_field(v, "uploaded_fields", name), name);
    cJSON_Delete(v);
}

/* ---- refused requests ---- */

static void test_posting_an_existing_run_again_is_409_already_exists(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"p\",\"run_id\":\"once\",\"fields\":["
                                 "{\"field\":\"a\",\"source\":\"x\"}]}"));
    cJSON_Delete(up_wait(port, "p", "once", "completed"));
    http_resp r;
    up_call(port, "POST", "/uploads", NULL,
            "{\"post_id\":\"p\",\"run_id\":\"once\",\"fields\":["
            "{\"field\":\"b\",\"source\":\"y\"}]}",
            &r);
    test_assert_problem(&r, 409, "already-exists", "a run is created once");
    http_resp_free(&r);
    cJSON *v = up_get(port, "p", "once", NULL);
    up_assert_view(v, "p", "once", "completed", 1, 0, 0);
    assert_non_null(up_field(v, "uploaded_fields", "a"));
    cJSON_Delete(v);
}

static void test_retry_of_a_run_without_failed_fields_is_409(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"p\",\"run_id\":\"fine\",\"fields\":[" F "]}"));
    cJSON_Delete(up_wait(port, "p", "fine", "completed"));
    http_resp r;
    up_call(port, "POST", "/uploads/retry?post_id=p&run_id=fine", NULL, NULL, &r);
    test_assert_problem(&r, 409, "conflict",
                        "the upload run with post_id p and run_id fine has no failed field "
                        "to retry (its status is completed)");
    http_resp_free(&r);
}

static void test_retry_requeues_a_failed_field_and_counts_its_attempts(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"p\",\"run_id\":\"again\",\"fields\":["
                                 "{\"field\":\"ok\",\"source\":\"x\"},"
                                 "{\"field\":\"bad\",\"source\":\"fail:always\"}]}"));
    cJSON_Delete(up_wait(port, "p", "again", "failed"));
    for (int round = 2; round <= 3; round++) {
        http_resp r;
        up_call(port, "POST", "/uploads/retry?post_id=p&run_id=again", NULL, NULL, &r);
        assert_int_equal(r.status, 202);
        assert_string_equal(http_header(&r, "Location"),
                            "/upload-status?post_id=p&run_id=again");
        assert_true(test_is_weak_etag(http_header(&r, "ETag")));
        cJSON *v = test_body_json(&r);
        /* the new job may have failed again before this answer was built */
        int pending = up_field(v, "pending_fields", "bad") != NULL;
        int failed = up_field(v, "failed_fields", "bad") != NULL;
        assert_int_equal(pending + failed, 1);
        up_assert_view(v, "p", "again", failed ? "failed" : "processing", 1, pending, failed);
        assert_demo_upload(up_field(v, "uploaded_fields", "ok"), "ok");
        cJSON_Delete(v);
        http_resp_free(&r);
        v = up_wait(port, "p", "again", "failed");
        const cJSON *f = up_field(v, "failed_fields", "bad");
        assert_int_equal(test_jint(f, "attempts"), round);
        up_assert_error(f, "demo_failure", NULL);
        assert_int_equal(test_jint(up_field(v, "uploaded_fields", "ok"), "attempts"), 1);
        cJSON_Delete(v);
    }
}

/* ---- lifetimes ---- */

/* job_ttl = 2: reads keep a run alive; unread, it is gone once its two
 * seconds have passed (waited for generously). */
static void test_run_unread_for_job_ttl_expires(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"p\",\"run_id\":\"short\",\"fields\":[" F "]}"));
    cJSON_Delete(up_wait(port, "p", "short", "completed"));
    for (int i = 0; i < 4; i++) {
        test_sleep_ms(1000);
        cJSON_Delete(up_get(port, "p", "short", NULL));
    }
    test_sleep_ms(3500);
    http_resp r;
    up_call(port, "GET", "/upload-status?post_id=p&run_id=short", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
}

static long long redis_int(redisContext *c, const char *cmd, const char *key, const char *arg)
{
    const char *argv[] = {cmd, key, arg};
    size_t lens[] = {strlen(cmd), strlen(key), arg != NULL ? strlen(arg) : 0};
    redisReply *rep = redisCommandArgv(c, arg != NULL ? 3 : 2, argv, lens);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

static void test_redis_run_record_has_a_ttl_that_reads_renew(void **state)
{
    unsigned port = port_of(state);
    cJSON_Delete(up_create(port, "{\"post_id\":\"p\",\"run_id\":\"ttl\",\"fields\":[" F "]}"));
    cJSON_Delete(up_wait(port, "p", "ttl", "completed"));
    redisContext *c = test_redis_connect(up_redis());
    assert_non_null(c);
    const char *key = "statusd:{upload:p/ttl}";
    long long pttl = redis_int(c, "PTTL", key, NULL);
    assert_true(pttl > 3000 * 1000 && pttl <= 3600 * 1000);
    assert_int_equal(redis_int(c, "PEXPIRE", key, "5000"), 1);
    cJSON_Delete(up_get(port, "p", "ttl", NULL));
    pttl = redis_int(c, "PTTL", key, NULL);
    if (pttl <= 3000 * 1000 || pttl > 3600 * 1000)
        fail_msg("a status read left a PTTL of %lld ms", pttl);
    redisFree(c);
}

/* ---- the group ---- */

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, up_teardown)
#define ON_BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, up_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_post_answers_202_with_every_field_pending_and_a_location, memory_setup,
                redis_setup),
        ON(test_location_percent_encodes_plus_colon_and_at, memory_setup),
        ON_BOTH(test_demo_run_of_three_fields_completes_with_a_media_id_and_url_each,
                memory_setup, redis_setup),
        ON_BOTH(test_demo_source_starting_with_fail_fails_only_that_field, memory_setup,
                redis_setup),
        ON_BOTH(test_twenty_fields_processed_at_once_keep_all_twenty_results,
                busy_memory_setup, busy_redis_setup),
        ON_BOTH(test_limits_are_inclusive_and_a_hundred_fields_complete, busy_memory_setup,
                busy_redis_setup),
        ON_BOTH(test_posting_an_existing_run_again_is_409_already_exists, memory_setup,
                redis_setup),
        ON_BOTH(test_retry_of_a_run_without_failed_fields_is_409, memory_setup, redis_setup),
        ON_BOTH(test_retry_requeues_a_failed_field_and_counts_its_attempts, memory_setup,
                redis_setup),
        ON_BOTH(test_run_unread_for_job_ttl_expires, short_memory_setup, short_redis_setup),
        ON(test_redis_run_record_has_a_ttl_that_reads_renew, redis_setup),
    };
    return cmocka_run_group_tests_name("http_uploads", tests, up_group_setup,
                                       up_group_teardown);
}
