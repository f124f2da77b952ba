/*
 * The Redis store's value index across a change of its key layout. An
 * earlier statusd also kept, for each indexed namespace, the sets
 * <prefix>ix:<ns>:<v> (ids scored by expiry) and the hash
 * <prefix>ixr:<ns>:s (each id's order key). This one counts the ordered
 * sets <prefix>ix:<ns>:<v>:o and keeps an id's order key as its score
 * there, so it reads what the earlier layout wrote, and removes the keys
 * it no longer needs when the index is declared.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "statusd/store.h"
#include "redis_server.h"

#define STORE_TIMEOUT_MS 2000

static test_redis server;

typedef struct fixture {
    redisContext *raw;
    char prefix[64];
} fixture;

static unsigned serial;

static sd_store *store_on(const char *prefix)
{
    sd_redis_opts o = {"127.0.0.1", (int)server.port, 0, NULL, NULL,
                       STORE_TIMEOUT_MS, prefix, 0, 0};
    char err[256];
    sd_store *s = NULL;
    if (sd_redis_store_new(&o, &s, err, sizeof err) != SD_OK)
        fprintf(stderr, "sd_redis_store_new: %s\n", err);
    assert_non_null(s);
    return s;
}

/* One command on the raw connection, its arguments NULL-terminated; the
 * caller frees the reply. */
static redisReply *raw(fixture *f, const char *first, ...)
{
    const char *argv[16];
    size_t lens[16];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        assert_true(argc < 16);
        argv[argc] = a;
        lens[argc++] = strlen(a);
    }
    va_end(ap);
    redisReply *r = redisCommandArgv(f->raw, argc, argv, lens);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    return r;
}

static long long raw_int(redisReply *r)
{
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void raw_done(redisReply *r) { freeReplyObject(r); }

/* <prefix><rest>, in a static buffer of n rotating ones. */
static const char *key(const fixture *f, const char *rest)
{
    static char bufs[8][160];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s%s", f->prefix, rest);
    return b;
}

static bool exists(fixture *f, const char *k)
{
    return raw_int(raw(f, "EXISTS", k, NULL)) == 1;
}

static int64_t count_by(sd_store *s, const char *value)
{
    int64_t n = -1;
    assert_int_equal(sd_store_count_by(s, "job", value, &n), SD_OK);
    return n;
}

static void set_status(sd_store *s, const char *id, const char *status, sd_update_mode mode)
{
    sd_assign a = {"status", SD_ASSIGN_SET, status, strlen(status), 0};
    sd_update u = {mode, NULL, NULL, 0, &a, 1, 60000, false, 0};
    assert_int_equal(sd_store_update(s, "job", id, &u, NULL), SD_OK);
}

/* The one id of value's page and its order key. */
static int64_t only_key(sd_store *s, const char *value, const char *id)
{
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan_by(s, "job", value, 0, 10, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], id);
    int64_t k = p.keys[0];
    sd_page_clear(&p);
    return k;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    return test_redis_start(&server);
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&server);
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    /* Glob characters in the prefix: unescaped, the pattern that finds
     * the earlier keys would also match keys outside it. */
    snprintf(f->prefix, sizeof f->prefix, "sd[i]*%u:", serial++);
    f->raw = test_redis_connect(&server);
    if (f->raw == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    redisFree(f->raw);
    free(f);
    return 0;
}

