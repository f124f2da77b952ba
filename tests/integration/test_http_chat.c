/*
 * Conversations over real HTTP, on both stores: POST /chat appends with
 * server timestamps, GET /chat/history/<user_id> reads and renews,
 * DELETE clears; concurrent appends, the cap on kept messages, the
 * conversation id's life, per-user rate limits, and on Redis the keys
 * and their TTLs. Request validation is in test_http_chat_input.c.
 *
 * One redis-server serves the whole group; every Redis test starts its
 * own statusd on it, and every test uses its own user ids, so tests do
 * not see each other's conversations or rate-limit state. Nothing here
 * depends on timing beyond generous bounds: the renewal test reads far
 * more often than the TTL, and expiry is checked well after it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define CONCURRENT_CLIENTS 40

static const char *const LIMITED[] = {"--set", "ratelimit_chat=20", NULL};
static const char *const SHORT_TTL[] = {"--set", "conversation_ttl=2", NULL};

static int memory_setup(void **state) { return test_fixture_setup(state, false, NULL, NULL); }
static int redis_setup(void **state) { return test_fixture_setup(state, true, NULL, NULL); }
static int memory_limited_setup(void **state) { return test_fixture_setup(state, false, NULL, LIMITED); }
static int redis_limited_setup(void **state) { return test_fixture_setup(state, true, NULL, LIMITED); }
static int memory_short_ttl_setup(void **state) { return test_fixture_setup(state, false, NULL, SHORT_TTL); }
static int redis_short_ttl_setup(void **state) { return test_fixture_setup(state, true, NULL, SHORT_TTL); }

/* ---- helpers ---- */

/* A user id unique to this test and store, so Redis tests on the shared
 * server never meet: "<base>.<m|r>". */
static void user_for(const test_fixture *fx, const char *base, char *out, size_t len)
{
    snprintf(out, len, "%s.%c", base, fx->redis ? 'r' : 'm');
}

/* POSTs one message of role user; asserts 200 and returns the view. */
static cJSON *post_one(unsigned port, const char *user, const char *content, http_resp *keep)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
             user, content);
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/chat", NULL, body, &r), 0);
    if (r.status != 200)
        fail_msg("POST /chat answered %d: %s", r.status, r.body);
    cJSON *v = test_body_json(&r);
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    return v;
}

static void history_path(char *path, size_t len, const char *user)
{
    snprintf(path, len, "/chat/history/%s", user);
}

