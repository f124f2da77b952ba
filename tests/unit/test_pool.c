/*
 * Worker pool: exactly-once runs of what fill hands over, fills sized to
 * the idle workers and never two at once, kicks and idle polling with a
 * growing interval, cancel flags, the drain (items filled but not started
 * go back at once, running ones get their grace period, then the
 * shutdown flag) and bad inputs. Runs block on a permit count or on
 * their cancel flag and fill reads a source the test controls, so every
 * test steers the pool through states it waits for; time appears only as
 * liveness bounds on those waits, as drain deadlines that runs blocked on
 * their flag cannot beat, and as lower bounds on the gaps between idle
 * polls (which a slow machine only makes longer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/handler.h"
#include "statusd/pool.h"
#include "statusd/util.h"

#define RECORDS_MAX 16
#define SOURCE_MAX 16384
#define LIVENESS_MS 30000   /* bound on any wait; reached only on a bug */
#define NEVER_MS 3600000    /* a poll interval no test waits out */

typedef struct fixture {
    pthread_mutex_t lock;
    pthread_cond_t changed;        /* any field below changed */
    /* the source fill takes from */
    char (*source)[SD_POOL_ITEM_MAX];
    size_t src_head, src_count;
    bool fill_gate;                /* fill blocks while set */
    size_t fills;                  /* fill calls */
    size_t gated;                  /* fill calls that met the gate closed */
    size_t fill_max[RECORDS_MAX];  /* max of each fill call */
    int64_t fill_at[RECORDS_MAX];  /* monotonic ms of each fill call */
    int filling, max_filling;      /* fills in progress, and the most at once */
    /* runs */
    long permits;                  /* gated runs allowed to return; -1 any */
    size_t started;
    size_t finished;
    char started_items[RECORDS_MAX][SD_POOL_ITEM_MAX];
    char started_tags[RECORDS_MAX][SD_POOL_ITEM_MAX];
    int seen[RECORDS_MAX];         /* flag each run returned with, by start */
    size_t nleft;
    char left[RECORDS_MAX][SD_POOL_ITEM_MAX];
    atomic_uint *counts;           /* run_count: runs per item number */
    size_t ncounts;
    atomic_size_t done;            /* run_count / run_chain: runs ended */
    size_t unset_seen;             /* run_sees_pool: runs that found pool unset */
    sd_pool *pool;
} fixture;

/* pthread_create interposer: fails the call numbered create_fail_at
 * (from 0) with EAGAIN, passes every other call to the next definition. */
static atomic_int create_calls;
static atomic_int create_fail_at = -1;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
                         void *(*)(void *), void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg)
{
    int call = atomic_fetch_add(&create_calls, 1);
    if (call == atomic_load(&create_fail_at))
        return EAGAIN;
    void *sym = dlsym(RTLD_NEXT, "pthread_create");
    if (sym == NULL)
        return ENOSYS;
    create_fn real;
    memcpy(&real, &sym, sizeof real);
    return real(thread, attr, start, arg);
}

static void check(int rc)
{
    if (rc != 0 && rc != ETIMEDOUT)
        abort();   /* worker threads cannot use cmocka's asserts */
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
        if (errno != EINTR)
            abort();
    }
}

/* Waits on f->changed for at most a few milliseconds: runs also poll their
 * cancel flag, which the pool sets without signalling f->changed. */
static void fixture_nap(fixture *f)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        abort();
    ts.tv_nsec += 2 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    check(pthread_cond_timedwait(&f->changed, &f->lock, &ts));
}

/* True once *counter (guarded by f->lock) reaches n. */
static bool wait_count(fixture *f, const size_t *counter, size_t n)
{
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    check(pthread_mutex_lock(&f->lock));
    while (*counter < n && sd_mono_ms() < deadline)
        fixture_nap(f);
    bool reached = *counter >= n;
    check(pthread_mutex_unlock(&f->lock));
    return reached;
}

static bool wait_done(fixture *f, size_t n)
{
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    while (atomic_load(&f->done) < n && sd_mono_ms() < deadline)
        sleep_ms(1);
    return atomic_load(&f->done) == n;
}

/* True once the pool's stats read exactly waiting and busy: a run's own
 * records are written before the pool counts it as ended. */