static void test_declaring_the_index_removes_only_the_earlier_layouts_keys(void **state)
{
    fixture *f = *state;
    sd_store *s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    set_status(s, "r1", "queued", SD_UPDATE_CREATE);
    set_status(s, "r2", "a:b", SD_UPDATE_CREATE);
    set_status(s, "r3", "o", SD_UPDATE_CREATE);
    sd_store_free(s);

    /* What the earlier layout kept beside them: a value "o" makes a set
     * whose name ends in ":o" too. */
    raw_done(raw(f, "HSET", key(f, "ixr:job:s"), "r1", "1", "r2", "2", "r3", "3", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:queued"), "1e15", "r1", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:a%3Ab"), "1e15", "r2", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:o"), "1e15", "r3", NULL));
    /* Keys that stay: another namespace's sets, and keys outside the
     * prefix that an unescaped pattern would match. */
    const char *stay[] = {"ix:job%3Ax:queued", "ix:jobs:queued", "ixr:jobs:s"};
    for (size_t i = 0; i < sizeof stay / sizeof *stay; i++)
        raw_done(raw(f, "ZADD", key(f, stay[i]), "1", "x", NULL));
    char outside[96];
    snprintf(outside, sizeof outside, "sdi%six:job:queued", f->prefix + strlen("sd[i]*"));
    raw_done(raw(f, "SET", outside, "keep", NULL));

    s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    assert_false(exists(f, key(f, "ixr:job:s")));
    assert_false(exists(f, key(f, "ix:job:queued")));
    assert_false(exists(f, key(f, "ix:job:a%3Ab")));
    assert_false(exists(f, key(f, "ix:job:o")));
    assert_true(exists(f, key(f, "ix:job:o:o")));
    assert_int_equal(count_by(s, "o"), 1);
    for (size_t i = 0; i < sizeof stay / sizeof *stay; i++)
        assert_true(exists(f, key(f, stay[i])));
    assert_true(exists(f, outside));
    assert_true(exists(f, key(f, "ixr:job")));
    assert_true(exists(f, key(f, "ixr:job:n")));
    assert_true(exists(f, key(f, "ix:job:queued:o")));
    assert_true(exists(f, key(f, "ix:job:a%3Ab:o")));
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(count_by(s, "a:b"), 1);
    assert_int_equal(only_key(s, "queued", "r1"), 1);
    assert_int_equal(only_key(s, "a:b", "r2"), 2);

    /* Declared again (another part of the process): nothing more goes. */
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    assert_true(exists(f, key(f, "ix:job:queued:o")));
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
    for (size_t i = 0; i < sizeof stay / sizeof *stay; i++)
        assert_false(exists(f, key(f, stay[i])));
    assert_int_equal(raw_int(raw(f, "DEL", outside, NULL)), 1);
}

static void test_a_record_the_earlier_layout_indexed_moves_with_its_order_key(void **state)
{
    fixture *f = *state;
    /* A job as the earlier layout left it: counted under queued with the
     * order key 7, the counter at 7. */
    raw_done(raw(f, "HSET", key(f, "{job:r1}"), "status", "queued", NULL));
    raw_done(raw(f, "ZADD", key(f, "exp:job"), "+inf", "r1", NULL));
    raw_done(raw(f, "ZADD", key(f, "lex:job"), "0", "r1", NULL));
    raw_done(raw(f, "HSET", key(f, "ixr:job"), "r1", "queued", NULL));
    raw_done(raw(f, "HSET", key(f, "ixr:job:s"), "r1", "7", NULL));
    raw_done(raw(f, "SET", key(f, "ixr:job:n"), "7", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:queued"), "+inf", "r1", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:queued:o"), "7", "r1", NULL));

    sd_store *s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(only_key(s, "queued", "r1"), 7);

    set_status(s, "r1", "running", SD_UPDATE_EXISTING);
    assert_int_equal(count_by(s, "queued"), 0);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(only_key(s, "running", "r1"), 7);
    assert_int_equal(raw_int(raw(f, "EXISTS", key(f, "ix:job:queued:o"), NULL)), 0);

    /* A new record takes the next key; the moved one keeps its own. */
    set_status(s, "r2", "running", SD_UPDATE_CREATE);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan_by(s, "job", "running", 0, 10, &p), SD_OK);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.ids[0], "r2");
    assert_int_equal(p.keys[0], 8);
    assert_string_equal(p.ids[1], "r1");
    assert_int_equal(p.keys[1], 7);
    sd_page_clear(&p);

    assert_int_equal(sd_store_del(s, "job", "r1"), SD_OK);
    assert_int_equal(count_by(s, "running"), 1);
    assert_int_equal(raw_int(raw(f, "HEXISTS", key(f, "ixr:job"), "r1", NULL)), 0);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
}

