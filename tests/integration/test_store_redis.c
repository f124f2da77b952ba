/*
 * The Redis store against a real redis-server: the shared store contract,
 * then what only the Redis store has: its keys and TTLs on the server,
 * one round trip per poll, script reloading, what clear leaves alone,
 * self-repairing indexes, faults (a stopped, a killed and a restarted
 * server, a backoff after failed connects, a server refusing writes),
 * a few connections shared by every thread (replies matched to their
 * calls), authentication and options.
 *
 * One server runs for the whole group; the fault and password tests run
 * their own. The only upper bound on elapsed time is the one the command
 * timeout exists for (a stopped server answers within it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "statusd/store.h"
#include "statusd/util.h"
#include "proc.h"
#include "redis_server.h"
#include "store_contract.h"

#define WAIT_LIMIT_MS 10000
#define STORE_TIMEOUT_MS 2000
#define FAULT_TIMEOUT_MS 500
#define MAX_TESTS 128

static test_redis group_server;
static unsigned prefix_serial;

typedef struct fixture {
    test_redis own;           /* a private server, when the test needs one */
    test_redis *server;       /* the server the test uses */
    sd_store *store;
    redisContext *raw;        /* a plain connection to look at the server */
    char prefix[64];
} fixture;

/* ---- helpers ---- */

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
}

/* A store's options; its sweeper waits an hour, so that the tests that
 * count the scripts a step runs count none of its. */
static sd_redis_opts opts_for(const test_redis *r, const char *prefix, int64_t timeout_ms)
{
    return (sd_redis_opts){"127.0.0.1", (int)r->port, 0, NULL, r->password,
                           timeout_ms, prefix, 0, 3600000};
}

static sd_store *store_for(const test_redis *r, const char *prefix, int64_t timeout_ms)
{
    sd_redis_opts o = opts_for(r, prefix, timeout_ms);
    char err[256];
    sd_store *s = NULL;
    if (sd_redis_store_new(&o, &s, err, sizeof err) != SD_OK)
        fprintf(stderr, "sd_redis_store_new: %s\n", err);
    return s;
}

/* sd_redis_store_new with o, which must fail: its result, once checked
 * that it left no store. */
static sd_err store_refused(const sd_redis_opts *o, char *err, size_t errlen)
{
    static sd_store stale;
    sd_store *s = &stale;
    sd_err e = sd_redis_store_new(o, &s, err, errlen);
    assert_null(s);
    return e;
}

static sd_store *make_redis_store(void *arg)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sdc:%u:", prefix_serial++);
    return store_for(arg, prefix, STORE_TIMEOUT_MS);
}

static redisContext *raw_connect(const test_redis *r)
{
    redisContext *c = test_redis_connect(r);
    assert_non_null(c);
    return c;
}

/* One command on the raw connection; the caller frees the reply. */
static redisReply *raw_cmd(redisContext *c, int argc, const char *const *argv)
{
    size_t lens[16];
    assert_true(argc <= 16);
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, argc, (const char **)argv, lens);
    assert_non_null(r);
    return r;
}

#define RAW(c, ...) \
    raw_cmd((c), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
            (const char *const[]){__VA_ARGS__})

static long long raw_int(redisReply *r)
{
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void raw_ok(redisReply *r)
{
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

/* A numeric field of an INFO section; fails the test when INFO does. */
static long long info_number(redisContext *c, const char *section, const char *field)
{
    long long v = test_redis_info(c, section, field);
    assert_true(v >= 0);
    return v;
}

static long long evalsha_calls(redisContext *c)
{
    return info_number(c, "commandstats", "cmdstat_evalsha:calls=");
}

static char *key_of(const fixture *f, const char *rest)
{
    char *k = NULL;
    assert_true(asprintf(&k, "%s%s", f->prefix, rest) > 0);
    return k;
}

static sd_err put(sd_store *s, const char *ns, const char *id, const char *value,
                  int64_t ttl_ms)
{
    sd_assign a = {"f", SD_ASSIGN_SET, value, strlen(value), 0};
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, ttl_ms, false, 0};
    return sd_store_update(s, ns, id, &u, NULL);
}

static void assert_value(sd_store *s, const char *ns, const char *id, const char *want)
{
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, ns, id, 0, &r), SD_OK);
    const char *v = sd_record_get(&r, "f", NULL);
    assert_non_null(v);
    assert_string_equal(v, want);
    sd_record_clear(&r);
}

/* Polls get until it answers SD_OK (after an outage); fails after the
 * long deadline. */
static void assert_recovers(sd_store *s, const char *ns, const char *id)
{
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    sd_err err;
    sd_record r = SD_RECORD_INIT;
    while ((err = sd_store_get(s, ns, id, 0, &r)) != SD_OK && sd_mono_ms() < until)
        sleep_ms(50);
    sd_record_clear(&r);
    assert_int_equal(err, SD_OK);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    (void)state;
    memset(&group_server, 0, sizeof group_server);
    return test_redis_start(&group_server);
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&group_server);
    return 0;
}

static int fixture_open(void **state, fixture *f, int64_t timeout_ms)
{
    snprintf(f->prefix, sizeof f->prefix, "sdt:%u:", prefix_serial++);
    f->store = store_for(f->server, f->prefix, timeout_ms);
    if (f->store == NULL) {
        test_redis_stop(&f->own);
        free(f);
        return -1;
    }
    f->raw = raw_connect(f->server);
    *state = f;
    return 0;
}

/* A store with a fresh prefix on the group's server. */
static int setup_store(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->server = &group_server;
    return fixture_open(state, f, STORE_TIMEOUT_MS);
}

/* A private server (persistent when aof) and a store with a short
 * timeout on it, for tests that stop or kill the server. */
static int setup_own(void **state, bool aof, const char *password)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->own.appendonly = aof;
    f->own.password = password;
    if (test_redis_start(&f->own) != 0) {
        free(f);
        return -1;
    }
    f->server = &f->own;
    return fixture_open(state, f, FAULT_TIMEOUT_MS);
}

static int setup_own_server(void **state) { return setup_own(state, false, NULL); }
static int setup_own_aof_server(void **state) { return setup_own(state, true, NULL); }
static int setup_own_password_server(void **state)
{
    return setup_own(state, false, "backoff-Pa55word");
}

static int teardown_store(void **state)
{
    fixture *f = *state;
    if (f->own.pid > 0)
        test_redis_kill(&f->own, SIGCONT);
    if (f->store != NULL && f->server->pid > 0)
        sd_store_clear(f->store, NULL);
    sd_store_free(f->store);
    if (f->raw != NULL)
        redisFree(f->raw);
    test_redis_stop(&f->own);
    free(f);
    return 0;
}

/* ---- keys on the server ---- */