static bool wait_stats(sd_pool *p, size_t waiting, size_t busy)
{
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    for (;;) {
        size_t w, b;
        sd_pool_stats(p, &w, &b);
        if (w == waiting && b == busy)
            return true;
        if (sd_mono_ms() >= deadline)
            return false;
        sleep_ms(1);
    }
}

static void grant(fixture *f, long permits)
{
    check(pthread_mutex_lock(&f->lock));
    f->permits = permits < 0 ? -1 : f->permits + permits;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
}

/* Adds item to the source (without a kick). */
static void source_add(fixture *f, const char *item)
{
    check(pthread_mutex_lock(&f->lock));
    if (f->src_count == SOURCE_MAX)
        abort();
    snprintf(f->source[(f->src_head + f->src_count++) % SOURCE_MAX], SD_POOL_ITEM_MAX,
             "%s", item);
    check(pthread_mutex_unlock(&f->lock));
}

static void set_fill_gate(fixture *f, bool closed)
{
    check(pthread_mutex_lock(&f->lock));
    f->fill_gate = closed;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
}

/* Hands out up to max items of the source, tagged "tag:<name>", after
 * the gate opens; records each call. */
static size_t fill_source(void *arg, sd_pool_item *items, size_t max)
{
    fixture *f = arg;
    check(pthread_mutex_lock(&f->lock));
    size_t call = f->fills++;
    if (call < RECORDS_MAX) {
        f->fill_max[call] = max;
        f->fill_at[call] = sd_mono_ms();
    }
    if (++f->filling > f->max_filling)
        f->max_filling = f->filling;
    if (f->fill_gate)
        f->gated++;
    check(pthread_cond_broadcast(&f->changed));
    while (f->fill_gate)
        fixture_nap(f);
    size_t n = 0;
    while (n < max && f->src_count > 0) {
        memcpy(items[n].name, f->source[f->src_head], SD_POOL_ITEM_MAX);
        snprintf(items[n].tag, SD_POOL_ITEM_MAX, "tag:%.50s", items[n].name);
        items[n].data = NULL;
        f->src_head = (f->src_head + 1) % SOURCE_MAX;
        f->src_count--;
        n++;
    }
    f->filling--;
    check(pthread_mutex_unlock(&f->lock));
    return n;
}

/* Records its start, then returns once a permit is granted (consuming it)
 * or its cancel flag is set, recording the flag it returns with. */
static bool run_gated(void *arg, sd_pool_item *item, const atomic_int *cancel,
                      sd_pool_item *next)
{
    (void)next;
    fixture *f = arg;
    check(pthread_mutex_lock(&f->lock));
    size_t me = f->started++;
    if (me < RECORDS_MAX) {
        snprintf(f->started_items[me], SD_POOL_ITEM_MAX, "%s", item->name);
        snprintf(f->started_tags[me], SD_POOL_ITEM_MAX, "%s", item->tag);
    }
    check(pthread_cond_broadcast(&f->changed));
    while (atomic_load(cancel) == SD_RUN_GO && f->permits == 0)
        fixture_nap(f);
    if (atomic_load(cancel) == SD_RUN_GO && f->permits > 0)
        f->permits--;
    if (me < RECORDS_MAX)
        f->seen[me] = atomic_load(cancel);
    f->finished++;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
    return false;
}

/* Counts a run of the item numbered by its name. */
static bool run_count(void *arg, sd_pool_item *item, const atomic_int *cancel,
                      sd_pool_item *next)
{
    (void)next;
    fixture *f = arg;
    int64_t n;
    (void)cancel;
    if (sd_parse_i64(item->name, 0, (int64_t)f->ncounts - 1, &n) != SD_OK)
        abort();
    atomic_fetch_add(&f->counts[n], 1u);
    atomic_fetch_add(&f->done, 1);
    return false;
}

/* Counts the runs that find f->pool, through which a run reaches its
 * pool, not yet set. */
static bool run_sees_pool(void *arg, sd_pool_item *item, const atomic_int *cancel,
                          sd_pool_item *next)
{
    (void)item;
    (void)cancel;
    (void)next;
    fixture *f = arg;
    sd_pool *p = f->pool;
    check(pthread_mutex_lock(&f->lock));
    if (p == NULL)
        f->unset_seen++;
    f->finished++;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
    return false;
}

