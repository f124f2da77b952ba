/*
 * Worker pool: exactly-once delivery, queue limits, cancel flags, drain
 * with and without a deadline, and bad inputs. Runs block on a permit
 * count or on their cancel flag, so every test steers the pool through
 * states it waits for; time appears only as liveness bounds on those waits
 * and as drain deadlines that runs blocked on their flag cannot beat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/handler.h"
#include "statusd/pool.h"
#include "statusd/util.h"

#define RECORDS_MAX 16
#define LIVENESS_MS 30000   /* bound on any wait; reached only on a bug */

typedef struct fixture {
    pthread_mutex_t lock;
    pthread_cond_t changed;        /* any field below changed */
    long permits;                  /* gated runs allowed to return; -1 any */
    size_t started;
    size_t finished;
    char started_items[RECORDS_MAX][SD_POOL_ITEM_MAX];
    int seen[RECORDS_MAX];         /* flag each run returned with, by start */
    size_t nleft;
    char left[RECORDS_MAX][SD_POOL_ITEM_MAX];
    atomic_uint *counts;           /* run_count: runs per item number */
    size_t ncounts;
    atomic_size_t done;            /* run_count / run_chain: runs ended */
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

/* True once the pool's stats read exactly queued and busy: a run's own
 * records are written before the pool counts it as ended. */
static bool wait_stats(sd_pool *p, size_t queued, size_t busy)
{
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    for (;;) {
        size_t q, b;
        sd_pool_stats(p, &q, &b);
        if (q == queued && b == busy)
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

/* Records its start, then returns once a permit is granted (consuming it)
 * or its cancel flag is set, recording the flag it returns with. */
static void run_gated(void *arg, const char *item, const atomic_int *cancel)
{
    fixture *f = arg;
    check(pthread_mutex_lock(&f->lock));
    size_t me = f->started++;
    if (me < RECORDS_MAX)
        snprintf(f->started_items[me], SD_POOL_ITEM_MAX, "%s", item);
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
}

/* Counts a run of the item numbered by its text. */
static void run_count(void *arg, const char *item, const atomic_int *cancel)
{
    fixture *f = arg;
    int64_t n;
    (void)cancel;
    if (sd_parse_i64(item, 0, (int64_t)f->ncounts - 1, &n) != SD_OK)
        abort();
    atomic_fetch_add(&f->counts[n], 1u);
    atomic_fetch_add(&f->done, 1);
}

/* Item "n" submits "n-1" from inside the run, down to "0". */
static void run_chain(void *arg, const char *item, const atomic_int *cancel)
{
    fixture *f = arg;
    int64_t n;
    (void)cancel;
    if (sd_parse_i64(item, 0, 100, &n) != SD_OK)
        abort();
    if (n > 0) {
        char next[SD_POOL_ITEM_MAX];
        snprintf(next, sizeof next, "%lld", (long long)(n - 1));
        size_t queued = 0;
        sd_pool_stats(f->pool, &queued, NULL);
        if (queued > 2 || sd_pool_submit(f->pool, next) != SD_OK)
            abort();
    }
    atomic_fetch_add(&f->done, 1);
}

static void record_leftover(void *arg, const char *item)
{
    fixture *f = arg;
    check(pthread_mutex_lock(&f->lock));
    if (f->nleft < RECORDS_MAX)
        snprintf(f->left[f->nleft], SD_POOL_ITEM_MAX, "%s", item);
    f->nleft++;
    check(pthread_mutex_unlock(&f->lock));
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
    c->stopped = sd_pool_drain(c->f->pool, c->timeout_ms, record_leftover,
                               c->f);
    check(pthread_mutex_lock(&c->f->lock));
    c->left_on_return = c->f->nleft;
    check(pthread_mutex_unlock(&c->f->lock));
    return NULL;
}

static void drain_start(drain_call *c, fixture *f, int64_t timeout_ms)
{
    *c = (drain_call){.f = f, .timeout_ms = timeout_ms, .stopped = 99,
                      .left_on_return = 99};
    assert_int_equal(pthread_create(&c->thread, NULL, drain_main, c), 0);
}

/* With the queue full, a probe submit answers QUEUE_FULL until a drain
 * begins and SHUTTING_DOWN after: that is how a test knows it began. */
static bool wait_draining(sd_pool *p)
{
    int64_t deadline = sd_mono_ms() + LIVENESS_MS;
    while (sd_mono_ms() < deadline) {
        sd_err err = sd_pool_submit(p, "probe");
        if (err == SD_ERR_SHUTTING_DOWN)
            return true;
        if (err != SD_ERR_QUEUE_FULL)
            return false;
        sleep_ms(1);
    }
    return false;
}

static int setup(void **state)
{
    fixture *f = malloc(sizeof *f);
    if (f == NULL)
        return -1;
    *f = (fixture){.lock = PTHREAD_MUTEX_INITIALIZER,
                   .changed = PTHREAD_COND_INITIALIZER};
    atomic_init(&f->done, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sd_pool_free(f->pool);   /* flags blocked runs, which then return */
    free(f->counts);
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static void test_new_rejects_null_run_and_zero_capacity(void **state)
{
    fixture *f = *state;
    errno = 0;
    assert_null(sd_pool_new(2, 4, NULL, f));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(sd_pool_new(2, 0, run_gated, f));
    assert_int_equal(errno, EINVAL);
}

static void test_new_stops_started_workers_when_one_cannot_start(void **state)
{
    fixture *f = *state;
    atomic_store(&create_calls, 0);
    atomic_store(&create_fail_at, 2);
    errno = 0;
    sd_pool *p = sd_pool_new(4, 8, run_gated, f);
    int saved = errno;
    atomic_store(&create_fail_at, -1);
    assert_null(p);
    assert_int_equal(saved, EAGAIN);
    assert_int_equal(atomic_load(&create_calls), 3);
    assert_int_equal(f->started, 0);
}

static void test_each_item_runs_exactly_once(void **state)
{
    fixture *f = *state;
    enum { ITEMS = 10000 };
    f->ncounts = ITEMS;
    f->counts = calloc(ITEMS, sizeof *f->counts);
    assert_non_null(f->counts);
    for (size_t i = 0; i < ITEMS; i++)
        atomic_init(&f->counts[i], 0u);
    f->pool = sd_pool_new(4, 16, run_count, f);
    assert_non_null(f->pool);

    for (size_t i = 0; i < ITEMS; i++) {
        char item[SD_POOL_ITEM_MAX];
        snprintf(item, sizeof item, "%zu", i);
        sd_err err;
        while ((err = sd_pool_submit(f->pool, item)) == SD_ERR_QUEUE_FULL)
            assert_int_equal(sched_yield(), 0);
        assert_int_equal(err, SD_OK);
    }
    assert_true(wait_done(f, ITEMS));
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS, record_leftover, f),
                     0);
    assert_int_equal(f->nleft, 0);
    for (size_t i = 0; i < ITEMS; i++)
        assert_int_equal(atomic_load(&f->counts[i]), 1);
    assert_int_equal(atomic_load(&f->done), ITEMS);
}

static void test_submit_answers_queue_full_when_capacity_items_wait(
    void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 3, run_gated, f);
    assert_non_null(f->pool);
    size_t queued = 99, busy = 99;
    sd_pool_stats(f->pool, &queued, &busy);
    assert_int_equal(queued, 0);
    assert_int_equal(busy, 0);

    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);
    assert_true(wait_count(f, &f->started, 2));
    assert_int_equal(sd_pool_submit(f->pool, "c"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "d"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "e"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "f"), SD_ERR_QUEUE_FULL);
    sd_pool_stats(f->pool, &queued, &busy);
    assert_int_equal(queued, 3);
    assert_int_equal(busy, 2);

    grant(f, 1);   /* one run ends; its worker takes "c" */
    assert_true(wait_count(f, &f->started, 3));
    sd_pool_stats(f->pool, &queued, &busy);
    assert_int_equal(queued, 2);
    assert_int_equal(busy, 2);
    assert_int_equal(sd_pool_submit(f->pool, "f"), SD_OK);
    assert_string_equal(f->started_items[2], "c");

    grant(f, -1);
    assert_true(wait_count(f, &f->finished, 6));
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS, record_leftover, f),
                     0);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(f->started, 6);
}

