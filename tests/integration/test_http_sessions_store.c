/*
 * Sessions where the store matters, on the memory store and on Redis:
 * concurrent merge patches lose no write (one instance, and two instances
 * on one Redis), the record's TTL in Redis and what renews it, expiry,
 * and listing in pages. The API's answers one by one are in
 * test_http_sessions.c.
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

#include "session_test.h"

#define PATCHERS 50
#define MERGE_PATCH "Content-Type: application/merge-patch+json\r\n"

/* ---- fixtures ---- */

/* Eight HTTP threads, so that patches really run at the same time. */
static const char *const BUSY[] = {"--set", "threads=8", NULL};
static const char *const SHORT_TTL[] = {"--set", "session_ttl=1", NULL};

static int memory_setup(void **state) { return sess_setup(state, false, NULL); }
static int redis_setup(void **state) { return sess_setup(state, true, NULL); }
static int busy_memory_setup(void **state) { return sess_setup(state, false, BUSY); }
static int busy_redis_setup(void **state) { return sess_setup(state, true, BUSY); }
static int short_memory_setup(void **state) { return sess_setup(state, false, SHORT_TTL); }
static int short_redis_setup(void **state) { return sess_setup(state, true, SHORT_TTL); }

static unsigned port_of(void **state) { return ((test_fixture *)*state)->port; }

/* ---- concurrent merge patches ---- */

typedef struct patcher {
    unsigned port;
    const char *id;
    int field;
    pthread_barrier_t *start;
    int status;          /* the answer's status, -1 when none came */
} patcher;

static void *patcher_main(void *arg)
{
    patcher *p = arg;
    char path[128], body[64];
    snprintf(path, sizeof path, "/sessions/%s", p->id);
    snprintf(body, sizeof body, "{\"f%d\":%d}", p->field, p->field);
    pthread_barrier_wait(p->start);
    http_resp r;
    p->status = http_do(p->port, "PATCH", path, MERGE_PATCH, body, &r) == 0 ? r.status : -1;
    http_resp_free(&r);
    return NULL;
}

/* PATCHERS threads, each on its own connection to ports[i % nports],
 * each setting field f<i>, all released at once; then asserts that every
 * one was answered 200 and that the session holds all of them. */
static void patch_all_at_once(const unsigned *ports, size_t nports, const char *id)
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, PATCHERS), 0);
    patcher p[PATCHERS];
    pthread_t t[PATCHERS];
    for (int i = 0; i < PATCHERS; i++) {
        p[i] = (patcher){ports[(size_t)i % nports], id, i, &start, 0};
        assert_int_equal(pthread_create(&t[i], NULL, patcher_main, &p[i]), 0);
    }
    for (int i = 0; i < PATCHERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < PATCHERS; i++)
        if (p[i].status != 200)
            fail_msg("PATCH of f%d answered %d", i, p[i].status);

    cJSON *v = sess_get(ports[0], id, NULL);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    assert_int_equal(cJSON_GetArraySize(data), PATCHERS + 1);
    assert_string_equal(test_jstr(data, "owner"), "kept");
    for (int i = 0; i < PATCHERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(data, name);
        if (!cJSON_IsNumber(f) || f->valueint != i)
            fail_msg("field %s lost", name);
    }
    cJSON_Delete(v);
}

static void test_fifty_concurrent_patches_of_distinct_fields_all_survive(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"owner\":\"kept\"}");
    patch_all_at_once(&port, 1, id);
    free(id);
}

static void test_fifty_patches_through_two_instances_on_one_redis_all_survive(void **state)
{
    test_statusd *other = sess_start_on_redis(BUSY);
    assert_non_null(other);
    unsigned ports[2] = {port_of(state), other->proc.port};
    char *id = sess_create(ports[1], "{\"owner\":\"kept\"}");
    patch_all_at_once(ports, 2, id);
    cJSON *v = sess_get(ports[1], id, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "data")),
                     PATCHERS + 1);
    cJSON_Delete(v);
    free(id);
    assert_int_equal(test_statusd_stop(other), 0);
}