/* Item "n" adds "n-1" to the source and kicks from inside the run, down
 * to "0", reading stats and canceling an unknown item on the way. */
static bool run_chain(void *arg, sd_pool_item *item, const atomic_int *cancel,
                      sd_pool_item *next)
{
    (void)next;
    fixture *f = arg;
    int64_t n;
    (void)cancel;
    if (sd_parse_i64(item->name, 0, 100, &n) != SD_OK)
        abort();
    if (n > 0) {
        char name[SD_POOL_ITEM_MAX];
        snprintf(name, sizeof name, "%lld", (long long)(n - 1));
        size_t busy = 0;
        sd_pool_stats(f->pool, NULL, &busy);
        if (busy != 1 || sd_pool_cancel(f->pool, "nobody", NULL, SD_RUN_CANCEL))
            abort();
        source_add(f, name);
        sd_pool_kick(f->pool);
    }
    atomic_fetch_add(&f->done, 1);
    return false;
}

/* Takes the source's next item into *next (tag "next:<name>"); false
 * when it is empty. */
static bool source_next(fixture *f, sd_pool_item *next)
{
    check(pthread_mutex_lock(&f->lock));
    bool got = f->src_count > 0;
    if (got) {
        snprintf(next->name, SD_POOL_ITEM_MAX, "%s", f->source[f->src_head]);
        snprintf(next->tag, SD_POOL_ITEM_MAX, "next:%.50s", next->name);
        next->data = NULL;
        f->src_head = (f->src_head + 1) % SOURCE_MAX;
        f->src_count--;
    }
    check(pthread_mutex_unlock(&f->lock));
    return got;
}

/* Records its run, then brings the source's next item when the pool
 * wants one, as a worker that ends a run in a step that takes the next. */
static bool run_bring(void *arg, sd_pool_item *item, const atomic_int *cancel,
                      sd_pool_item *next)
{
    fixture *f = arg;
    (void)cancel;
    check(pthread_mutex_lock(&f->lock));
    size_t me = f->started++;
    if (me < RECORDS_MAX) {
        snprintf(f->started_items[me], SD_POOL_ITEM_MAX, "%s", item->name);
        snprintf(f->started_tags[me], SD_POOL_ITEM_MAX, "%s", item->tag);
    }
    f->finished++;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
    atomic_fetch_add(&f->done, 1);
    return sd_pool_wants_next(f->pool) && source_next(f, next);
}

/* run_gated, then brings the source's next item whatever the pool says:
 * as a step that asked before a drain began and answered after. */
static bool run_gated_bring(void *arg, sd_pool_item *item, const atomic_int *cancel,
                            sd_pool_item *next)
{
    (void)run_gated(arg, item, cancel, NULL);
    return source_next(arg, next);
}

static void record_leftover(void *arg, sd_pool_item *item)
{
    fixture *f = arg;
    check(pthread_mutex_lock(&f->lock));
    if (f->nleft < RECORDS_MAX)
        snprintf(f->left[f->nleft], SD_POOL_ITEM_MAX, "%s", item->name);
    f->nleft++;
    check(pthread_cond_broadcast(&f->changed));
    check(pthread_mutex_unlock(&f->lock));
}

/* A pool of workers over the fixture's source, in f->pool; poll_min_ms 0
 * is the pool's default. */
static sd_err pool_start(fixture *f, size_t workers, sd_pool_run_fn run,
                         int64_t poll_min_ms, int64_t poll_max_ms)
{
    sd_pool_opts o = {.workers = workers, .fill = fill_source, .run = run,
                      .leftover = record_leftover, .arg = f,
                      .poll_min_ms = poll_min_ms, .poll_max_ms = poll_max_ms};
    return sd_pool_new(&o, &f->pool);
}

/* A drain on its own thread, so the test can act while it waits. */
typedef struct drain_call {
    fixture *f;
    int64_t timeout_ms;
    size_t stopped;
    size_t left_on_return;   /* leftovers recorded when it returned */
    pthread_t thread;
} drain_call;