/* GET /chat/history/<user>; asserts 200 and returns the view. */
static cJSON *get_history(unsigned port, const char *user)
{
    char path[192];
    history_path(path, sizeof path, user);
    http_resp r;
    assert_int_equal(http_do(port, "GET", path, NULL, NULL, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s answered %d: %s", path, r.status, r.body);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    cJSON *v = test_body_json(&r);
    http_resp_free(&r);
    return v;
}

static int status_of(unsigned port, const char *method, const char *user)
{
    char path[192];
    history_path(path, sizeof path, user);
    http_resp r;
    assert_int_equal(http_do(port, method, path, NULL, NULL, &r), 0);
    int status = r.status;
    if (status == 404)
        test_assert_problem(&r, 404, "not-found", user);
    if (status == 204)
        assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
    return status;
}

/* Asserts the shape of a conversation view with n messages for user and
 * returns its messages array. */
static const cJSON *assert_view(const cJSON *v, const char *user, int n)
{
    assert_int_equal(cJSON_GetArraySize(v), 5);
    assert_true(test_is_uuid_v4(test_jstr(v, "conversation_id")));
    assert_string_equal(test_jstr(v, "user_id"), user);
    assert_string_equal(test_jstr(v, "status"), "active");
    assert_true(test_is_rfc3339_ms(test_jstr(v, "expires_at")));
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    assert_true(cJSON_IsArray(msgs));
    assert_int_equal(cJSON_GetArraySize(msgs), n);
    for (const cJSON *m = msgs->child; m != NULL; m = m->next) {
        assert_int_equal(cJSON_GetArraySize(m), 3);
        assert_non_null(test_jstr(m, "role"));
        assert_non_null(test_jstr(m, "content"));
        assert_true(test_is_rfc3339_ms(test_jstr(m, "timestamp")));
    }
    return msgs;
}

static const char *msg_field(const cJSON *msgs, int i, const char *key)
{
    return test_jstr(cJSON_GetArrayItem(msgs, i), key);
}

/* ---- appending and reading ---- */

static void test_post_appends_with_server_timestamps_and_history_keeps_order(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "+59112345678", user, sizeof user);
    char body[512];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"messages\":["
             "{\"role\":\"system\",\"content\":\"Be brief.\"},"
             "{\"role\":\"user\",\"content\":\"l\\u00ednea\\n\\\"dos\\\"\"}]}",
             user);
    http_resp r;
    assert_int_equal(http_do(fx->port, "POST", "/chat", NULL, body, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    assert_null(http_header(&r, "RateLimit")); /* limits are off here */
    assert_null(http_header(&r, "RateLimit-Policy"));
    cJSON *first = test_body_json(&r);
    http_resp_free(&r);
    const cJSON *m1 = assert_view(first, user, 2);
    assert_string_equal(msg_field(m1, 0, "role"), "system");
    assert_string_equal(msg_field(m1, 0, "content"), "Be brief.");
    assert_string_equal(msg_field(m1, 1, "role"), "user");
    assert_string_equal(msg_field(m1, 1, "content"), "l\xc3\xadnea\n\"dos\"");
    /* one request, one server time */
    assert_string_equal(msg_field(m1, 0, "timestamp"), msg_field(m1, 1, "timestamp"));

    test_sleep_ms(5);
    snprintf(body, sizeof body,
             "{\"messages\":[{\"content\":\"Hola.\",\"role\":\"assistant\"}],"
             "\"user_id\":\"%s\"}", user);
    assert_int_equal(http_do(fx->port, "POST", "/chat", NULL, body, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *second = test_body_json(&r);
    http_resp_free(&r);
    assert_view(second, user, 3);

    cJSON *h = get_history(fx->port, user);
    const cJSON *msgs = assert_view(h, user, 3);
    static const char *const roles[] = {"system", "user", "assistant"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(msg_field(msgs, i, "role"), roles[i]);
    assert_string_equal(msg_field(msgs, 2, "content"), "Hola.");
    assert_string_equal(msg_field(msgs, 0, "timestamp"), msg_field(m1, 0, "timestamp"));
    assert_true(strcmp(msg_field(msgs, 2, "timestamp"), msg_field(msgs, 1, "timestamp")) > 0);
    assert_string_equal(test_jstr(h, "conversation_id"), test_jstr(first, "conversation_id"));
    assert_string_equal(test_jstr(h, "conversation_id"), test_jstr(second, "conversation_id"));
    cJSON_Delete(h);
    cJSON_Delete(second);
    cJSON_Delete(first);
}

typedef struct client_arg {
    unsigned port;
    const char *user;
    int index;
    pthread_barrier_t *start;
    int status;                              /* 0 on a transport error */
    char conversation_id[40];
} client_arg;

/* One client on its own connection; records what it got, asserts
 * nothing (cmocka's asserts belong to the test's thread). */
static void *client_post(void *p)
{
    client_arg *a = p;
    char body[256];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"c%d\"}]}",
             a->user, a->index);
    int fd = http_connect(a->port, 20000);
    pthread_barrier_wait(a->start);
    if (fd < 0)
        return NULL;
    http_resp r;
    if (http_request(fd, "POST", "/chat", "Content-Type: application/json\r\n", body,
                     strlen(body), &r) == 0) {
        a->status = r.status;
        cJSON *v = cJSON_Parse(r.body);
        const char *id = test_jstr(v, "conversation_id");
        snprintf(a->conversation_id, sizeof a->conversation_id, "%s", id != NULL ? id : "");
        cJSON_Delete(v);
        http_resp_free(&r);
    }
    close(fd);
    return NULL;
}

static void test_forty_concurrent_appends_all_survive_exactly_once(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "whatsapp:+5215512345678", user, sizeof user);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, CONCURRENT_CLIENTS), 0);
    client_arg args[CONCURRENT_CLIENTS];
    pthread_t threads[CONCURRENT_CLIENTS];
    for (int i = 0; i < CONCURRENT_CLIENTS; i++) {
        args[i] = (client_arg){fx->port, user, i, &start, 0, ""};
        assert_int_equal(pthread_create(&threads[i], NULL, client_post, &args[i]), 0);
    }
    for (int i = 0; i < CONCURRENT_CLIENTS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&start);

    cJSON *h = get_history(fx->port, user);
    const cJSON *msgs = assert_view(h, user, CONCURRENT_CLIENTS);
    int seen[CONCURRENT_CLIENTS] = {0};
    for (int i = 0; i < CONCURRENT_CLIENTS; i++) {
        const char *c = msg_field(msgs, i, "content");
        int64_t k = -1;
        assert_int_equal(c[0], 'c');
        assert_int_equal(sd_parse_i64(c + 1, 0, CONCURRENT_CLIENTS - 1, &k), SD_OK);
        seen[k]++;
    }
    /* every client was answered 200, under the one conversation id that
     * the racing first appends agreed on */
    for (int i = 0; i < CONCURRENT_CLIENTS; i++) {
        assert_int_equal(seen[i], 1);
        assert_int_equal(args[i].status, 200);
        assert_string_equal(args[i].conversation_id, test_jstr(h, "conversation_id"));
    }
    cJSON_Delete(h);
}

static void test_burst_past_the_cap_keeps_the_newest_fifty_in_order(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "burst@example.org", user, sizeof user);
    /* two posts of 30: m0..m29, then m30..m59 */
    for (int part = 0; part < 2; part++) {
        sd_buf b = SD_BUF_INIT;
        sd_buf_printf(&b, "{\"user_id\":\"%s\",\"messages\":[", user);
        for (int i = 0; i < 30; i++)
            sd_buf_printf(&b, "%s{\"role\":\"user\",\"content\":\"m%d\"}", i > 0 ? "," : "",
                          part * 30 + i);
        sd_buf_puts(&b, "]}");
        assert_true(sd_buf_ok(&b));
        http_resp r;
        assert_int_equal(http_do(fx->port, "POST", "/chat", NULL, b.data, &r), 0);
        assert_int_equal(r.status, 200);
        cJSON *v = test_body_json(&r);
        const cJSON *msgs = assert_view(v, user, part == 0 ? 30 : 50);
        assert_string_equal(msg_field(msgs, 0, "content"), part == 0 ? "m0" : "m10");
        cJSON_Delete(v);
        http_resp_free(&r);
        sd_buf_free(&b);
    }
    /* and single posts keep trimming from the oldest */
    cJSON_Delete(post_one(fx->port, user, "m60", NULL));
    cJSON *h = get_history(fx->port, user);
    const cJSON *msgs = assert_view(h, user, 50);
    for (int i = 0; i < 50; i++) {
        char want[16];
        snprintf(want, sizeof want, "m%d", i + 11);
        assert_string_equal(msg_field(msgs, i, "content"), want);
    }
    cJSON_Delete(h);
}