static void test_keys_carry_prefix_and_expiry(void **state)
{
    fixture *f = *state;
    raw_ok(RAW(f->raw, "FLUSHDB"));
    assert_int_equal(put(f->store, "job", "r1", "v", 60000), SD_OK);
    const char *items[] = {"m1"};
    size_t lens[] = {2};
    assert_int_equal(sd_store_list_append(f->store, "chat", "u1", items, lens, 1, 10,
                                          30000, NULL), SD_OK);
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(f->store, "user:1", 5, 60000, &rate), SD_OK);

    static const char *const expiring[] = {"{job:r1}", "{chat:u1}", "rl:{user:1}"};
    for (size_t i = 0; i < sizeof expiring / sizeof *expiring; i++) {
        char *k = key_of(f, expiring[i]);
        long long pttl = raw_int(RAW(f->raw, "PTTL", k));
        assert_in_range(pttl, 1, 60000);
        free(k);
    }
    static const char *const indexes[] = {"exp:job", "lex:job", "exp:chat", "lex:chat"};
    for (size_t i = 0; i < sizeof indexes / sizeof *indexes; i++) {
        char *k = key_of(f, indexes[i]);
        assert_int_equal(raw_int(RAW(f->raw, "ZCARD", k)), 1);
        free(k);
    }
    /* Nothing else exists: every key the store made is one of the above. */
    assert_int_equal(raw_int(RAW(f->raw, "DBSIZE")), 7);
    assert_int_equal(sd_store_ping(f->store), SD_OK);
    assert_int_equal(raw_int(RAW(f->raw, "DBSIZE")), 7);
}

static void test_namespace_with_colon_names_its_own_records(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "a:b", "c", "first", 0), SD_OK);
    assert_int_equal(put(f->store, "a", "b:c", "second", 0), SD_OK);
    assert_int_equal(put(f->store, "a%3Ab", "c", "third", 0), SD_OK);
    assert_value(f->store, "a:b", "c", "first");
    assert_value(f->store, "a", "b:c", "second");
    assert_value(f->store, "a%3Ab", "c", "third");
    int64_t n = -1;
    assert_int_equal(sd_store_count(f->store, "a:b", &n), SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sd_store_count(f->store, "a", &n), SD_OK);
    assert_int_equal(n, 1);
    char *k = key_of(f, "{a%3Ab:c}");
    assert_int_equal(raw_int(RAW(f->raw, "EXISTS", k)), 1);
    free(k);
}

static void test_ids_with_braces_and_binary_values_round_trip(void **state)
{
    fixture *f = *state;
    static const char bin[] = {'\0', '\xff', '}', '{'};
    sd_assign a = {"data", SD_ASSIGN_SET, bin, sizeof bin, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(f->store, "ns", "x}{y", &u, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(f->store, "ns", "x}{y", 0, &r), SD_OK);
    size_t len = 0;
    const char *v = sd_record_get(&r, "data", &len);
    assert_non_null(v);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(v, bin, sizeof bin);
    sd_record_clear(&r);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(f->store, "ns", NULL, 10, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], "x}{y");
    sd_page_clear(&p);
}

/* ---- round trips and scripts ---- */

static void test_poll_is_one_round_trip_and_renews_pttl(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 1000), SD_OK);
    char *k = key_of(f, "{job:r1}");
    assert_in_range(raw_int(RAW(f->raw, "PTTL", k)), 1, 1000);

    long long before = evalsha_calls(f->raw);
    sd_record r = SD_RECORD_INIT;
    int64_t t0 = sd_now_ms();
    assert_int_equal(sd_store_get(f->store, "job", "r1", 600000, &r), SD_OK);
    assert_int_equal(evalsha_calls(f->raw), before + 1);
    assert_in_range(r.expires_ms, t0 + 600000, sd_now_ms() + 600000);
    assert_in_range(raw_int(RAW(f->raw, "PTTL", k)), 300000, 600000);
    sd_record_clear(&r);

    before = evalsha_calls(f->raw);
    assert_int_equal(sd_store_get(f->store, "job", "missing", 600000, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(evalsha_calls(f->raw), before + 1);
    free(k);
}

/* A poll whose renewal falls within the slack (a tenth of the TTL) is
 * two plain reads, no script; one that renews, or misses, runs it. */
static void test_poll_within_the_renewal_slack_runs_no_script(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 600000), SD_OK);
    char *k = key_of(f, "{job:r1}");
    long long pttl = raw_int(RAW(f->raw, "PTTL", k));

    long long scripts = evalsha_calls(f->raw);
    long long reads = info_number(f->raw, "commandstats", "cmdstat_hgetall:calls=");
    sd_record r = SD_RECORD_INIT;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sd_store_poll(f->store, "job", "r1", 600000, &r), SD_OK);
        assert_string_equal(r.fields[0].value, "v");
        sd_record_clear(&r);
    }
    assert_int_equal(evalsha_calls(f->raw), scripts);
    assert_int_equal(info_number(f->raw, "commandstats", "cmdstat_hgetall:calls="),
                     reads + 10);
    assert_true(raw_int(RAW(f->raw, "PTTL", k)) <= pttl);

    int64_t t0 = sd_now_ms();
    assert_int_equal(sd_store_poll(f->store, "job", "r1", 6000000, &r), SD_OK);
    assert_int_equal(evalsha_calls(f->raw), scripts + 1);
    assert_in_range(r.expires_ms, t0 + 6000000, sd_now_ms() + 6000000);
    assert_in_range(raw_int(RAW(f->raw, "PTTL", k)), 5000000, 6000000);
    sd_record_clear(&r);

    assert_int_equal(sd_store_poll(f->store, "job", "missing", 600000, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(evalsha_calls(f->raw), scripts + 2);
    free(k);

    /* A record already expiring at its deadline: the renewal, cut by the
     * deadline, would change nothing, so it is left out too. */
    char deadline[24];
    snprintf(deadline, sizeof deadline, "%lld", (long long)(sd_now_ms() + 30000));
    sd_assign a = {SD_FIELD_DEADLINE, SD_ASSIGN_SET, deadline, strlen(deadline), 0};
    sd_update u = {.mode = SD_UPDATE_UPSERT, .assign = &a, .assign_count = 1, .ttl_ms = 600000};
    assert_int_equal(sd_store_update(f->store, "job", "d1", &u, NULL), SD_OK);
    scripts = evalsha_calls(f->raw);
    assert_int_equal(sd_store_poll(f->store, "job", "d1", 600000, &r), SD_OK);
    assert_int_equal(r.expires_ms, strtoll(deadline, NULL, 10));
    sd_record_clear(&r);
    assert_int_equal(evalsha_calls(f->raw), scripts);
}

static void test_scripts_reload_after_script_flush(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v1", 0), SD_OK);
    raw_ok(RAW(f->raw, "SCRIPT", "FLUSH"));
    assert_value(f->store, "job", "r1", "v1");
    raw_ok(RAW(f->raw, "SCRIPT", "FLUSH"));
    assert_int_equal(put(f->store, "job", "r1", "v2", 0), SD_OK);
    assert_value(f->store, "job", "r1", "v2");
    raw_ok(RAW(f->raw, "SCRIPT", "FLUSH"));
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(f->store, "k", 1, 60000, &rate), SD_OK);
    assert_true(rate.allowed);
}