static void *drain_main(void *opaque)
{
    drain_call *c = opaque;
    c->stopped = sd_pool_drain(c->f->pool, c->timeout_ms);
    check(pthread_mutex_lock(&c->f->lock));
    c->left_on_return = c->f->nleft;
    check(pthread_mutex_unlock(&c->f->lock));
    return NULL;
}

/* Starts a drain and waits until it began. */
static void drain_start(drain_call *c, fixture *f, int64_t timeout_ms)
{
    *c = (drain_call){.f = f, .timeout_ms = timeout_ms, .stopped = 99,
                      .left_on_return = 99};
    assert_int_equal(pthread_create(&c->thread, NULL, drain_main, c), 0);
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    while (!sd_pool_stopping(f->pool) && sd_mono_ms() < deadline)
        sleep_ms(1);
    assert_true(sd_pool_stopping(f->pool));
}

/* *v read under the fixture's lock. */
static size_t locked(fixture *f, const size_t *v)
{
    check(pthread_mutex_lock(&f->lock));
    size_t n = *v;
    check(pthread_mutex_unlock(&f->lock));
    return n;
}

static int setup(void **state)
{
    fixture *f = malloc(sizeof *f);
    if (f == NULL)
        return -1;
    *f = (fixture){.lock = PTHREAD_MUTEX_INITIALIZER,
                   .changed = PTHREAD_COND_INITIALIZER};
    f->source = calloc(SOURCE_MAX, sizeof *f->source);
    if (f->source == NULL) {
        free(f);
        return -1;
    }
    atomic_init(&f->done, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    set_fill_gate(f, false);
    sd_pool_free(f->pool);   /* flags blocked runs, which then return */
    free(f->counts);
    free(f->source);
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

/* ---- start ---- */

static void test_new_rejects_missing_options_fill_or_run(void **state)
{
    fixture *f = *state;
    sd_pool *p = NULL;
    assert_int_equal(sd_pool_new(NULL, &p), SD_ERR_INVALID);
    assert_null(p);
    sd_pool_opts o = {.workers = 2, .fill = NULL, .run = run_gated, .arg = f};
    assert_int_equal(sd_pool_new(&o, &p), SD_ERR_INVALID);
    assert_null(p);
    o.fill = fill_source;
    o.run = NULL;
    assert_int_equal(sd_pool_new(&o, &p), SD_ERR_INVALID);
    assert_null(p);
    assert_int_equal(f->fills, 0);
}

static void test_new_stops_started_workers_when_one_cannot_start(void **state)
{
    fixture *f = *state;
    atomic_store(&create_calls, 0);
    atomic_store(&create_fail_at, 2);
    sd_err e = pool_start(f, 4, run_gated, 0, 0);
    atomic_store(&create_fail_at, -1);
    assert_int_equal(e, SD_ERR_INTERNAL);
    assert_null(f->pool);
    assert_int_equal(atomic_load(&create_calls), 3);
    assert_int_equal(f->started, 0);
}

/* ---- filling ---- */

static void test_each_item_runs_exactly_once(void **state)
{
    fixture *f = *state;
    enum { ITEMS = 10000 };
    f->ncounts = ITEMS;
    f->counts = calloc(ITEMS, sizeof *f->counts);
    assert_non_null(f->counts);
    for (size_t i = 0; i < ITEMS; i++)
        atomic_init(&f->counts[i], 0u);
    assert_int_equal(pool_start(f, 4, run_count, 0, 0), SD_OK);

    for (size_t i = 0; i < ITEMS; i++) {
        char item[SD_POOL_ITEM_MAX];
        snprintf(item, sizeof item, "%zu", i);
        source_add(f, item);
        if (i % 7 == 0)
            sd_pool_kick(f->pool);
    }
    sd_pool_kick(f->pool);
    assert_true(wait_done(f, ITEMS));
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS), 0);
    assert_int_equal(f->nleft, 0);
    for (size_t i = 0; i < ITEMS; i++)
        assert_int_equal(atomic_load(&f->counts[i]), 1);
    assert_int_equal(atomic_load(&f->done), ITEMS);
    assert_int_equal(f->max_filling, 1);
}