/* ---- the conversation's life ---- */

static void test_conversation_id_stays_across_appends_and_is_new_after_delete(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "life_1", user, sizeof user);
    cJSON *a = post_one(fx->port, user, "one", NULL);
    cJSON *b = post_one(fx->port, user, "two", NULL);
    cJSON *h = get_history(fx->port, user);
    char old_id[40];
    snprintf(old_id, sizeof old_id, "%s", test_jstr(a, "conversation_id"));
    assert_string_equal(test_jstr(b, "conversation_id"), old_id);
    assert_string_equal(test_jstr(h, "conversation_id"), old_id);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(h);

    assert_int_equal(status_of(fx->port, "DELETE", user), 204);
    assert_int_equal(status_of(fx->port, "GET", user), 404);
    assert_int_equal(status_of(fx->port, "DELETE", user), 404);

    cJSON *c = post_one(fx->port, user, "three", NULL);
    const cJSON *msgs = assert_view(c, user, 1);
    assert_string_equal(msg_field(msgs, 0, "content"), "three");
    assert_string_not_equal(test_jstr(c, "conversation_id"), old_id);
    cJSON *h2 = get_history(fx->port, user);
    assert_string_equal(test_jstr(h2, "conversation_id"), test_jstr(c, "conversation_id"));
    cJSON_Delete(h2);
    cJSON_Delete(c);
}