/* ---- clear ---- */

static void test_clear_leaves_keys_outside_the_prefix(void **state)
{
    fixture *f = *state;
    /* A prefix with glob characters: unescaped, its MATCH pattern would
     * also take "sdt:outside". */
    sd_store *s = store_for(f->server, "sd[t]*:", STORE_TIMEOUT_MS);
    assert_non_null(s);
    static const char *const outside[] = {"sdt:outside", "sd[t]*", "other:key", "sd[t]x:y"};
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
        raw_ok(RAW(f->raw, "SET", outside[i], "keep"));
    raw_ok(RAW(f->raw, "SET", "sd[t]*:stray", "mine"));
    assert_int_equal(put(s, "job", "r1", "v", 0), SD_OK);
    assert_int_equal(put(s, "job", "r2", "v", 60000), SD_OK);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    /* Two records and the stray key under the prefix; not the indexes. */
    assert_int_equal(deleted, 3);
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
        assert_int_equal(raw_int(RAW(f->raw, "EXISTS", outside[i])), 1);
    assert_int_equal(raw_int(RAW(f->raw, "EXISTS", "sd[t]*:stray", "sd[t]*:exp:job",
                                 "sd[t]*:lex:job", "sd[t]*:{job:r1}")), 0);
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
        raw_int(RAW(f->raw, "DEL", outside[i]));
    sd_store_free(s);
}

/* ---- indexes ---- */

static void test_expired_records_leave_the_indexes(void **state)
{
    fixture *f = *state;
    sd_assign a = {"f", SD_ASSIGN_SET, "v", 1, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 50, false, 0};
    sd_record r = SD_RECORD_INIT;
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        assert_int_equal(sd_store_update(f->store, "ns", id, &u, &r), SD_OK);
    }
    assert_int_equal(put(f->store, "ns", "kept", "v", 0), SD_OK);
    while (sd_now_ms() <= r.expires_ms + 50)
        sleep_ms(10);
    sd_record_clear(&r);
    int64_t n = -1;
    assert_int_equal(sd_store_count(f->store, "ns", &n), SD_OK);
    assert_int_equal(n, 1);
    char *expk = key_of(f, "exp:ns"), *lexk = key_of(f, "lex:ns");
    assert_int_equal(raw_int(RAW(f->raw, "ZCARD", expk)), 1);
    assert_int_equal(raw_int(RAW(f->raw, "ZCARD", lexk)), 1);
    free(expk);
    free(lexk);
}

/* ZCARD of key on the raw connection. */
static long long zcard(fixture *f, const char *rest)
{
    char *k = key_of(f, rest);
    long long n = raw_int(RAW(f->raw, "ZCARD", k));
    free(k);
    return n;
}

static void test_expired_records_leave_the_indexes_unread(void **state)
{
    fixture *f = *state;
    sd_redis_opts o = opts_for(f->server, f->prefix, STORE_TIMEOUT_MS);
    o.sweep_interval_ms = 100;
    char err[256];
    sd_store *s = NULL;
    assert_int_equal(sd_redis_store_new(&o, &s, err, sizeof err), SD_OK);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    sd_assign a = {"status", SD_ASSIGN_SET, "queued", 6, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 300, false, 0};
    /* More than one step of the sweeper drops. */
    for (int i = 0; i < 2500; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        assert_int_equal(sd_store_update(s, "job", id, &u, NULL), SD_OK);
    }
    u.ttl_ms = 0;
    assert_int_equal(sd_store_update(s, "job", "kept", &u, NULL), SD_OK);
    /* A namespace without a value index, and one written through a
     * queue step only. */
    assert_int_equal(put(s, "other", "r1", "v", 100), SD_OK);
    assert_int_equal(put(s, "other", "kept", "v", 0), SD_OK);
    sd_assign qa = {"f", SD_ASSIGN_SET, "v", 1, 0};
    sd_update qu = {SD_UPDATE_CREATE, NULL, NULL, 0, &qa, 1, 100, false, 0};
    sd_queue_rec rec = {"queued", &qu, NULL, SD_OK};
    assert_int_equal(sd_queue_push(s, "q", "i1", 0, 0, &rec), SD_OK);
    /* No read of the store from here: only the sweeper drops them. */
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    while ((zcard(f, "exp:job") > 1 || zcard(f, "ix:job:queued:o") > 1 ||
            zcard(f, "exp:other") > 1 || zcard(f, "exp:queued") > 0) &&
           sd_mono_ms() < until)
        sleep_ms(50);
    assert_int_equal(zcard(f, "exp:job"), 1);
    assert_int_equal(zcard(f, "lex:job"), 1);
    assert_int_equal(zcard(f, "ix:job:queued:o"), 1);
    char *ixr = key_of(f, "ixr:job");
    assert_int_equal(raw_int(RAW(f->raw, "HLEN", ixr)), 1);
    free(ixr);
    assert_int_equal(zcard(f, "exp:other"), 1);
    assert_int_equal(zcard(f, "lex:other"), 1);
    assert_int_equal(zcard(f, "exp:queued"), 0);
    int64_t n = -1;
    assert_int_equal(sd_store_count_by(s, "job", "queued", &n), SD_OK);
    assert_int_equal(n, 1);
    sd_store_free(s);
}

/* Indexes "job" by status on s and writes there a record "kept" that
 * never expires and n records x0, x1, ... that expire after ttl_ms, all
 * "queued"; returns once all n have expired. */
static void put_expired_jobs(sd_store *s, int n, int64_t ttl_ms)
{
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    sd_assign a = {"status", SD_ASSIGN_SET, "queued", 6, 0};
    sd_update u = {SD_UPDATE_CREATE, NULL, NULL, 0, &a, 1, 0, false, 0};
    assert_int_equal(sd_store_update(s, "job", "kept", &u, NULL), SD_OK);
    u.ttl_ms = ttl_ms;
    sd_record r = SD_RECORD_INIT;
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        assert_int_equal(sd_store_update(s, "job", id, &u, &r), SD_OK);
        if (r.expires_ms > last)
            last = r.expires_ms;
        sd_record_clear(&r);
    }
    while (sd_now_ms() <= last)
        sleep_ms(20);
}

/* One sweep drops a backlog of more than one batch (1000): it steps on
 * until none is left, rather than one batch an interval. The records
 * expire before the sweeping store exists, so its first sweep, one
 * interval after it starts, meets all of them; the second comes a whole
 * interval later, and the test asserts they are gone well before. */