static void test_fill_asks_for_as_many_items_as_workers_are_idle(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++) {
        char item[16];
        snprintf(item, sizeof item, "i%d", i);
        source_add(f, item);
    }
    assert_int_equal(pool_start(f, 4, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 4));
    assert_true(wait_stats(f->pool, 0, 4));
    assert_int_equal(f->fills, 1);
    assert_int_equal(f->fill_max[0], 4);
    /* i0..i3 run, in the source's order, each with its tag */
    for (int i = 0; i < 4; i++) {
        bool found = false;
        char want[16], tag[24];
        snprintf(want, sizeof want, "i%d", i);
        snprintf(tag, sizeof tag, "tag:i%d", i);
        for (int k = 0; k < 4; k++)
            if (strcmp(f->started_items[k], want) == 0) {
                found = true;
                assert_string_equal(f->started_tags[k], tag);
            }
        assert_true(found);
    }
    grant(f, 1);   /* one worker is idle: the next fill asks for one */
    assert_true(wait_count(f, &f->started, 5));
    assert_int_equal(f->fill_max[1], 1);
    grant(f, 2);
    assert_true(wait_count(f, &f->started, 7));
    /* All four run again: no fill until one ends. */
    for (size_t i = 2; i < locked(f, &f->fills) && i < RECORDS_MAX; i++)
        assert_in_range(f->fill_max[i], 0, 2);
    grant(f, -1);
    assert_true(wait_count(f, &f->finished, 10));
    assert_true(wait_stats(f->pool, 0, 0));
    assert_int_equal(f->max_filling, 1);
}

static void test_kick_fills_at_once_without_polling(void **state)
{
    fixture *f = *state;
    grant(f, -1);
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->fills, 1));   /* the start: found nothing */
    source_add(f, "late");
    sd_pool_kick(f->pool);
    assert_true(wait_count(f, &f->finished, 1));
    assert_string_equal(f->started_items[0], "late");
    assert_int_equal(f->seen[0], SD_RUN_GO);
}

static void test_idle_pool_polls_with_a_doubling_interval(void **state)
{
    fixture *f = *state;
    grant(f, -1);
    assert_int_equal(pool_start(f, 3, run_gated, 10, 40), SD_OK);
    assert_true(wait_count(f, &f->fills, 6));
    /* Gaps between idle fills are at least 10, 20, then 40 ms. */
    static const int64_t least[] = {10, 20, 40, 40, 40};
    for (size_t i = 0; i < 5; i++)
        if (f->fill_at[i + 1] - f->fill_at[i] < least[i])
            fail_msg("fill %zu came %lld ms after the one before, under %lld", i + 1,
                     (long long)(f->fill_at[i + 1] - f->fill_at[i]), (long long)least[i]);
    /* An item nobody kicked for is found by polling. */
    source_add(f, "polled");
    assert_true(wait_count(f, &f->finished, 1));
    assert_string_equal(f->started_items[0], "polled");
    assert_int_equal(f->max_filling, 1);
}

static void test_pool_without_workers_never_fills(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 0, run_gated, 1, 1), SD_OK);
    sd_pool_kick(f->pool);
    assert_false(sd_pool_cancel(f->pool, "a", NULL, SD_RUN_CANCEL));
    size_t waiting = 99, busy = 99;
    sd_pool_stats(f->pool, &waiting, &busy);
    assert_int_equal(waiting, 0);
    assert_int_equal(busy, 0);
    sd_pool_item items[1];
    assert_int_equal(sd_pool_running(f->pool, items, 1), 0);
    assert_int_equal(sd_pool_drain(f->pool, 1000), 0);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(f->fills, 0);
    assert_int_equal(f->started, 0);
}

/* ---- cancel and running ---- */