/* calls of command in INFO commandstats. */
static long long calls_of(fixture *f, const char *command)
{
    long long n = test_redis_info(f->raw, "commandstats", command);
    return n < 0 ? 0 : n;
}

static void test_a_start_without_the_earlier_layout_scans_nothing(void **state)
{
    fixture *f = *state;
    sd_store *s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    set_status(s, "r1", "queued", SD_UPDATE_CREATE);
    sd_store_free(s);
    long long scans = calls_of(f, "cmdstat_scan:calls=");
    s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    assert_int_equal(calls_of(f, "cmdstat_scan:calls="), scans);
    assert_int_equal(count_by(s, "queued"), 1);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
}

static void test_records_only_the_earlier_layout_counted_stay_counted(void **state)
{
    fixture *f = *state;
    sd_store *s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    set_status(s, "r1", "queued", SD_UPDATE_CREATE);
    sd_store_free(s);
    int64_t key1 = 0;
    {
        redisReply *r = raw(f, "ZSCORE", key(f, "ix:job:queued:o"), "r1", NULL);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        key1 = strtoll(r->str, NULL, 10);
        freeReplyObject(r);
    }
    /* The oldest layout: no order-key hash, no marker of a walk made.
     * r2 and the many: counted by it only (its expiry-scored set and the
     * id -> value hash), with no ordered-set entry, more than a batch of
     * them; r3: in its set but counted under another value; r4: in it,
     * unknown to the index. */
    raw_done(raw(f, "DEL", key(f, "ixr:job:v"), NULL));
    raw_done(raw(f, "HSET", key(f, "{job:r2}"), "status", "queued", NULL));
    raw_done(raw(f, "ZADD", key(f, "exp:job"), "+inf", "r2", NULL));
    raw_done(raw(f, "ZADD", key(f, "lex:job"), "0", "r2", NULL));
    raw_done(raw(f, "HSET", key(f, "ixr:job"), "r2", "queued", NULL));
    raw_done(raw(f, "ZADD", key(f, "ix:job:queued"), "+inf", "r1", "+inf", "r2", "+inf",
                 "r3", "+inf", "r4", NULL));
    raw_done(raw(f, "HSET", key(f, "ixr:job"), "r3", "done", NULL));
    enum { MANY = 1200 };
    for (int i = 0; i < MANY; i++) {
        char id[16];
        char rec[32];
        snprintf(id, sizeof id, "m%d", i);
        snprintf(rec, sizeof rec, "{job:%s}", id);
        raw_done(raw(f, "HSET", key(f, rec), "status", "queued", NULL));
        raw_done(raw(f, "ZADD", key(f, "exp:job"), "+inf", id, NULL));
        raw_done(raw(f, "ZADD", key(f, "lex:job"), "0", id, NULL));
        raw_done(raw(f, "HSET", key(f, "ixr:job"), id, "queued", NULL));
        raw_done(raw(f, "ZADD", key(f, "ix:job:queued"), "+inf", id, NULL));
    }

    s = store_on(f->prefix);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    assert_false(exists(f, key(f, "ix:job:queued")));
    assert_true(exists(f, key(f, "ixr:job:v")));
    assert_int_equal(count_by(s, "queued"), 2 + MANY);
    /* The newly counted come after every key the layout handed out. */
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan_by(s, "job", "queued", key1 + 1, 10, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], "r1");
    sd_page_clear(&p);
    assert_int_equal(sd_store_scan_by(s, "job", "queued", 0, 10, &p), SD_OK);
    assert_int_equal(p.count, 10);
    assert_true(p.keys[9] > key1);
    sd_page_clear(&p);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_declaring_the_index_removes_only_the_earlier_layouts_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_record_the_earlier_layout_indexed_moves_with_its_order_key, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_start_without_the_earlier_layout_scans_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_records_only_the_earlier_layout_counted_stay_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