static void test_one_sweep_drops_a_backlog_of_several_batches(void **state)
{
    enum { EXPIRED = 2500, INTERVAL_MS = 2000 };
    fixture *f = *state;
    put_expired_jobs(f->store, EXPIRED, 100);
    assert_int_equal(zcard(f, "exp:job"), 1 + EXPIRED);

    sd_redis_opts o = opts_for(f->server, f->prefix, STORE_TIMEOUT_MS);
    o.sweep_interval_ms = INTERVAL_MS;
    char err[256];
    sd_store *s = NULL;
    assert_int_equal(sd_redis_store_new(&o, &s, err, sizeof err), SD_OK);
    assert_int_equal(sd_store_index(s, "job", "status"), SD_OK);
    /* The first sweep begins ... */
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    while (zcard(f, "exp:job") == 1 + EXPIRED && sd_mono_ms() < until)
        sleep_ms(10);
    int64_t began = sd_mono_ms();
    assert_true(zcard(f, "exp:job") < 1 + EXPIRED);
    /* ... and ends with none left, long before a second could begin. */
    while (zcard(f, "exp:job") > 1 && sd_mono_ms() < began + INTERVAL_MS / 2)
        sleep_ms(10);
    assert_int_equal(zcard(f, "exp:job"), 1);
    assert_int_equal(zcard(f, "lex:job"), 1);
    assert_int_equal(zcard(f, "ix:job:queued:o"), 1);
    sd_store_free(s);
}

/* count_by drops at most 20 batches of 1000 expired records a call: past
 * that it counts what is left, and the next call goes on. */
static void test_count_by_drops_at_most_twenty_batches_a_call(void **state)
{
    enum { EXPIRED = 20500 };
    fixture *f = *state;
    put_expired_jobs(f->store, EXPIRED, 200);
    int64_t n = -1;
    assert_int_equal(sd_store_count_by(f->store, "job", "queued", &n), SD_OK);
    assert_int_equal(n, 1 + EXPIRED - 20000);
    assert_int_equal(sd_store_count_by(f->store, "job", "queued", &n), SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(zcard(f, "exp:job"), 1);
}

static void test_records_removed_behind_the_store_leave_listing(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "ns", "r1", "v", 0), SD_OK);
    assert_int_equal(put(f->store, "ns", "r2", "v", 0), SD_OK);
    /* As an eviction or an operator would. */
    char *k = key_of(f, "{ns:r1}");
    assert_int_equal(raw_int(RAW(f->raw, "DEL", k)), 1);
    free(k);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(f->store, "ns", NULL, 10, &p), SD_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], "r2");
    assert_null(p.next_cursor);
    sd_page_clear(&p);
    int64_t n = -1;
    assert_int_equal(sd_store_count(f->store, "ns", &n), SD_OK);
    assert_int_equal(n, 1);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(f->store, "ns", "r1", 0, &r), SD_ERR_NOT_FOUND);
}

/* ---- the cost of a job ---- */

/* Commands run on the server so far: every command's calls in INFO
 * commandstats, those a script runs included; in *scripts, EVALSHA's.
 * INFO itself and EVALSHA are left out of the total. */
static long long commands_run(redisContext *c, long long *scripts, long long *types)
{
    const char *argv[] = {"INFO", "commandstats"};
    size_t lens[] = {4, 12};
    redisReply *rep = redisCommandArgv(c, 2, argv, lens);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    long long total = 0;
    *scripts = 0;
    *types = 0;
    for (const char *p = strstr(rep->str, "cmdstat_"); p != NULL;
         p = strstr(p + 1, "cmdstat_")) {
        const char *name = p + 8, *calls = strstr(p, ":calls=");
        assert_non_null(calls);
        long long n = strtoll(calls + 7, NULL, 10);
        size_t len = (size_t)(calls - name);
        if (len == 7 && memcmp(name, "evalsha", 7) == 0)
            *scripts += n;
        else if (!(len == 4 && memcmp(name, "info", 4) == 0))
            total += n;
        if (len == 4 && memcmp(name, "type", 4) == 0)
            *types += n;
    }
    freeReplyObject(rep);
    return total;
}

/*
 * A job's steps as a worker makes them (submit: push creating the record
 * counted by status; start: queued -> processing, attempts + 1, run =
 * the take's owner; end: processing -> completed), the end of one job
 * and the start of the next being one ack_take: two scripts a job, and
 * one take for the first (an ack and a take apart would be three a job).
 * Inside them, only the commands of the writes that change something:
 * no TYPE for a live record, no write of a field or an index entry that
 * stays as it is, and no expiry write for a start or an end within the
 * renewal's slack (a tenth of the TTL, as the jobs set it). The bound is
 * what these steps need with their index upkeep (an id moved between
 * the ordered sets of its statuses, no set scored by expiry), when each
 * lands in another millisecond; with the expiry-scored sets the index
 * cost 47 a job, renewing the expiry on every step 50, and with a TYPE,
 * a rewrite of every index and of every field named on each step, 58.
 */
