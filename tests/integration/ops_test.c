/* Shared pieces of the operations tests (see ops_test.h). */
#include "ops_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

test_statusd *ops_start_on_redis(const char *const *args)
{
    return test_statusd_start_store(NULL, NULL, true, args);
}

cJSON *ops_json(http_resp *r, int status)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body != NULL ? r->body : "");
    assert_string_equal(http_header(r, "Content-Type"), "application/json");
    cJSON *v = test_body_json(r);
    http_resp_free(r);
    return v;
}

cJSON *ops_stats(unsigned port)
{
    http_resp r;
    test_call(port, "GET", "/stats", NULL, NULL, &r);
    return ops_json(&r, 200);
}

int ops_stat(const cJSON *stats, const char *group, const char *key)
{
    const cJSON *obj = group != NULL ? cJSON_GetObjectItemCaseSensitive(stats, group) : stats;
    if (!cJSON_IsObject(obj))
        fail_msg("stats has no object '%s'", group != NULL ? group : "(top level)");
    return test_jint(obj, key);
}

void ops_assert_jobs(const cJSON *stats, int queued, int processing, int completed,
                     int failed, int canceled)
{
    const int want[] = {queued, processing, completed, failed, canceled};
    static const char *const names[] = {"queued", "processing", "completed", "failed",
                                        "canceled"};
    for (size_t i = 0; i < 5; i++) {
        int have = ops_stat(stats, "jobs", names[i]);
        if (have != want[i])
            fail_msg("jobs.%s is %d, expected %d", names[i], have, want[i]);
    }
}

void ops_wait_stat(unsigned port, const char *group, const char *key, int want)
{
    int have = -1;
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        cJSON *s = ops_stats(port);
        have = ops_stat(s, group, key);
        cJSON_Delete(s);
        if (have == want)
            return;
        test_sleep_ms(20);
    }
    fail_msg("%s.%s stayed %d, expected %d", group != NULL ? group : "", key, have, want);
}

char *ops_create_session(unsigned port)
{
    http_resp r;
    test_call(port, "POST", "/sessions", NULL, "{\"n\":1}", &r);
    cJSON *v = ops_json(&r, 201);
    const char *id = test_jstr(v, "id");
    assert_non_null(id);
    char *copy = strdup(id);
    assert_non_null(copy);
    cJSON_Delete(v);
    return copy;
}

void ops_chat(unsigned port, const char *user)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"user_id\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                     user);
    assert_true(n > 0 && (size_t)n < sizeof body);
    http_resp r;
    test_call(port, "POST", "/chat", NULL, body, &r);
    cJSON_Delete(ops_json(&r, 200));
}

char *ops_job(unsigned port, const char *query, bool fail, const char *want)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"query\":\"%s\"%s}", query,
                     fail ? ",\"params\":{\"fail\":true}" : "");
    assert_true(n > 0 && (size_t)n < sizeof body);
    char *id = test_submit_job(port, body);
    cJSON_Delete(test_wait_job_status(port, id, want, 0, TEST_DEADLINE_MS));
    return id;
}

redisReply *ops_redis_cmd(redisContext *c, const char *const *argv)
{
    size_t lens[16];
    int argc = 0;
    while (argv[argc] != NULL) {
        assert_true(argc < 16);
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    redisReply *r = redisCommandArgv(c, argc, (const char **)argv, lens);
    if (r == NULL)
        fail_msg("redis %s: %s", argv[0], c->errstr);
    return r;
}

long long ops_redis_int(redisContext *c, const char *const *argv)
{
    redisReply *r = ops_redis_cmd(c, argv);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("redis %s %s: not an integer reply", argv[0], argv[1] != NULL ? argv[1] : "");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}