static void test_cancel_sets_the_flag_of_the_named_and_tagged_run(void **state)
{
    fixture *f = *state;
    source_add(f, "job-1");
    source_add(f, "job-2");
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 2));

    /* With a tag, only the run of that tag: another run of the name is
     * left alone. */
    assert_false(sd_pool_cancel(f->pool, "job-1", "tag:job-2", SD_RUN_CANCEL));
    assert_true(sd_pool_cancel(f->pool, "job-1", "tag:job-1", SD_RUN_CANCEL));
    assert_true(wait_count(f, &f->finished, 1));
    assert_true(wait_stats(f->pool, 0, 1));
    size_t one = strcmp(f->started_items[0], "job-1") == 0 ? 0 : 1;
    assert_string_equal(f->started_items[one], "job-1");
    assert_int_equal(f->seen[one], SD_RUN_CANCEL);
    assert_false(sd_pool_cancel(f->pool, "job-1", NULL, SD_RUN_CANCEL));

    assert_true(sd_pool_cancel(f->pool, "job-2", NULL, SD_RUN_SHUTDOWN));
    assert_true(wait_count(f, &f->finished, 2));
    assert_int_equal(f->seen[1 - one], SD_RUN_SHUTDOWN);
    assert_true(wait_stats(f->pool, 0, 0));
}

static void test_cancel_is_false_for_unknown_items_and_does_not_carry_over(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 1, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    source_add(f, "b");   /* still in the source: not the pool's yet */

    assert_false(sd_pool_cancel(f->pool, "b", NULL, SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, "nope", NULL, SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, "", NULL, SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, NULL, NULL, SD_RUN_CANCEL));

    /* The same worker runs "b" next: the flag "a" got does not carry. */
    assert_true(sd_pool_cancel(f->pool, "a", NULL, SD_RUN_CANCEL));
    assert_true(wait_count(f, &f->finished, 1));
    sd_pool_kick(f->pool);
    grant(f, 1);
    assert_true(wait_count(f, &f->finished, 2));
    assert_string_equal(f->started_items[1], "b");
    assert_int_equal(f->seen[0], SD_RUN_CANCEL);
    assert_int_equal(f->seen[1], SD_RUN_GO);
}

static void test_running_lists_name_and_tag_of_items_that_run_now(void **state)
{
    fixture *f = *state;
    source_add(f, "r1");
    source_add(f, "r2");
    assert_int_equal(pool_start(f, 3, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 2));

    sd_pool_item items[4];
    size_t n = sd_pool_running(f->pool, items, 4);
    assert_int_equal(n, 2);
    bool r1 = false, r2 = false;
    for (size_t i = 0; i < 2; i++) {
        assert_null(items[i].data);
        if (strcmp(items[i].name, "r1") == 0) {
            r1 = true;
            assert_string_equal(items[i].tag, "tag:r1");
        } else if (strcmp(items[i].name, "r2") == 0) {
            r2 = true;
            assert_string_equal(items[i].tag, "tag:r2");
        }
    }
    assert_true(r1 && r2);
    assert_int_equal(sd_pool_running(f->pool, items, 1), 1);

    grant(f, -1);
    assert_true(wait_count(f, &f->finished, 2));
    assert_true(wait_stats(f->pool, 0, 0));
    assert_int_equal(sd_pool_running(f->pool, items, 4), 0);
}

static void test_run_may_kick_cancel_and_read_stats(void **state)
{
    fixture *f = *state;
    /* run_chain reads f->pool: the work comes once it is set. */
    assert_int_equal(pool_start(f, 1, run_chain, NEVER_MS, NEVER_MS), SD_OK);
    source_add(f, "5");
    sd_pool_kick(f->pool);
    assert_true(wait_done(f, 6));
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS), 0);
    assert_int_equal(f->nleft, 0);
}

#define EARLY_WORKERS 32

/* Work waiting when the pool starts is filled and run by the first
 * workers while the others are still being started: those runs find the
 * pool's pointer set already. */
static void test_runs_of_work_waiting_at_start_find_their_pool_set(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < EARLY_WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", i);
        source_add(f, name);
    }
    assert_int_equal(pool_start(f, EARLY_WORKERS, run_sees_pool, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->finished, EARLY_WORKERS));
    assert_int_equal(locked(f, &f->unset_seen), 0);
}

/* ---- next items brought by runs ---- */