static void test_job_steps_cost_two_scripts_each_and_bounded_commands(void **state)
{
    enum { JOBS = 8 };
    fixture *f = *state;
    assert_int_equal(sd_store_index(f->store, "job", "status"), SD_OK);
    char ids[JOBS][16], owners[JOBS + 1][16];
    long long scripts0, types0, scripts, types;
    long long cmds0 = commands_run(f->raw, &scripts0, &types0);
    for (int i = 0; i < JOBS; i++) {
        snprintf(ids[i], sizeof ids[i], "j%d", i);
        sd_assign a[] = {{"status", SD_ASSIGN_SET, "queued", 6, 0},
                         {"kind", SD_ASSIGN_SET, "research", 8, 0},
                         {"attempts", SD_ASSIGN_SET, "0", 1, 0}};
        sd_update u = {.mode = SD_UPDATE_CREATE, .assign = a, .assign_count = 3,
                       .ttl_ms = 600000};
        sd_queue_rec rec = {"job", &u, NULL, SD_OK};
        assert_int_equal(sd_queue_push(f->store, "jobs", ids[i], 0, 100, &rec), SD_OK);
        assert_int_equal(rec.err, SD_OK);
    }
    static const char *const queued[] = {"queued"};
    for (int i = 0; i <= JOBS; i++)
        snprintf(owners[i], sizeof owners[i], "w:%d", i);
    sd_assign start[] = {{"status", SD_ASSIGN_SET, "processing", 10, 0},
                         {"attempts", SD_ASSIGN_INCR, NULL, 0, 1},
                         {"run", SD_ASSIGN_SET, owners[0], 3, 0},
                         {"error", SD_ASSIGN_DEL, NULL, 0, 0}};
    sd_update su = {.mode = SD_UPDATE_EXISTING, .cond_field = "status", .cond_values = queued,
                    .cond_count = 1, .assign = start, .assign_count = 4, .ttl_ms = 600000,
                    .slack_ms = 60000};
    sd_queue_rec srec = {"job", &su, NULL, SD_OK};
    sd_queue_take t = {.owner = owners[0], .lease_ms = 60000, .max = 1};
    sd_queue_item items[1];
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(f->store, "jobs", &t, &srec, items, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].item, ids[0]);
    sd_queue_items_clear(items, n);
    sd_assign end[] = {{"status", SD_ASSIGN_SET, "completed", 9, 0},
                       {"result", SD_ASSIGN_SET, "{}", 2, 0},
                       {"run", SD_ASSIGN_DEL, NULL, 0, 0}};
    for (int i = 0; i < JOBS; i++) {
        const char *owner = owners[i];
        sd_update eu = {.mode = SD_UPDATE_EXISTING, .cond_field = "run", .cond_values = &owner,
                        .cond_count = 1, .assign = end, .assign_count = 3, .ttl_ms = 600000,
                        .slack_ms = 60000};
        sd_queue_rec erec = {"job", &eu, NULL, SD_OK};
        start[2].value = owners[i + 1];
        t.owner = owners[i + 1];
        assert_int_equal(sd_queue_ack_take(f->store, "jobs", ids[i], owner, &erec, &t, &srec,
                                           items, &n),
                         SD_OK);
        assert_int_equal(erec.err, SD_OK);
        assert_int_equal(n, i + 1 < JOBS ? 1 : 0);
        if (n == 1) {
            assert_string_equal(items[0].item, ids[i + 1]);
            assert_string_equal(sd_record_get(&items[0].rec, "run", NULL), owners[i + 1]);
            assert_string_equal(sd_record_get(&items[0].rec, "attempts", NULL), "1");
        }
        sd_queue_items_clear(items, n);
    }
    long long cmds = commands_run(f->raw, &scripts, &types) - cmds0;
    scripts -= scripts0;
    fprintf(stderr, "%d jobs: %lld scripts, %lld commands in them (%.1f a job)\n", JOBS,
            scripts, cmds, (double)cmds / JOBS);
    assert_int_equal(scripts, 2 * JOBS + 1);
    assert_int_equal(types - types0, 0);
    assert_true(cmds <= 41 * JOBS);

    /* What the steps left is what they would have left rewriting it all. */
    int64_t count = -1;
    assert_int_equal(sd_store_count_by(f->store, "job", "completed", &count), SD_OK);
    assert_int_equal(count, JOBS);
    assert_int_equal(sd_store_count_by(f->store, "job", "queued", &count), SD_OK);
    assert_int_equal(count, 0);
    assert_int_equal(sd_store_count(f->store, "job", &count), SD_OK);
    assert_int_equal(count, JOBS);
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan(f->store, "job", NULL, 100, &p), SD_OK);
    assert_int_equal(p.count, JOBS);
    sd_page_clear(&p);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(f->store, "job", "j0", 0, &r), SD_OK);
    assert_string_equal(sd_record_get(&r, "status", NULL), "completed");
    assert_string_equal(sd_record_get(&r, "attempts", NULL), "1");
    assert_null(sd_record_get(&r, "run", NULL));
    assert_in_range(r.expires_ms, sd_now_ms() + 500000, sd_now_ms() + 600000);
    sd_record_clear(&r);
}

/* A change with a renewal sets the key's expiry even when the record's
 * index entry already holds it (here: capped by the same deadline), so
 * a TTL cut outside statusd is put right by the next write. */
static void test_renewing_change_sets_the_key_expiry_the_index_already_has(void **state)
{
    fixture *f = *state;
    char deadline[24];
    snprintf(deadline, sizeof deadline, "%lld", (long long)(sd_now_ms() + 60000));
    sd_assign a[] = {{SD_FIELD_DEADLINE, SD_ASSIGN_SET, deadline, strlen(deadline), 0},
                     {"f", SD_ASSIGN_SET, "v1", 2, 0}};
    sd_update u = {.mode = SD_UPDATE_UPSERT, .assign = a, .assign_count = 2, .ttl_ms = 600000};
    assert_int_equal(sd_store_update(f->store, "job", "d1", &u, NULL), SD_OK);
    char *k = key_of(f, "{job:d1}");
    raw_int(RAW(f->raw, "PEXPIRE", k, "5000"));
    a[1].value = "v2";
    assert_int_equal(sd_store_update(f->store, "job", "d1", &u, NULL), SD_OK);
    assert_in_range(raw_int(RAW(f->raw, "PTTL", k)), 30000, 60000);
    assert_value(f->store, "job", "d1", "v2");
    free(k);
}

/* ---- faults ---- */

/* A get on the stopped server: SD_ERR_UNAVAILABLE within the timeout. */
static void assert_unavailable_within_timeout(sd_store *s)
{
    sd_record r = SD_RECORD_INIT;
    int64_t t0 = sd_mono_ms();
    assert_int_equal(sd_store_get(s, "job", "r1", 60000, &r), SD_ERR_UNAVAILABLE);
    int64_t took = sd_mono_ms() - t0;
    assert_int_equal(r.count, 0);
    assert_in_range(took, 0, FAULT_TIMEOUT_MS + 1500);
}

static void test_stopped_server_answers_unavailable_within_timeout(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 0), SD_OK);
    /* Twice per outage: the second call runs on a fresh connection, which
     * must have the command timeout too; and two outages, the second on a
     * connection opened after the first. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(test_redis_kill(&f->own, SIGSTOP), 0);
        assert_unavailable_within_timeout(f->store);
        assert_unavailable_within_timeout(f->store);
        assert_int_equal(test_redis_kill(&f->own, SIGCONT), 0);
        assert_recovers(f->store, "job", "r1");
    }
    assert_value(f->store, "job", "r1", "v");
}

static void test_server_at_maxmemory_refuses_writes_as_full_and_nothing_changes(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 0), SD_OK);
    raw_ok(RAW(f->raw, "CONFIG", "SET", "maxmemory-policy", "noeviction"));
    raw_ok(RAW(f->raw, "CONFIG", "SET", "maxmemory", "1"));
    assert_int_equal(put(f->store, "job", "r2", "v", 60000), SD_ERR_STORE_FULL);
    const char *items[] = {"m"};
    size_t lens[] = {1};
    assert_int_equal(sd_store_list_append(f->store, "chat", "u1", items, lens, 1, 0, 0, NULL),
                     SD_ERR_STORE_FULL);
    sd_rate rate;
    assert_int_equal(sd_store_rate_check(f->store, "k", 1, 60000, &rate), SD_ERR_STORE_FULL);
    assert_value(f->store, "job", "r1", "v");
    raw_ok(RAW(f->raw, "CONFIG", "SET", "maxmemory", "0"));
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(f->store, "job", "r2", 0, &r), SD_ERR_NOT_FOUND);
    int64_t n = -1;
    assert_int_equal(sd_store_count(f->store, "job", &n), SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sd_store_count(f->store, "chat", &n), SD_OK);
    assert_int_equal(n, 0);

    char port[16];
    snprintf(port, sizeof port, "%u", test_free_port());
    raw_ok(RAW(f->raw, "REPLICAOF", "127.0.0.1", port));
    assert_int_equal(put(f->store, "job", "r2", "v", 0), SD_ERR_UNAVAILABLE);
    raw_ok(RAW(f->raw, "REPLICAOF", "NO", "ONE"));
    assert_int_equal(put(f->store, "job", "r2", "v", 0), SD_OK);
    assert_value(f->store, "job", "r2", "v");
}

/* Waits until the server has rewritten its AOF, so every write so far is
 * on disk whatever happens to the process. */
