/*
 * Idempotency keys (statusd/idempotency.h) over both stores: the memory
 * store, and the Redis store on a throwaway redis-server (each test gets
 * its own key prefix). Claims, replays, mismatches, claims under way and
 * abandoned, release and done, lifetimes, scopes, bad arguments, and
 * racing claims of one key.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "redis_server.h"
#include "test_stores.h"
#include "statusd/idempotency.h"
#include "statusd/store.h"
#include "statusd/util.h"

#define TTL_MS 60000
#define RACERS 8

static test_redis server;
static unsigned prefix_seq;

typedef struct fixture {
    sd_store *store;
} fixture;

/* ---- fixtures ---- */

static int memory_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    sd_memory_opts opts = {0, 0, 0};
    sd_err e = sd_memory_store_new(&opts, &f->store);
    *state = f;
    return e == SD_OK ? 0 : -1;
}

static int redis_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "sdt:idem%u:", ++prefix_seq);
    sd_redis_opts o = {"127.0.0.1", (int)server.port, 0, NULL, NULL, 5000, prefix, 0, 0};
    char err[256];
    sd_err e = sd_redis_store_new(&o, &f->store, err, sizeof err);
    if (e != SD_OK)
        fprintf(stderr, "sd_redis_store_new: %s\n", err);
    *state = f;
    return e == SD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f != NULL && f->store != NULL)
        sd_store_free(f->store);
    free(f);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    memset(&server, 0, sizeof server);
    return test_redis_start(&server);
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&server);
    return 0;
}

static sd_store *store_of(void **state) { return ((fixture *)*state)->store; }

/* ---- loaders ---- */

/* A target store for the tests: which targets exist, and what was asked. */
typedef struct targets {
    const char *live[4];     /* targets that exist */
    sd_err fail;             /* when not SD_OK, every load answers this */
    int calls;
    char last[SD_IDEM_TARGET_MAX + 1];
} targets;

static sd_err load(void *arg, const char *target)
{
    targets *t = arg;
    t->calls++;
    snprintf(t->last, sizeof t->last, "%s", target);
    if (t->fail != SD_OK)
        return t->fail;
    for (size_t i = 0; i < 4 && t->live[i] != NULL; i++)
        if (strcmp(t->live[i], target) == 0)
            return SD_OK;
    return SD_ERR_NOT_FOUND;
}

static sd_idem_outcome begin(sd_store *s, const char *scope, const char *key, uint64_t fp,
                             const char *target, targets *t, sd_idem_claim *c)
{
    assert_int_equal(sd_idem_begin(s, scope, key, fp, target, TTL_MS, load, t, c), SD_OK);
    return c->outcome;
}

/* ---- keys and fingerprints ---- */

static void test_keys_are_one_to_255_printable_ascii_characters(void **state)
{
    (void)state;
    char longest[256], too_long[257];
    memset(longest, 'k', 255);
    longest[255] = '\0';
    memset(too_long, 'k', 256);
    too_long[256] = '\0';
    const char *good[] = {"a", "order-42", "{braces}", "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`|",
                          longest};
    const char *bad[] = {"", "a b", "a\tb", "caf\xc3\xa9", "new\nline", "\x7f", too_long};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(sd_idem_key_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sd_idem_key_valid(bad[i]))
            fail_msg("key %zu was taken as valid", i);
    assert_false(sd_idem_key_valid(NULL));
}

static void test_fingerprint_covers_scope_and_every_body_byte(void **state)
{
    (void)state;
    uint64_t a = sd_idem_fingerprint("research", "{\"query\":\"q\"}", 13);
    assert_true(a == sd_idem_fingerprint("research", "{\"query\":\"q\"}", 13));
    assert_true(a != sd_idem_fingerprint("uploads", "{\"query\":\"q\"}", 13));
    assert_true(a != sd_idem_fingerprint("research", "{\"query\":\"r\"}", 13));
    assert_true(a != sd_idem_fingerprint("research", "{\"query\": \"q\"}", 14));
    /* the scope ends where the body starts */
    assert_true(sd_idem_fingerprint("ab", "c", 1) != sd_idem_fingerprint("a", "bc", 2));
}

/* ---- claims ---- */