static void test_run_that_brings_its_next_item_runs_it_at_once_without_a_fill(void **state)
{
    fixture *f = *state;
    assert_int_equal(pool_start(f, 1, run_bring, NEVER_MS, NEVER_MS), SD_OK);
    /* The start's fill finds nothing; the kick's takes "a", and each run
     * brings the next. */
    assert_true(wait_count(f, &f->fills, 1));
    for (int i = 0; i < 5; i++) {
        char item[SD_POOL_ITEM_MAX];
        snprintf(item, sizeof item, "%c", 'a' + i);
        source_add(f, item);
    }
    sd_pool_kick(f->pool);
    assert_true(wait_done(f, 5));
    /* A third fill once the chain ran dry (the last fill found items, so
     * the idle worker asks at once), and no more: one a run would be six. */
    assert_true(wait_count(f, &f->fills, 3));
    assert_true(wait_stats(f->pool, 0, 0));
    assert_int_equal(locked(f, &f->fills), 3);
    assert_string_equal(f->started_items[0], "a");
    assert_string_equal(f->started_tags[0], "tag:a");
    for (size_t i = 1; i < 5; i++) {
        char want[SD_POOL_ITEM_MAX];
        snprintf(want, sizeof want, "%c", (char)('a' + i));
        assert_string_equal(f->started_items[i], want);
        snprintf(want, sizeof want, "next:%c", (char)('a' + i));
        assert_string_equal(f->started_tags[i], want);
    }
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS), 0);
    assert_int_equal(f->nleft, 0);
}

static void test_pool_wants_next_items_until_a_drain_begins(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    source_add(f, "b");
    source_add(f, "c");
    /* Both workers busy, on "a" and "b", and nothing filled waits. */
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 2));
    assert_true(sd_pool_wants_next(f->pool));
    drain_call c;
    drain_start(&c, f, -1);
    assert_false(sd_pool_wants_next(f->pool));
    assert_int_equal(pthread_join(c.thread, NULL), 0);
}

static void test_next_item_brought_once_a_drain_began_goes_to_leftover(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 1, run_gated_bring, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    source_add(f, "b");
    drain_call c;
    drain_start(&c, f, LIVENESS_MS);
    grant(f, 1);   /* "a" ends, bringing "b" */
    assert_int_equal(pthread_join(c.thread, NULL), 0);
    assert_int_equal(c.stopped, 0);
    assert_int_equal(f->started, 1);
    assert_int_equal(f->nleft, 1);
    assert_string_equal(f->left[0], "b");
}

/* ---- drain ---- */

static void test_drain_hands_back_a_fill_in_progress_and_waits_for_runs(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 3, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    /* The next fill blocks inside the fill function. */
    set_fill_gate(f, true);
    source_add(f, "b");
    source_add(f, "c");
    sd_pool_kick(f->pool);
    assert_true(wait_count(f, &f->gated, 1));
    assert_false(sd_pool_stopping(f->pool));

    drain_call c;
    drain_start(&c, f, LIVENESS_MS);
    set_fill_gate(f, false);
    /* b and c, filled as the drain began, go back before "a" ends. */
    assert_true(wait_count(f, &f->nleft, 2));
    assert_int_equal(locked(f, &f->finished), 0);
    grant(f, -1);  /* "a" ends in the grace period */
    assert_int_equal(pthread_join(c.thread, NULL), 0);

    assert_int_equal(c.stopped, 0);
    assert_int_equal(f->started, 1);
    assert_int_equal(f->finished, 1);
    assert_int_equal(f->seen[0], SD_RUN_GO);
    assert_int_equal(f->nleft, 2);
    assert_string_equal(f->left[0], "b");
    assert_string_equal(f->left[1], "c");
    size_t waiting = 99, busy = 99;
    sd_pool_stats(f->pool, &waiting, &busy);
    assert_int_equal(waiting, 0);
    assert_int_equal(busy, 0);
}

static void test_drain_flags_runs_past_timeout_with_shutdown(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    source_add(f, "b");
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 2));
    source_add(f, "c");   /* never filled: it stays in the source */

    /* The runs return only when flagged, so the deadline must pass. */
    assert_int_equal(sd_pool_drain(f->pool, 20), 2);
    assert_int_equal(f->started, 2);
    assert_int_equal(f->finished, 2);
    assert_int_equal(f->seen[0], SD_RUN_SHUTDOWN);
    assert_int_equal(f->seen[1], SD_RUN_SHUTDOWN);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(f->src_count, 1);
}