static void sync_aof(redisContext *raw)
{
    redisReply *r = RAW(raw, "BGREWRITEAOF");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    while ((info_number(raw, "persistence", "aof_rewrite_in_progress:") != 0 ||
            info_number(raw, "persistence", "aof_rewrite_scheduled:") != 0) &&
           sd_mono_ms() < until)
        sleep_ms(20);
    assert_int_equal(info_number(raw, "persistence", "aof_rewrite_in_progress:"), 0);
}

static void test_killed_server_is_unavailable_then_recovers_on_restart(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "before", 0), SD_OK);
    sync_aof(f->raw);
    redisFree(f->raw);
    f->raw = NULL;
    assert_int_equal(test_redis_kill(&f->own, SIGKILL), 0);

    sd_record r = SD_RECORD_INIT;
    for (int i = 0; i < 5; i++)
        assert_int_equal(sd_store_get(f->store, "job", "r1", 0, &r), SD_ERR_UNAVAILABLE);
    assert_int_equal(put(f->store, "job", "r2", "lost", 0), SD_ERR_UNAVAILABLE);
    int64_t n = -1;
    assert_int_equal(sd_store_count(f->store, "job", &n), SD_ERR_UNAVAILABLE);
    assert_int_equal(sd_store_ping(f->store), SD_ERR_UNAVAILABLE);

    assert_int_equal(test_redis_restart(&f->own), 0);
    f->raw = raw_connect(f->server);
    assert_recovers(f->store, "job", "r1");
    assert_value(f->store, "job", "r1", "before");
    assert_int_equal(put(f->store, "job", "r2", "after", 0), SD_OK);
    assert_int_equal(sd_store_count(f->store, "job", &n), SD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sd_store_ping(f->store), SD_OK);
}

/* A connect the server's host refuses (nothing listens: a restart) costs
 * a round trip, and starts no backoff: however many were refused while
 * the server was down, the first call once it is back succeeds. With a
 * backoff doubling at each refusal, calls spread over 1.6 s would leave
 * the lane waiting more than a second after the last. */
static void test_first_call_after_a_restart_succeeds_after_refused_connects(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 0), SD_OK);
    redisFree(f->raw);
    f->raw = NULL;
    assert_int_equal(test_redis_kill(&f->own, SIGKILL), 0);
    sd_record r = SD_RECORD_INIT;
    int64_t until = sd_mono_ms() + 1600;
    while (sd_mono_ms() < until) {
        assert_int_equal(sd_store_get(f->store, "job", "r1", 0, &r), SD_ERR_UNAVAILABLE);
        sleep_ms(20);
    }
    assert_int_equal(test_redis_restart(&f->own), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(put(f->store, "job", "r2", "after", 0), SD_OK);
    assert_value(f->store, "job", "r2", "after");
    f->raw = raw_connect(f->server);
}

/* A listening socket on 127.0.0.1:port that never accepts by itself: a
 * connect to it completes, and then nothing answers. */
static int listen_on(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    int one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    return fd;
}

/* How many connections wait on the listening socket fd (closing them). */
static int drain_connections(int fd)
{
    int n = 0, c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

static void test_failed_connects_back_off_then_recover(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f->store, "job", "r1", "v", 0), SD_OK);
    redisFree(f->raw);
    f->raw = NULL;
    assert_int_equal(test_redis_kill(&f->own, SIGKILL), 0);
    /* In the server's place, a socket that takes connections and never
     * answers: each connect attempt of the store is one connection here,
     * and fails when AUTH gets no answer within the timeout. */
    int fd = listen_on(f->own.port);
    sd_record r = SD_RECORD_INIT;
    for (int i = 0; i < 200; i++)
        assert_int_equal(sd_store_get(f->store, "job", "r1", 0, &r), SD_ERR_UNAVAILABLE);
    /* Without a backoff every call would have tried; with it, the calls
     * after a failed attempt fail at once until the backoff passes. */
    int attempts = drain_connections(fd);
    assert_in_range(attempts, 1, 10);
    close(fd);
    /* The server comes back empty (it keeps no data on disk). */
    assert_int_equal(test_redis_restart(&f->own), 0);
    f->raw = raw_connect(f->server);
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    while (sd_store_ping(f->store) != SD_OK && sd_mono_ms() < until)
        sleep_ms(50);
    assert_int_equal(sd_store_ping(f->store), SD_OK);
    assert_int_equal(sd_store_get(f->store, "job", "r1", 0, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(put(f->store, "job", "r1", "again", 0), SD_OK);
    assert_value(f->store, "job", "r1", "again");
}

/* ---- threads ---- */

#define INCR_THREADS 8
#define INCR_EACH 200

typedef struct worker {
    sd_store *s;
    int failures;
} worker;

static void *incr_worker(void *arg)
{
    worker *w = arg;
    sd_assign a = {"n", SD_ASSIGN_INCR, NULL, 0, 1};
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, 60000, false, 0};
    for (int i = 0; i < INCR_EACH; i++)
        if (sd_store_update(w->s, "ns", "counter", &u, NULL) != SD_OK)
            w->failures++;
    return NULL;
}

static void test_threads_incr_through_redis_lose_nothing(void **state)
{
    fixture *f = *state;
    pthread_t threads[INCR_THREADS];
    worker w[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++) {
        w[i] = (worker){f->store, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, incr_worker, &w[i]), 0);
    }
    for (int i = 0; i < INCR_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(f->store, "ns", "counter", 0, &r), SD_OK);
    int64_t v = 0;
    assert_int_equal(sd_record_get_i64(&r, "n", &v), SD_OK);
    assert_int_equal(v, INCR_THREADS * INCR_EACH);
    sd_record_clear(&r);
}

#define HOLDERS 8

typedef struct holder {
    sd_store *s;
    int n;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int *ready;
    int *release;
    sd_err err;
    bool own_value;          /* the get answered this thread's own write */
} holder;

/* Makes calls (a write, then a read of it), then waits, alive, until
 * released. */
static void *holder_main(void *arg)
{
    holder *h = arg;
    char id[32], value[32];
    snprintf(id, sizeof id, "held-%d", h->n);
    snprintf(value, sizeof value, "value-%d", h->n);
    h->err = put(h->s, "ns", id, value, 0);
    sd_record r = SD_RECORD_INIT;
    if (h->err == SD_OK)
        h->err = sd_store_get(h->s, "ns", id, 0, &r);
    const char *got = sd_record_get(&r, "f", NULL);
    h->own_value = got != NULL && strcmp(got, value) == 0;
    sd_record_clear(&r);
    pthread_mutex_lock(h->lock);
    (*h->ready)++;
    pthread_cond_broadcast(h->cond);
    while (!*h->release)
        pthread_cond_wait(h->cond, h->lock);
    pthread_mutex_unlock(h->lock);
    return NULL;
}