static void test_submit_rejects_null_empty_and_overlong_items(void **state)
{
    fixture *f = *state;
    char longest[SD_POOL_ITEM_MAX];
    char overlong[SD_POOL_ITEM_MAX + 1];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(overlong, 'y', sizeof overlong - 1);
    overlong[sizeof overlong - 1] = '\0';

    f->pool = sd_pool_new(1, 4, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_pool_submit(f->pool, ""), SD_ERR_INVALID);
    assert_int_equal(sd_pool_submit(f->pool, overlong), SD_ERR_INVALID);
    size_t queued = 99;
    sd_pool_stats(f->pool, &queued, NULL);
    assert_int_equal(queued, 0);

    grant(f, -1);
    assert_int_equal(sd_pool_submit(f->pool, longest), SD_OK);
    assert_true(wait_count(f, &f->finished, 1));
    assert_int_equal(f->started, 1);
    assert_string_equal(f->started_items[0], longest);
    assert_int_equal(f->seen[0], SD_RUN_GO);
}

static void test_cancel_sets_running_items_flag_to_reason(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 4, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "job-1"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "job-2"), SD_OK);
    assert_true(wait_count(f, &f->started, 2));

    assert_true(sd_pool_cancel(f->pool, "job-1", SD_RUN_CANCEL));
    assert_true(wait_count(f, &f->finished, 1));
    assert_true(wait_stats(f->pool, 0, 1));
    size_t one = strcmp(f->started_items[0], "job-1") == 0 ? 0 : 1;
    assert_string_equal(f->started_items[one], "job-1");
    assert_int_equal(f->seen[one], SD_RUN_CANCEL);
    assert_false(sd_pool_cancel(f->pool, "job-1", SD_RUN_CANCEL));

    assert_true(sd_pool_cancel(f->pool, "job-2", SD_RUN_SHUTDOWN));
    assert_true(wait_count(f, &f->finished, 2));
    assert_int_equal(f->seen[1 - one], SD_RUN_SHUTDOWN);
    assert_true(wait_stats(f->pool, 0, 0));
}