static void test_history_of_an_unknown_user_is_404(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "nobody", user, sizeof user);
    assert_int_equal(status_of(fx->port, "GET", user), 404);
    assert_int_equal(status_of(fx->port, "DELETE", user), 404);
    /* neither call created anything */
    assert_int_equal(status_of(fx->port, "GET", user), 404);
}

static void test_get_moves_expires_at_forward(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "renew_1", user, sizeof user);
    cJSON *p = post_one(fx->port, user, "hi", NULL);
    test_sleep_ms(50);
    cJSON *h = get_history(fx->port, user);
    assert_true(strcmp(test_jstr(h, "expires_at"), test_jstr(p, "expires_at")) > 0);
    /* a read adds nothing */
    assert_view(h, user, 1);
    cJSON_Delete(h);
    cJSON_Delete(p);
}

/* conversation_ttl = 2: reads every 250 ms keep it for three times its
 * TTL; left alone for 3.5 s it is gone. */
static void test_reads_keep_a_conversation_alive_past_its_ttl_then_it_expires(void **state)
{
    test_fixture *fx = *state;
    char user[64];
    user_for(fx, "renew_2", user, sizeof user);
    cJSON_Delete(post_one(fx->port, user, "still here?", NULL));
    for (int i = 0; i < 24; i++) {
        test_sleep_ms(250);
        cJSON *h = get_history(fx->port, user);
        assert_view(h, user, 1);
        cJSON_Delete(h);
    }
    test_sleep_ms(3500);
    assert_int_equal(status_of(fx->port, "GET", user), 404);
}

/* ---- rate limits ---- */

static void assert_limit_headers(const http_resp *r, long remaining)
{
    assert_string_equal(http_header(r, "RateLimit-Policy"), "\"chat\";q=20;w=60");
    const char *rl = http_header(r, "RateLimit");
    assert_non_null(rl);
    long rem = -1, t = -1;
    char tail = '\0';
    if (sscanf(rl, "\"chat\";r=%ld;t=%ld%c", &rem, &t, &tail) != 2)
        fail_msg("RateLimit: %s", rl);
    if (remaining >= 0)
        assert_int_equal(rem, remaining);
    assert_in_range(t, 1, 60);
}

static void test_twenty_first_chat_of_a_user_is_429_and_others_go_on(void **state)
{
    test_fixture *fx = *state;
    char user[64], other[64];
    user_for(fx, "+59170000001", user, sizeof user);
    user_for(fx, "+59170000002", other, sizeof other);

    /* a refused body counts for nothing and carries no limit headers */
    http_resp bad;
    char body[256];
    snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"messages\":[]}", user);
    assert_int_equal(http_do(fx->port, "POST", "/chat", NULL, body, &bad), 0);
    test_assert_problem(&bad, 400, "invalid-request", "messages");
    assert_null(http_header(&bad, "RateLimit"));
    http_resp_free(&bad);

    for (int i = 0; i < 20; i++) {
        char content[16];
        snprintf(content, sizeof content, "n%d", i);
        http_resp r;
        cJSON_Delete(post_one(fx->port, user, content, &r));
        /* a full bucket is 20; each request takes one (a token comes
         * back every 3 s, so later values may be higher) */
        assert_limit_headers(&r, i == 0 ? 19 : -1);
        assert_null(http_header(&r, "Retry-After"));
        http_resp_free(&r);
    }
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"n20\"}]}",
             user);
    http_resp r;
    assert_int_equal(http_do(fx->port, "POST", "/chat", NULL, body, &r), 0);
    test_assert_problem(&r, 429, "rate-limited", "requests a minute");
    assert_limit_headers(&r, 0);
    int64_t retry = 0;
    assert_non_null(http_header(&r, "Retry-After"));
    assert_int_equal(sd_parse_i64(http_header(&r, "Retry-After"), 1, 3, &retry), SD_OK);
    http_resp_free(&r);

    /* the refused message was not stored */
    cJSON *h = get_history(fx->port, user);
    const cJSON *msgs = assert_view(h, user, 20);
    assert_string_equal(msg_field(msgs, 19, "content"), "n19");
    cJSON_Delete(h);

    /* reads are not limited, and another user has its own bucket */
    http_resp o;
    cJSON_Delete(post_one(fx->port, other, "me too", &o));
    assert_limit_headers(&o, 19);
    http_resp_free(&o);
}