static bool clients_at(redisContext *raw, long long want)
{
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS;
    long long n;
    while ((n = info_number(raw, "clients", "connected_clients:")) != want &&
           sd_mono_ms() < until)
        sleep_ms(20);
    return n == want;
}

/* A store opens its two shared connections (the default) and the polls'
 * one, however many threads call it; all close with the store. */
static void test_threads_share_the_stores_few_connections_all_freed_with_it(void **state)
{
    fixture *f = *state;
    long long before = info_number(f->raw, "clients", "connected_clients:");
    sd_store *s = store_for(f->server, "sdt:held:", STORE_TIMEOUT_MS);
    assert_non_null(s);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    int ready = 0, release = 0;
    pthread_t threads[HOLDERS];
    holder h[HOLDERS];
    for (int i = 0; i < HOLDERS; i++) {
        h[i] = (holder){s, i, &lock, &cond, &ready, &release, SD_ERR_INTERNAL, false};
        assert_int_equal(pthread_create(&threads[i], NULL, holder_main, &h[i]), 0);
    }
    pthread_mutex_lock(&lock);
    while (ready < HOLDERS)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < HOLDERS; i++) {
        assert_int_equal(h[i].err, SD_OK);
        assert_true(h[i].own_value);
    }
    /* Every thread alive, each having called: at most the two lanes and
     * the polls' connection. */
    long long opened = info_number(f->raw, "clients", "connected_clients:") - before;
    if (opened > 3)
        fail_msg("%lld connections for %d threads", opened, HOLDERS);

    /* Freed while its threads still live: its connections close. */
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
    assert_true(clients_at(f->raw, before));
    pthread_mutex_lock(&lock);
    release = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < HOLDERS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_true(clients_at(f->raw, before));
}

#define MATCH_THREADS 16
#define MATCH_ROUNDS 100

typedef struct matcher {
    sd_store *s;
    int n;
    int wrong;
    char last_wrong[128];
} matcher;

/* Writes records of its own, reads each back and reads one that does not
 * exist: replies of three shapes, in flight beside the other threads'. */
static void *match_main(void *arg)
{
    matcher *m = arg;
    for (int i = 0; i < MATCH_ROUNDS; i++) {
        char id[48], value[48], missing[48];
        snprintf(id, sizeof id, "m-%d-%d", m->n, i % 10);
        snprintf(value, sizeof value, "thread-%d-round-%d", m->n, i);
        snprintf(missing, sizeof missing, "absent-%d-%d", m->n, i);
        sd_err put_err = put(m->s, "match", id, value, 60000);
        sd_record r = SD_RECORD_INIT;
        sd_err get_err = sd_store_get(m->s, "match", id, 0, &r);
        const char *got = sd_record_get(&r, "f", NULL);
        sd_record none = SD_RECORD_INIT;
        sd_err miss_err = sd_store_get(m->s, "match", missing, 0, &none);
        if (put_err != SD_OK || get_err != SD_OK || got == NULL || strcmp(got, value) != 0 ||
            miss_err != SD_ERR_NOT_FOUND || none.count != 0) {
            m->wrong++;
            snprintf(m->last_wrong, sizeof m->last_wrong, "%s: %s/%s/%s, got %.40s", id,
                     sd_err_name(put_err), sd_err_name(get_err), sd_err_name(miss_err),
                     got != NULL ? got : "(none)");
        }
        sd_record_clear(&r);
        sd_record_clear(&none);
    }
    return NULL;
}

/* Sixteen threads on two connections: their calls meet and go out
 * together (the server's commands far outnumber its reads of client
 * sockets), and each thread gets its own replies. */
static void test_concurrent_calls_on_shared_connections_get_their_own_replies(void **state)
{
    fixture *f = *state;
    long long reads0 = info_number(f->raw, "stats", "total_reads_processed:");
    pthread_t th[MATCH_THREADS];
    matcher m[MATCH_THREADS];
    for (int i = 0; i < MATCH_THREADS; i++) {
        m[i] = (matcher){.s = f->store, .n = i};
        assert_int_equal(pthread_create(&th[i], NULL, match_main, &m[i]), 0);
    }
    int wrong = 0;
    const char *example = "";
    for (int i = 0; i < MATCH_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        wrong += m[i].wrong;
        if (m[i].wrong > 0)
            example = m[i].last_wrong;
    }
    if (wrong != 0)
        fail_msg("%d of %d rounds got a reply that was not theirs (%s)", wrong,
                 MATCH_THREADS * MATCH_ROUNDS, example);
    long long reads = info_number(f->raw, "stats", "total_reads_processed:") - reads0;
    long long calls = 3LL * MATCH_THREADS * MATCH_ROUNDS;
    if (reads >= calls)
        fail_msg("%lld reads of client sockets for %lld calls: none went out together",
                 reads, calls);
}

/* A call right after the server closed the store's connections (as a
 * restart does) runs once and succeeds: its commands never went out on
 * the closed connection. */
static void test_call_after_the_server_closed_the_connections_runs_once(void **state)
{
    fixture *f = *state;
    sd_assign a = {"n", SD_ASSIGN_INCR, NULL, 0, 1};
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &a, 1, 60000, false, 0};
    for (int round = 1; round <= 5; round++) {
        redisReply *r = RAW(f->raw, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        freeReplyObject(r);
        assert_int_equal(sd_store_update(f->store, "ns", "once", &u, NULL), SD_OK);
        sd_record rec = SD_RECORD_INIT;
        assert_int_equal(sd_store_get(f->store, "ns", "once", 0, &rec), SD_OK);
        int64_t v = 0;
        assert_int_equal(sd_record_get_i64(&rec, "n", &v), SD_OK);
        assert_int_equal(v, round);
        sd_record_clear(&rec);
    }
}

/* ---- authentication, options and info ---- */

#define SERVER_PASSWORD "s3cret-Pa55word"

static int setup_password_server(void **state)
{
    test_redis *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->password = SERVER_PASSWORD;
    if (test_redis_start(r) != 0) {
        free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static int teardown_password_server(void **state)
{
    test_redis_stop(*state);
    free(*state);
    return 0;
}

static void test_password_is_used_and_never_shown(void **state)
{
    test_redis *r = *state;
    char err[256], url[300];
    static const char wrong[] = "not-the-Pa55word";
    sd_redis_opts o = opts_for(r, "sdt:auth:", STORE_TIMEOUT_MS);

    o.password = wrong;
    memset(err, 0, sizeof err);
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_UNAVAILABLE);
    assert_true(err[0] != '\0');
    assert_null(strstr(err, wrong));
    assert_null(strstr(err, SERVER_PASSWORD));

    o.password = NULL;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_UNAVAILABLE);
    assert_true(err[0] != '\0');

    o.password = SERVER_PASSWORD;
    sd_store *s = NULL;
    assert_int_equal(sd_redis_store_new(&o, &s, err, sizeof err), SD_OK);
    assert_non_null(s);
    assert_int_equal(sd_store_ping(s), SD_OK);
    sd_store_info info;
    sd_store_info_get(s, &info);
    assert_string_equal(info.backend, "redis");
    snprintf(url, sizeof url, "redis://:***@127.0.0.1:%u/0", r->port);
    assert_string_equal(info.url, url);
    sd_store_free(s);

    o.username = "default";
    assert_int_equal(sd_redis_store_new(&o, &s, err, sizeof err), SD_OK);
    assert_non_null(s);
    assert_int_equal(put(s, "ns", "r1", "v", 0), SD_OK);
    assert_value(s, "ns", "r1", "v");
    sd_store_info_get(s, &info);
    snprintf(url, sizeof url, "redis://default:***@127.0.0.1:%u/0", r->port);
    assert_string_equal(info.url, url);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
}