/* ---- TTLs ---- */

static long long raw_int(redisContext *c, const char *cmd, const char *key, const char *arg)
{
    const char *argv[] = {cmd, key, arg};
    size_t lens[] = {strlen(cmd), strlen(key), arg != NULL ? strlen(arg) : 0};
    redisReply *r = redisCommandArgv(c, arg != NULL ? 3 : 2, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Cuts the key's TTL to 5 s, runs one request, and asserts that the
 * request set it back to about session_ttl. */
static void assert_renews(redisContext *c, const char *key, unsigned port, const char *method,
                          const char *path, const char *headers, const char *body, int status)
{
    assert_int_equal(raw_int(c, "PEXPIRE", key, "5000"), 1);
    assert_true(raw_int(c, "PTTL", key, NULL) <= 5000);
    http_resp r;
    test_call(port, method, path, headers, body, &r);
    if (r.status != status)
        fail_msg("%s %s: expected %d, got %d: %s", method, path, status, r.status, r.body);
    http_resp_free(&r);
    long long pttl = raw_int(c, "PTTL", key, NULL);
    if (pttl <= 3000 * 1000 || pttl > 3600 * 1000)
        fail_msg("%s %s left a PTTL of %lld ms", method, path, pttl);
}

static void test_redis_record_has_a_ttl_that_every_read_and_write_renews(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1}");
    char key[128], path[128], touch[128];
    snprintf(key, sizeof key, "statusd:{session:%s}", id);
    sess_path(path, sizeof path, id, NULL);
    sess_path(touch, sizeof touch, id, "/touch");
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    long long pttl = raw_int(c, "PTTL", key, NULL);
    assert_true(pttl > 0 && pttl <= 3600 * 1000);

    assert_renews(c, key, port, "GET", path, NULL, NULL, 200);
    assert_renews(c, key, port, "HEAD", path, NULL, NULL, 200);
    assert_renews(c, key, port, "POST", touch, NULL, NULL, 200);
    assert_renews(c, key, port, "PATCH", path, MERGE_PATCH, "{\"b\":2}", 200);
    assert_renews(c, key, port, "PUT", path, NULL, "{\"c\":3}", 200);

    http_resp r;
    test_call(port, "DELETE", path, NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    http_resp_free(&r);
    assert_int_equal(raw_int(c, "EXISTS", key, NULL), 0);
    redisFree(c);
    free(id);
}

static bool key_gone(void *arg)
{
    redisContext *c = arg;
    return raw_int(c, "PTTL", "statusd:{session:fading}", NULL) == -2;
}

/* The key is left to expire in Redis before statusd reads it: a read
 * within the last millisecond would renew it. */
static void test_session_whose_redis_key_expired_is_404(void **state)
{
    test_fixture *f = *state;
    http_resp r;
    test_call(f->port, "PUT", "/sessions/fading", NULL, "{}", &r);
    assert_int_equal(r.status, 201);
    http_resp_free(&r);
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    assert_int_equal(raw_int(c, "PEXPIRE", "statusd:{session:fading}", "1"), 1);
    assert_true(test_wait_until(key_gone, c, TEST_DEADLINE_MS));
    redisFree(c);
    assert_int_equal(sess_get_status(f->port, "fading"), 404);
    test_call(f->port, "POST", "/sessions/fading/touch", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", "fading");
    http_resp_free(&r);
}

/* session_ttl = 1: with no read in between, a session is gone once its
 * second has passed (waited for generously; nothing reads it meanwhile,
 * since a read would renew it). */
static void test_session_not_read_for_session_ttl_expires(void **state)
{
    unsigned port = port_of(state);
    char *id = sess_create(port, "{\"a\":1}");
    test_sleep_ms(2500);
    assert_int_equal(sess_get_status(port, id), 404);
    char path[128];
    sess_path(path, sizeof path, id, NULL);
    http_resp r;
    test_call(port, "PATCH", path, MERGE_PATCH, "{\"b\":1}", &r);
    test_assert_problem(&r, 404, "not-found", id);
    http_resp_free(&r);
    /* the id is free again: PUT creates */
    test_call(port, "PUT", path, NULL, "{}", &r);
    assert_int_equal(r.status, 201);
    http_resp_free(&r);
    free(id);
}

/* ---- listing ---- */

/* Reads every page of GET /sessions with the given limit (0: none given),
 * asserting that each full page has exactly limit ids and only the last
 * has a null next_cursor. Returns all ids in one array (the caller frees
 * it with cJSON_Delete); *pages gets the number of pages. */
static cJSON *list_all(unsigned port, int limit, int *pages)
{
    cJSON *all = cJSON_CreateArray();
    assert_non_null(all);
    char cursor[512] = "";
    *pages = 0;
    for (;;) {
        char path[700];
        int n = limit > 0 ? snprintf(path, sizeof path, "/sessions?limit=%d&cursor=%s", limit,
                                     cursor)
                          : snprintf(path, sizeof path, "/sessions?cursor=%s", cursor);
        assert_true(n > 0 && (size_t)n < sizeof path);
        http_resp r;
        test_call(port, "GET", path, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(http_header(&r, "Content-Type"), "application/json");
        cJSON *page = test_body_json(&r);
        http_resp_free(&r);
        assert_int_equal(cJSON_GetArraySize(page), 2);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(page, "ids");
        assert_true(cJSON_IsArray(ids));
        (*pages)++;
        assert_true(*pages <= 100);
        const cJSON *id;
        cJSON_ArrayForEach(id, ids) {
            assert_true(cJSON_IsString(id));
            cJSON *copy = cJSON_CreateString(id->valuestring);
            assert_non_null(copy);
            assert_true(cJSON_AddItemToArray(all, copy));
        }
        const char *next = test_jstr(page, "next_cursor");
        if (next == NULL) {
            assert_true(test_jnull(page, "next_cursor"));
            cJSON_Delete(page);
            return all;
        }
        if (limit > 0)
            assert_int_equal(cJSON_GetArraySize(ids), limit);
        assert_true(strlen(next) < sizeof cursor);
        snprintf(cursor, sizeof cursor, "%s", next);
        cJSON_Delete(page);
    }
}

/* Asserts that got holds exactly the ids of want[0..n), each once. */
static void assert_same_ids(const cJSON *got, char *const *want, int n)
{
    assert_int_equal(cJSON_GetArraySize(got), n);
    for (int i = 0; i < n; i++) {
        int seen = 0;
        const cJSON *id;
        cJSON_ArrayForEach(id, got) {
            if (strcmp(id->valuestring, want[i]) == 0)
                seen++;
        }
        if (seen != 1)
            fail_msg("id %s listed %d times", want[i], seen);
    }
}

static void test_listing_with_limit_7_over_30_sessions_returns_each_id_once(void **state)
{
    unsigned port = port_of(state);
    char *ids[30];
    for (int i = 0; i < 30; i++)
        ids[i] = sess_create(port, "{}");
    int pages = 0;
    cJSON *all = list_all(port, 7, &pages);
    assert_same_ids(all, ids, 30);
    assert_int_equal(pages, 5);
    cJSON_Delete(all);

    /* the default limit (100) takes them in one page */
    all = list_all(port, 0, &pages);
    assert_same_ids(all, ids, 30);
    assert_int_equal(pages, 1);
    cJSON_Delete(all);
    for (int i = 0; i < 30; i++)
        free(ids[i]);
}

static void test_listing_skips_deleted_sessions_and_an_empty_store_is_one_empty_page(void **state)
{
    unsigned port = port_of(state);
    int pages = 0;
    cJSON *all = list_all(port, 3, &pages);
    assert_int_equal(cJSON_GetArraySize(all), 0);
    assert_int_equal(pages, 1);
    cJSON_Delete(all);

    char *ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = sess_create(port, "{}");
    for (int i = 0; i < 6; i += 2) {
        char path[128];
        sess_path(path, sizeof path, ids[i], NULL);
        http_resp r;
        test_call(port, "DELETE", path, NULL, NULL, &r);
        assert_int_equal(r.status, 204);
        http_resp_free(&r);
    }
    char *live[3] = {ids[1], ids[3], ids[5]};
    all = list_all(port, 2, &pages);
    assert_same_ids(all, live, 3);
    cJSON_Delete(all);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
}

static void test_listing_refuses_a_bad_limit_or_cursor(void **state)
{
    unsigned port = port_of(state);
    const char *limits[] = {"0", "1001", "-1", "abc", "", "7x", "+5", "%207", "99999999999999999999"};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/sessions?limit=%s", limits[i]);
        http_resp r;
        test_call(port, "GET", path, NULL, NULL, &r);
        test_assert_problem(&r, 400, "invalid-request", "limit must be an integer from 1 to 1000");
        http_resp_free(&r);
    }
    /* not hex, odd length, upper case, an id with a '/' (2f) or a
     * space (20), and longer than any id */
    char too_long[300];
    memset(too_long, '6', 258);
    too_long[258] = '\0';
    const char *cursors[] = {"zz", "616", "4A", "612f62", "6120", "00", too_long};
    for (size_t i = 0; i < sizeof cursors / sizeof cursors[0]; i++) {
        char path[400];
        snprintf(path, sizeof path, "/sessions?limit=1000&cursor=%s", cursors[i]);
        http_resp r;
        test_call(port, "GET", path, NULL, NULL, &r);
        test_assert_problem(&r, 400, "invalid-request", "cursor");
        http_resp_free(&r);
    }
    /* the largest limit and a well-formed cursor past every id */
    http_resp r;
    test_call(port, "GET", "/sessions?limit=1000&cursor=7a7a7a", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ids\":[],\"next_cursor\":null}");
    http_resp_free(&r);
}

/* ---- the group ---- */

#define ON(store, t, setup) {store ": " #t, t, setup, test_fixture_teardown, NULL}

int main(void)
{
    /* a write to a statusd that went away must fail, not end us */
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON("memory", test_fifty_concurrent_patches_of_distinct_fields_all_survive,
           busy_memory_setup),
        ON("redis", test_fifty_concurrent_patches_of_distinct_fields_all_survive,
           busy_redis_setup),
        ON("redis", test_fifty_patches_through_two_instances_on_one_redis_all_survive,
           busy_redis_setup),
        ON("redis", test_redis_record_has_a_ttl_that_every_read_and_write_renews, redis_setup),
        ON("redis", test_session_whose_redis_key_expired_is_404, redis_setup),
        ON("memory", test_session_not_read_for_session_ttl_expires, short_memory_setup),
        ON("redis", test_session_not_read_for_session_ttl_expires, short_redis_setup),
        ON("memory", test_listing_with_limit_7_over_30_sessions_returns_each_id_once,
           memory_setup),
        ON("redis", test_listing_with_limit_7_over_30_sessions_returns_each_id_once,
           redis_setup),
        ON("memory", test_listing_skips_deleted_sessions_and_an_empty_store_is_one_empty_page,
           memory_setup),
        ON("redis", test_listing_skips_deleted_sessions_and_an_empty_store_is_one_empty_page,
           redis_setup),
        ON("memory", test_listing_refuses_a_bad_limit_or_cursor, memory_setup),
        ON("redis", test_listing_refuses_a_bad_limit_or_cursor, redis_setup),
    };
    return cmocka_run_group_tests_name("http_sessions_store", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