static void test_drain_with_negative_timeout_flags_only_running_items(void **state)
{
    fixture *f = *state;
    grant(f, 1);
    source_add(f, "quick");
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->finished, 1));
    assert_true(wait_stats(f->pool, 0, 0));
    source_add(f, "slow");
    sd_pool_kick(f->pool);
    assert_true(wait_count(f, &f->started, 2));

    assert_int_equal(sd_pool_drain(f->pool, -1), 1);
    assert_string_equal(f->started_items[0], "quick");
    assert_int_equal(f->seen[0], SD_RUN_GO);
    assert_string_equal(f->started_items[1], "slow");
    assert_int_equal(f->seen[1], SD_RUN_SHUTDOWN);
    assert_int_equal(f->nleft, 0);
}

static void test_nothing_is_filled_after_a_drain(void **state)
{
    fixture *f = *state;
    assert_int_equal(pool_start(f, 2, run_gated, 1, 1), SD_OK);
    assert_true(wait_count(f, &f->fills, 1));
    assert_int_equal(sd_pool_drain(f->pool, 0), 0);
    size_t fills = f->fills;
    source_add(f, "late");
    sd_pool_kick(f->pool);
    sleep_ms(20);
    assert_int_equal(f->fills, fills);
    assert_false(sd_pool_cancel(f->pool, "late", NULL, SD_RUN_CANCEL));
    assert_int_equal(sd_pool_drain(f->pool, 0), 0);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(f->started, 0);
}

static void test_second_drain_returns_after_the_first_finished(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 2, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    set_fill_gate(f, true);
    source_add(f, "b");
    sd_pool_kick(f->pool);
    assert_true(wait_count(f, &f->gated, 1));

    drain_call first, second;
    drain_start(&first, f, LIVENESS_MS);
    set_fill_gate(f, false);
    assert_true(wait_count(f, &f->nleft, 1));
    drain_start(&second, f, LIVENESS_MS);
    grant(f, 1);
    assert_int_equal(pthread_join(first.thread, NULL), 0);
    assert_int_equal(pthread_join(second.thread, NULL), 0);

    assert_int_equal(first.stopped, 0);
    assert_int_equal(second.stopped, 0);
    /* The leftover of the first drain was out before the second returned. */
    assert_int_equal(second.left_on_return, 1);
    assert_int_equal(f->nleft, 1);
    assert_string_equal(f->left[0], "b");
}

static void test_free_without_drain_stops_running_items(void **state)
{
    fixture *f = *state;
    source_add(f, "a");
    assert_int_equal(pool_start(f, 1, run_gated, NEVER_MS, NEVER_MS), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    source_add(f, "b");

    sd_pool_free(f->pool);
    f->pool = NULL;
    assert_int_equal(f->started, 1);
    assert_int_equal(f->finished, 1);
    assert_int_equal(f->seen[0], SD_RUN_SHUTDOWN);
    sd_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_new_rejects_missing_options_fill_or_run),
        T(test_new_stops_started_workers_when_one_cannot_start),
        T(test_each_item_runs_exactly_once),
        T(test_fill_asks_for_as_many_items_as_workers_are_idle),
        T(test_kick_fills_at_once_without_polling),
        T(test_idle_pool_polls_with_a_doubling_interval),
        T(test_pool_without_workers_never_fills),
        T(test_cancel_sets_the_flag_of_the_named_and_tagged_run),
        T(test_cancel_is_false_for_unknown_items_and_does_not_carry_over),
        T(test_running_lists_name_and_tag_of_items_that_run_now),
        T(test_run_may_kick_cancel_and_read_stats),
        T(test_runs_of_work_waiting_at_start_find_their_pool_set),
        T(test_run_that_brings_its_next_item_runs_it_at_once_without_a_fill),
        T(test_pool_wants_next_items_until_a_drain_begins),
        T(test_next_item_brought_once_a_drain_began_goes_to_leftover),
        T(test_drain_hands_back_a_fill_in_progress_and_waits_for_runs),
        T(test_drain_flags_runs_past_timeout_with_shutdown),
        T(test_drain_with_negative_timeout_flags_only_running_items),
        T(test_nothing_is_filled_after_a_drain),
        T(test_second_drain_returns_after_the_first_finished),
        T(test_free_without_drain_stops_running_items),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