static void test_first_claim_is_new_and_the_same_body_replays_its_target(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{"job-1"}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k1", 11, "job-1", &t, &c), SD_IDEM_NEW);
    assert_int_equal(t.calls, 0);
    assert_int_equal(sd_idem_done(s, "research", "k1", "job-1"), SD_OK);
    /* a second request brings its own new target; it gets the first's */
    assert_int_equal(begin(s, "research", "k1", 11, "job-2", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "job-1");
    assert_int_equal(t.calls, 1);
    assert_string_equal(t.last, "job-1");
    assert_int_equal(begin(s, "research", "k1", 11, "job-3", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "job-1");
}

static void test_another_fingerprint_is_a_mismatch_and_changes_nothing(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{"job-1"}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 1, "job-1", &t, &c), SD_IDEM_NEW);
    assert_int_equal(begin(s, "research", "k", 2, "job-2", &t, &c), SD_IDEM_MISMATCH);
    assert_int_equal(t.calls, 0);
    assert_int_equal(begin(s, "research", "k", 1, "job-3", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "job-1");
}

static void test_claim_whose_target_is_not_made_yet_is_busy(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "uploads", "k", 5, "p/r", &t, &c), SD_IDEM_NEW);
    assert_int_equal(begin(s, "uploads", "k", 5, "p/r", &t, &c), SD_IDEM_BUSY);
    assert_int_equal(t.calls, 1);
    /* once made, it replays */
    t.live[0] = "p/r";
    assert_int_equal(begin(s, "uploads", "k", 5, "p/r", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "p/r");
}

static void test_claim_whose_target_expired_after_done_is_claimed_anew(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 5, "old", &t, &c), SD_IDEM_NEW);
    assert_int_equal(sd_idem_done(s, "research", "k", "old"), SD_OK);
    /* "old" is gone: the key is the new request's */
    assert_int_equal(begin(s, "research", "k", 5, "new", &t, &c), SD_IDEM_NEW);
    assert_string_equal(t.last, "old");
    t.live[0] = "new";
    assert_int_equal(begin(s, "research", "k", 5, "third", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "new");
}

/* A pending claim made SD_IDEM_PENDING_GRACE_MS and more ago, written as
 * the claim record is (see idempotency.c): its request died. */
static void test_claim_abandoned_past_the_grace_period_is_claimed_anew(void **state)
{
    sd_store *s = store_of(state);
    char then[24], fp[17];
    snprintf(then, sizeof then, "%lld",
             (long long)(sd_now_ms() - SD_IDEM_PENDING_GRACE_MS - 1000));
    snprintf(fp, sizeof fp, "%016llx", 9ULL);
    sd_assign a[] = {
        {.name = "fp", .op = SD_ASSIGN_SET, .value = fp, .len = 16},
        {.name = "target", .op = SD_ASSIGN_SET, .value = "dead", .len = 4},
        {.name = "claimed_ms", .op = SD_ASSIGN_SET, .value = then, .len = strlen(then)},
        {.name = "state", .op = SD_ASSIGN_SET, .value = "pending", .len = 7},
    };
    sd_update u = {.mode = SD_UPDATE_CREATE, .assign = a, .assign_count = 4,
                   .ttl_ms = TTL_MS};
    /* "k" is 6b in hex */
    assert_int_equal(sd_store_update(s, "idempotency", "research:6b", &u, NULL), SD_OK);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 9, "alive", &t, &c), SD_IDEM_NEW);
    assert_string_equal(t.last, "dead");
    /* and the key is "alive"'s now */
    assert_int_equal(begin(s, "research", "k", 9, "other", &t, &c), SD_IDEM_BUSY);
    assert_string_equal(t.last, "alive");
}

static void test_release_frees_the_key_but_only_for_its_own_target(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{"mine"}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 1, "mine", &t, &c), SD_IDEM_NEW);
    assert_int_equal(sd_idem_release(s, "research", "k", "someone-else"), SD_OK);
    assert_int_equal(begin(s, "research", "k", 1, "x", &t, &c), SD_IDEM_REPLAY);
    assert_int_equal(sd_idem_release(s, "research", "k", "mine"), SD_OK);
    assert_int_equal(begin(s, "research", "k", 2, "fresh", &t, &c), SD_IDEM_NEW);
    /* releasing what is gone is no error */
    assert_int_equal(sd_idem_release(s, "research", "never", "x"), SD_OK);
    assert_int_equal(sd_idem_done(s, "research", "never", "x"), SD_OK);
}

static void test_done_for_another_target_leaves_the_claim_pending(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 1, "mine", &t, &c), SD_IDEM_NEW);
    assert_int_equal(sd_idem_done(s, "research", "k", "not-mine"), SD_OK);
    assert_int_equal(begin(s, "research", "k", 1, "x", &t, &c), SD_IDEM_BUSY);
}

static void test_claim_expires_after_its_ttl(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{"a"}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, "a", 100, load, &t, &c), SD_OK);
    assert_int_equal(c.outcome, SD_IDEM_NEW);
    struct timespec ts = {0, 600 * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
    /* another body would be a mismatch while the claim lived */
    assert_int_equal(begin(s, "research", "k", 2, "b", &t, &c), SD_IDEM_NEW);
    assert_int_equal(t.calls, 0);
}