static void test_cancel_is_false_for_queued_and_unknown_items(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(1, 4, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);

    assert_false(sd_pool_cancel(f->pool, "b", SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, "nope", SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, "", SD_RUN_CANCEL));
    assert_false(sd_pool_cancel(f->pool, NULL, SD_RUN_CANCEL));

    /* The same worker runs "b" next: the flag "a" got does not carry. */
    assert_true(sd_pool_cancel(f->pool, "a", SD_RUN_CANCEL));
    grant(f, 1);
    assert_true(wait_count(f, &f->finished, 2));
    assert_string_equal(f->started_items[1], "b");
    assert_int_equal(f->seen[0], SD_RUN_CANCEL);
    assert_int_equal(f->seen[1], SD_RUN_GO);
}

static void test_running_lists_only_items_that_run_now(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 4, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "r1"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "r2"), SD_OK);
    assert_true(wait_count(f, &f->started, 2));
    assert_int_equal(sd_pool_submit(f->pool, "q3"), SD_OK);

    char items[4][SD_POOL_ITEM_MAX];
    size_t n = sd_pool_running(f->pool, items, 4);
    assert_int_equal(n, 2);
    bool r1 = strcmp(items[0], "r1") == 0 || strcmp(items[1], "r1") == 0;
    bool r2 = strcmp(items[0], "r2") == 0 || strcmp(items[1], "r2") == 0;
    assert_true(r1 && r2);
    assert_int_equal(sd_pool_running(f->pool, items, 1), 1);

    grant(f, -1);
    assert_true(wait_count(f, &f->finished, 3));
    assert_true(wait_stats(f->pool, 0, 0));
    assert_int_equal(sd_pool_running(f->pool, items, 4), 0);
}

static void test_run_may_submit_and_read_stats(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(1, 2, run_chain, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "5"), SD_OK);
    assert_true(wait_done(f, 6));
    assert_int_equal(sd_pool_drain(f->pool, LIVENESS_MS, record_leftover, f),
                     0);
    assert_int_equal(f->nleft, 0);
}

static void test_drain_waits_for_runs_that_finish_in_time(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(1, 3, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "c"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "d"), SD_OK);
    grant(f, 1);   /* "a" ends, "b" starts: the ring wraps for "e" */
    assert_true(wait_count(f, &f->started, 2));
    assert_int_equal(sd_pool_submit(f->pool, "e"), SD_OK);

    drain_call c;
    drain_start(&c, f, LIVENESS_MS);
    assert_true(wait_draining(f->pool));
    grant(f, -1);  /* "b" ends in the grace period; nothing else may start */
    assert_int_equal(pthread_join(c.thread, NULL), 0);

    assert_int_equal(c.stopped, 0);
    assert_int_equal(f->started, 2);
    assert_int_equal(f->finished, 2);
    assert_string_equal(f->started_items[1], "b");
    assert_int_equal(f->seen[1], SD_RUN_GO);
    assert_int_equal(f->nleft, 3);
    assert_string_equal(f->left[0], "c");
    assert_string_equal(f->left[1], "d");
    assert_string_equal(f->left[2], "e");
    size_t queued = 99, busy = 99;
    sd_pool_stats(f->pool, &queued, &busy);
    assert_int_equal(queued, 0);
    assert_int_equal(busy, 0);
}