static void test_info_reports_redis_url_and_name(void **state)
{
    fixture *f = *state;
    sd_store_info info;
    memset(&info, 'x', sizeof info);
    sd_store_info_get(f->store, &info);
    assert_string_equal(info.backend, "redis");
    char url[300];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u/0", f->server->port);
    assert_string_equal(info.url, url);
    assert_string_equal(f->store->ops->name, "redis");
}

static void test_selected_db_holds_the_keys(void **state)
{
    fixture *f = *state;
    sd_redis_opts o = opts_for(f->server, "sdt:db:", STORE_TIMEOUT_MS);
    o.db = 5;
    char err[256];
    sd_store *s = NULL;
    assert_int_equal(sd_redis_store_new(&o, &s, err, sizeof err), SD_OK);
    assert_non_null(s);
    assert_int_equal(put(s, "ns", "r1", "v", 0), SD_OK);
    assert_int_equal(raw_int(RAW(f->raw, "EXISTS", "sdt:db:{ns:r1}")), 0);
    raw_ok(RAW(f->raw, "SELECT", "5"));
    assert_int_equal(raw_int(RAW(f->raw, "EXISTS", "sdt:db:{ns:r1}")), 1);
    raw_ok(RAW(f->raw, "SELECT", "0"));
    sd_store_info info;
    sd_store_info_get(s, &info);
    char url[300];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u/5", f->server->port);
    assert_string_equal(info.url, url);
    assert_int_equal(sd_store_clear(s, NULL), SD_OK);
    sd_store_free(s);
}

static void test_unreachable_server_fails_creation(void **state)
{
    (void)state;
    test_redis nobody = {0};
    nobody.port = test_free_port();
    assert_true(nobody.port != 0);
    sd_redis_opts o = opts_for(&nobody, "sdt:x:", STORE_TIMEOUT_MS);
    char err[256] = "";
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot connect"));
}

static void test_bad_options_fail_creation(void **state)
{
    fixture *f = *state;
    char err[256];
    assert_int_equal(store_refused(NULL, err, sizeof err), SD_ERR_INVALID);
    assert_true(err[0] != '\0');
    sd_redis_opts good = opts_for(f->server, "sdt:opt:", STORE_TIMEOUT_MS), o;
    o = good;
    o.prefix = "";
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.prefix = NULL;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.host = NULL;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.port = 0;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.port = 70000;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.db = -1;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.timeout_ms = 0;
    assert_int_equal(store_refused(&o, NULL, 0), SD_ERR_INVALID);
    o = good;
    o.conns = -1;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    o = good;
    o.conns = 10001;
    assert_int_equal(store_refused(&o, err, sizeof err), SD_ERR_INVALID);
    sd_store *s = NULL;
    assert_int_equal(sd_redis_store_new(&good, &s, NULL, 0), SD_OK);
    assert_non_null(s);
    sd_store_free(s);
}

#define ON_STORE(f) cmocka_unit_test_setup_teardown(f, setup_store, teardown_store)
#define ON_OWN(f, setup) cmocka_unit_test_setup_teardown(f, setup, teardown_store)

int main(void)
{
    /* As statusd's main does: a write to a connection the server closed
     * must fail with EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    sd_store_contract_set_factory(make_redis_store, &group_server);
    size_t ncontract = 0;
    const struct CMUnitTest *contract = sd_store_contract_tests(&ncontract);

    static const struct CMUnitTest own[] = {
        ON_STORE(test_keys_carry_prefix_and_expiry),
        ON_STORE(test_namespace_with_colon_names_its_own_records),
        ON_STORE(test_ids_with_braces_and_binary_values_round_trip),
        ON_STORE(test_poll_is_one_round_trip_and_renews_pttl),
        ON_STORE(test_poll_within_the_renewal_slack_runs_no_script),
        ON_STORE(test_scripts_reload_after_script_flush),
        ON_STORE(test_clear_leaves_keys_outside_the_prefix),
        ON_STORE(test_expired_records_leave_the_indexes),
        ON_STORE(test_expired_records_leave_the_indexes_unread),
        ON_STORE(test_one_sweep_drops_a_backlog_of_several_batches),
        ON_STORE(test_count_by_drops_at_most_twenty_batches_a_call),
        ON_STORE(test_records_removed_behind_the_store_leave_listing),
        ON_STORE(test_job_steps_cost_two_scripts_each_and_bounded_commands),
        ON_STORE(test_renewing_change_sets_the_key_expiry_the_index_already_has),
        ON_STORE(test_threads_incr_through_redis_lose_nothing),
        ON_STORE(test_threads_share_the_stores_few_connections_all_freed_with_it),
        ON_STORE(test_concurrent_calls_on_shared_connections_get_their_own_replies),
        ON_STORE(test_call_after_the_server_closed_the_connections_runs_once),
        ON_STORE(test_info_reports_redis_url_and_name),
        ON_STORE(test_selected_db_holds_the_keys),
        ON_STORE(test_bad_options_fail_creation),
        cmocka_unit_test(test_unreachable_server_fails_creation),
        cmocka_unit_test_setup_teardown(test_password_is_used_and_never_shown,
                                        setup_password_server, teardown_password_server),
        ON_OWN(test_stopped_server_answers_unavailable_within_timeout, setup_own_server),
        ON_OWN(test_server_at_maxmemory_refuses_writes_as_full_and_nothing_changes,
               setup_own_server),
        ON_OWN(test_failed_connects_back_off_then_recover, setup_own_password_server),
        ON_OWN(test_first_call_after_a_restart_succeeds_after_refused_connects,
               setup_own_server),
        ON_OWN(test_killed_server_is_unavailable_then_recovers_on_restart,
               setup_own_aof_server),
    };
    size_t nown = sizeof own / sizeof *own;
    static struct CMUnitTest all[MAX_TESTS];
    if (ncontract + nown > MAX_TESTS) {
        fprintf(stderr, "test_store_redis: raise MAX_TESTS\n");
        return 1;
    }
    memcpy(all, contract, ncontract * sizeof *all);
    memcpy(all + ncontract, own, nown * sizeof *all);
    return _cmocka_run_group_tests("store_redis", all, ncontract + nown,
                                   group_setup, group_teardown) != 0;
}