static void test_scopes_do_not_share_keys(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{"job", "p/r"}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "same", 1, "job", &t, &c), SD_IDEM_NEW);
    assert_int_equal(begin(s, "uploads", "same", 1, "p/r", &t, &c), SD_IDEM_NEW);
    assert_int_equal(begin(s, "uploads", "same", 1, "x", &t, &c), SD_IDEM_REPLAY);
    assert_string_equal(c.target, "p/r");
}

static void test_load_errors_are_returned(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    assert_int_equal(begin(s, "research", "k", 1, "a", &t, &c), SD_IDEM_NEW);
    t.fail = SD_ERR_UNAVAILABLE;
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, "b", TTL_MS, load, &t, &c),
                     SD_ERR_UNAVAILABLE);
}

static void test_bad_arguments_are_invalid(void **state)
{
    sd_store *s = store_of(state);
    targets t = {{NULL}, SD_OK, 0, ""};
    sd_idem_claim c;
    char long_target[SD_IDEM_TARGET_MAX + 2];
    memset(long_target, 't', SD_IDEM_TARGET_MAX + 1);
    long_target[SD_IDEM_TARGET_MAX + 1] = '\0';
    assert_int_equal(sd_idem_begin(s, "research", "a b", 1, "x", TTL_MS, load, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "", "k", 1, "x", TTL_MS, load, &t, &c), SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "Research", "k", 1, "x", TTL_MS, load, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, "", TTL_MS, load, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, long_target, TTL_MS, load, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, "x", 0, load, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_begin(s, "research", "k", 1, "x", TTL_MS, NULL, &t, &c),
                     SD_ERR_INVALID);
    assert_int_equal(sd_idem_release(s, "research", "", "x"), SD_ERR_INVALID);
    assert_int_equal(sd_idem_done(s, "research", "k", ""), SD_ERR_INVALID);
    assert_int_equal(t.calls, 0);
    /* nothing was claimed */
    assert_int_equal(begin(s, "research", "k", 1, "x", &t, &c), SD_IDEM_NEW);
}

/* ---- racing claims ---- */

typedef struct racer {
    sd_store *store;
    pthread_barrier_t *start;
    char target[24];
    sd_err err;
    sd_idem_claim claim;
} racer;

/* Every target exists: a loser replays whoever won. */
static sd_err load_any(void *arg, const char *target)
{
    (void)arg;
    (void)target;
    return SD_OK;
}

static void *racer_main(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    r->err = sd_idem_begin(r->store, "research", "race", 77, r->target, TTL_MS, load_any, NULL,
                           &r->claim);
    return NULL;
}

static void test_racing_claims_of_one_key_have_one_winner(void **state)
{
    sd_store *s = store_of(state);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    racer r[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].store = s;
        r[i].start = &start;
        snprintf(r[i].target, sizeof r[i].target, "target-%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    int winner = -1;
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(r[i].err, SD_OK);
        if (r[i].claim.outcome == SD_IDEM_NEW) {
            assert_int_equal(winner, -1);
            winner = i;
        } else {
            assert_int_equal(r[i].claim.outcome, SD_IDEM_REPLAY);
        }
    }
    assert_true(winner >= 0);
    for (int i = 0; i < RACERS; i++)
        if (i != winner)
            assert_string_equal(r[i].claim.target, r[winner].target);
}

/* ---- the group ---- */

#define ON(test, setup) cmocka_unit_test_setup_teardown(test, setup, teardown)
#define ON_BOTH(test) TEST_ON_BOTH(test, memory_setup, redis_setup, teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_one_to_255_printable_ascii_characters),
        cmocka_unit_test(test_fingerprint_covers_scope_and_every_body_byte),
        ON_BOTH(test_first_claim_is_new_and_the_same_body_replays_its_target),
        ON_BOTH(test_another_fingerprint_is_a_mismatch_and_changes_nothing),
        ON_BOTH(test_claim_whose_target_is_not_made_yet_is_busy),
        ON_BOTH(test_claim_whose_target_expired_after_done_is_claimed_anew),
        ON_BOTH(test_claim_abandoned_past_the_grace_period_is_claimed_anew),
        ON_BOTH(test_release_frees_the_key_but_only_for_its_own_target),
        ON_BOTH(test_done_for_another_target_leaves_the_claim_pending),
        ON_BOTH(test_claim_expires_after_its_ttl),
        ON_BOTH(test_scopes_do_not_share_keys),
        ON_BOTH(test_load_errors_are_returned),
        ON_BOTH(test_bad_arguments_are_invalid),
        ON_BOTH(test_racing_claims_of_one_key_have_one_winner),
    };
    return cmocka_run_group_tests_name("idempotency", tests, group_setup, group_teardown);
}