static void test_drain_flags_runs_past_timeout_with_shutdown(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 2, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);
    assert_true(wait_count(f, &f->started, 2));
    assert_int_equal(sd_pool_submit(f->pool, "c"), SD_OK);
    assert_int_equal(sd_pool_submit(f->pool, "d"), SD_OK);

    /* The runs return only when flagged, so the deadline must pass. */
    assert_int_equal(sd_pool_drain(f->pool, 20, record_leftover, f), 2);
    assert_int_equal(f->started, 2);
    assert_int_equal(f->finished, 2);
    assert_int_equal(f->seen[0], SD_RUN_SHUTDOWN);
    assert_int_equal(f->seen[1], SD_RUN_SHUTDOWN);
    assert_int_equal(f->nleft, 2);
    assert_string_equal(f->left[0], "c");
    assert_string_equal(f->left[1], "d");
}

static void test_drain_with_negative_timeout_flags_only_running_items(
    void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 2, run_gated, f);
    assert_non_null(f->pool);
    grant(f, 1);
    assert_int_equal(sd_pool_submit(f->pool, "quick"), SD_OK);
    assert_true(wait_count(f, &f->finished, 1));
    assert_true(wait_stats(f->pool, 0, 0));
    assert_int_equal(sd_pool_submit(f->pool, "slow"), SD_OK);
    assert_true(wait_count(f, &f->started, 2));

    assert_int_equal(sd_pool_drain(f->pool, -1, record_leftover, f), 1);
    assert_string_equal(f->started_items[0], "quick");
    assert_int_equal(f->seen[0], SD_RUN_GO);
    assert_string_equal(f->started_items[1], "slow");
    assert_int_equal(f->seen[1], SD_RUN_SHUTDOWN);
    assert_int_equal(f->nleft, 0);
}

static void test_submit_after_drain_answers_shutting_down(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(2, 4, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_drain(f->pool, 0, record_leftover, f), 0);
    assert_int_equal(sd_pool_submit(f->pool, "late"), SD_ERR_SHUTTING_DOWN);
    assert_int_equal(sd_pool_submit(f->pool, ""), SD_ERR_INVALID);
    assert_false(sd_pool_cancel(f->pool, "late", SD_RUN_CANCEL));
    assert_int_equal(sd_pool_drain(f->pool, 0, record_leftover, f), 0);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(f->started, 0);
}

static void test_second_drain_returns_after_the_first_finished(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(1, 1, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);

    drain_call first, second;
    drain_start(&first, f, LIVENESS_MS);
    assert_true(wait_draining(f->pool));
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

static void test_pool_without_workers_is_unavailable(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(0, 0, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_ERR_UNAVAILABLE);
    assert_int_equal(sd_pool_submit(f->pool, ""), SD_ERR_INVALID);
    assert_false(sd_pool_cancel(f->pool, "a", SD_RUN_CANCEL));
    size_t queued = 99, busy = 99;
    sd_pool_stats(f->pool, &queued, &busy);
    assert_int_equal(queued, 0);
    assert_int_equal(busy, 0);
    assert_int_equal(sd_pool_drain(f->pool, 1000, record_leftover, f), 0);
    assert_int_equal(f->nleft, 0);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_ERR_SHUTTING_DOWN);
}

static void test_free_without_drain_stops_running_items(void **state)
{
    fixture *f = *state;
    f->pool = sd_pool_new(1, 2, run_gated, f);
    assert_non_null(f->pool);
    assert_int_equal(sd_pool_submit(f->pool, "a"), SD_OK);
    assert_true(wait_count(f, &f->started, 1));
    assert_int_equal(sd_pool_submit(f->pool, "b"), SD_OK);

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
        T(test_new_rejects_null_run_and_zero_capacity),
        T(test_new_stops_started_workers_when_one_cannot_start),
        T(test_each_item_runs_exactly_once),
        T(test_submit_answers_queue_full_when_capacity_items_wait),
        T(test_submit_rejects_null_empty_and_overlong_items),
        T(test_cancel_sets_running_items_flag_to_reason),
        T(test_cancel_is_false_for_queued_and_unknown_items),
        T(test_running_lists_only_items_that_run_now),
        T(test_run_may_submit_and_read_stats),
        T(test_drain_waits_for_runs_that_finish_in_time),
        T(test_drain_flags_runs_past_timeout_with_shutdown),
        T(test_drain_with_negative_timeout_flags_only_running_items),
        T(test_submit_after_drain_answers_shutting_down),
        T(test_second_drain_returns_after_the_first_finished),
        T(test_pool_without_workers_is_unavailable),
        T(test_free_without_drain_stops_running_items),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