/* ---- Redis keys ---- */

static long long redis_int(redisContext *c, const char *cmd, const char *key)
{
    redisReply *rep = redisCommand(c, "%s %s", cmd, key);
    assert_non_null(rep);
    if (rep->type != REDIS_REPLY_INTEGER)
        fail_msg("%s %s: reply type %d", cmd, key, rep->type);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

/* Sets the key's TTL to 100 s, well below what any write of statusd sets. */
static void redis_shorten(redisContext *c, const char *key)
{
    redisReply *rep = redisCommand(c, "PEXPIRE %s 100000", key);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    assert_in_range(redis_int(c, "PTTL", key), 1, 100000);
}

static void test_redis_keys_of_a_conversation_have_ttls_and_go_with_delete(void **state)
{
    test_fixture *fx = *state;
    char user[64], list_key[128], meta_key[128];
    user_for(fx, "whatsapp:+5215500000009", user, sizeof user);
    snprintf(list_key, sizeof list_key, "statusd:{chat:%s}", user);
    snprintf(meta_key, sizeof meta_key, "statusd:{chatmeta:%s}", user);
    cJSON *v = post_one(fx->port, user, "ttl?", NULL);

    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    assert_int_equal(redis_int(c, "LLEN", list_key), 1);
    /* default conversation_ttl 3600 s; the id lives 5 s longer */
    assert_in_range(redis_int(c, "PTTL", list_key), 3590000, 3600000);
    assert_in_range(redis_int(c, "PTTL", meta_key), 3600001, 3605000);
    redisReply *rep = redisCommand(c, "HGET %s conversation_id", meta_key);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_string_equal(rep->str, test_jstr(v, "conversation_id"));
    freeReplyObject(rep);

    /* a read renews both */
    redis_shorten(c, list_key);
    redis_shorten(c, meta_key);
    cJSON_Delete(get_history(fx->port, user));
    assert_in_range(redis_int(c, "PTTL", list_key), 3590000, 3600000);
    assert_in_range(redis_int(c, "PTTL", meta_key), 3590000, 3605000);

    assert_int_equal(status_of(fx->port, "DELETE", user), 204);
    assert_int_equal(redis_int(c, "EXISTS", list_key), 0);
    assert_int_equal(redis_int(c, "EXISTS", meta_key), 0);
    redisFree(c);
    cJSON_Delete(v);
}

/* ---- the group ---- */

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_fixture_teardown)
#define ON_BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, test_fixture_teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        ON_BOTH(test_post_appends_with_server_timestamps_and_history_keeps_order,
                memory_setup, redis_setup),
        ON_BOTH(test_forty_concurrent_appends_all_survive_exactly_once, memory_setup,
                redis_setup),
        ON_BOTH(test_burst_past_the_cap_keeps_the_newest_fifty_in_order, memory_setup,
                redis_setup),
        ON_BOTH(test_conversation_id_stays_across_appends_and_is_new_after_delete,
                memory_setup, redis_setup),
        ON_BOTH(test_history_of_an_unknown_user_is_404, memory_setup, redis_setup),
        ON_BOTH(test_get_moves_expires_at_forward, memory_setup, redis_setup),
        ON_BOTH(test_reads_keep_a_conversation_alive_past_its_ttl_then_it_expires,
                memory_short_ttl_setup, redis_short_ttl_setup),
        ON_BOTH(test_twenty_first_chat_of_a_user_is_429_and_others_go_on,
                memory_limited_setup, redis_limited_setup),
        ON(test_redis_keys_of_a_conversation_have_ttls_and_go_with_delete, redis_setup),
    };
    return cmocka_run_group_tests_name("http_chat", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
