/*
 * Worker pool: N threads fed by a bounded ring of fixed-size items.
 *
 * DESIGN. One mutex guards everything that changes: the ring, the slots'
 * item and busy fields, the busy count and the stopping/drained state. Two
 * condition variables hang off it: `work` wakes workers when an item is
 * queued or a drain begins; `idle` wakes a drain when a run ends. The run
 * function is called without the lock, so a run may submit, cancel or read
 * stats without deadlock, and a slow run never holds up the queue.
 *
 * Each worker owns one slot. While a slot is busy its item names the run,
 * which is how sd_pool_cancel() finds it; its cancel flag is an atomic so
 * the run can read it without the lock. The flag is reset to SD_RUN_GO
 * under the lock when the slot takes an item, and only busy slots are ever
 * flagged, so a cancel never leaks into the next run of that worker.
 *
 * A drain sets `stopping`: from then on a worker that looks at the queue
 * exits instead of taking an item, so queued items stay queued and go to
 * the leftover callback in queue order. The wait for running items uses
 * CLOCK_MONOTONIC (set on the condattr) so a wall-clock step can neither
 * cut the grace period short nor stretch it. Past the deadline, running
 * slots are flagged SD_RUN_SHUTDOWN and the drain waits without a limit:
 * run functions are required to honour the flag.
 *
 * Threads are created with the caller's signal mask; a caller that wants
 * signals delivered to one thread blocks them before sd_pool_new().
 */
#include "statusd/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/handler.h"
#include "statusd/log.h"

/* Longest grace period honoured; longer ones are clamped so the deadline
 * arithmetic cannot overflow (about 31 years). */
#define POOL_TIMEOUT_MAX_MS ((int64_t)1000 * 1000 * 1000 * 1000)

typedef struct pool_slot {
    sd_pool *pool;
    atomic_int cancel;             /* SD_RUN_*; read by the run unlocked */
    char item[SD_POOL_ITEM_MAX];   /* the running item while busy */
    bool busy;
} pool_slot;

struct sd_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;           /* item queued, or stopping */
    pthread_cond_t idle;           /* a run ended, or a drain finished */
    sd_pool_run_fn run;
    void *arg;

    char (*ring)[SD_POOL_ITEM_MAX];
    size_t capacity;
    size_t head;                   /* index of the oldest queued item */
    size_t count;                  /* items queued */

    pthread_t *threads;
    pool_slot *slots;
    size_t workers;
    size_t busy;                   /* slots running an item */

    bool stopping;                 /* a drain began: take nothing more */
    bool drained;                  /* the drain finished; threads joined */
};

/* Lock and condition failures on a correctly initialised pool mean memory
 * corruption or a broken invariant; there is no state to recover to. */
static void pool_check(int rc, const char *what)
{
    if (rc != 0) {
        sd_error("pool: %s failed: %s", what, strerror(rc));
        abort();
    }
}

static void pool_lock(sd_pool *p)
{
    pool_check(pthread_mutex_lock(&p->lock), "pthread_mutex_lock");
}

static void pool_unlock(sd_pool *p)
{
    pool_check(pthread_mutex_unlock(&p->lock), "pthread_mutex_unlock");
}

static void pool_wait(sd_pool *p, pthread_cond_t *cond)
{
    pool_check(pthread_cond_wait(cond, &p->lock), "pthread_cond_wait");
}

static void pool_wake_all(pthread_cond_t *cond)
{
    pool_check(pthread_cond_broadcast(cond), "pthread_cond_broadcast");
}

/* Worker: takes items until a drain begins. The slot's item and busy
 * fields change only under the lock; the run reads item unlocked, which is
 * safe because only this thread writes it. */
static void *pool_worker(void *opaque)
{
    pool_slot *slot = opaque;
    sd_pool *p = slot->pool;

    pool_lock(p);
    for (;;) {
        while (!p->stopping && p->count == 0)
            pool_wait(p, &p->work);
        if (p->stopping)
            break;

        memcpy(slot->item, p->ring[p->head], SD_POOL_ITEM_MAX);
        p->head = (p->head + 1) % p->capacity;
        p->count--;
        atomic_store(&slot->cancel, SD_RUN_GO);
        slot->busy = true;
        p->busy++;
        pool_unlock(p);

        p->run(p->arg, slot->item, &slot->cancel);

        pool_lock(p);
        slot->busy = false;
        p->busy--;
        if (p->stopping)
            pool_wake_all(&p->idle);
    }
    pool_unlock(p);
    return NULL;
}

/* Sets stopping and joins the first n threads. For sd_pool_new's failure
 * path and the drain, once no run is in progress. */
static void pool_join(sd_pool *p, size_t n)
{
    pool_lock(p);
    p->stopping = true;
    pool_wake_all(&p->work);
    pool_unlock(p);
    for (size_t i = 0; i < n; i++)
        pool_check(pthread_join(p->threads[i], NULL), "pthread_join");
}

/* Frees what sd_pool_new allocated; the sync objects only when inited. */
static void pool_release(sd_pool *p, bool synced)
{
    if (synced) {
        pthread_cond_destroy(&p->idle);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
    }
    free(p->ring);
    free(p->threads);
    free(p->slots);
    free(p);
}

/* Inits the lock and both conditions, `idle` on CLOCK_MONOTONIC. 0 or an
 * errno value; nothing is left inited on failure. */
static int pool_sync_init(sd_pool *p)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc != 0)
        goto out_attr;
    rc = pthread_mutex_init(&p->lock, NULL);
    if (rc != 0)
        goto out_attr;
    rc = pthread_cond_init(&p->work, NULL);
    if (rc != 0)
        goto out_lock;
    rc = pthread_cond_init(&p->idle, &attr);
    if (rc != 0)
        goto out_work;
    pthread_condattr_destroy(&attr);
    return 0;

out_work:
    pthread_cond_destroy(&p->work);
out_lock:
    pthread_mutex_destroy(&p->lock);
out_attr:
    pthread_condattr_destroy(&attr);
    return rc;
}

/*
 * EINVAL when run is NULL or when workers > 0 with capacity 0 (no item
 * could ever be handed over). ENOMEM, or pthread_create's error after the
 * threads already started were stopped and joined.
 */
sd_pool *sd_pool_new(size_t workers, size_t capacity, sd_pool_run_fn run,
                     void *arg)
{
    if (run == NULL || (workers > 0 && capacity == 0)) {
        errno = EINVAL;
        return NULL;
    }
    sd_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->run = run;
    p->arg = arg;
    p->workers = workers;
    p->capacity = capacity;
    if (workers > 0) {
        p->ring = calloc(capacity, sizeof *p->ring);
        p->threads = calloc(workers, sizeof *p->threads);
        p->slots = calloc(workers, sizeof *p->slots);
        if (p->ring == NULL || p->threads == NULL || p->slots == NULL) {
            pool_release(p, false);
            errno = ENOMEM;
            return NULL;
        }
    }
    int rc = pool_sync_init(p);
    if (rc != 0) {
        pool_release(p, false);
        errno = rc;
        return NULL;
    }
    for (size_t i = 0; i < workers; i++) {
        p->slots[i].pool = p;
        atomic_init(&p->slots[i].cancel, SD_RUN_GO);
        rc = pthread_create(&p->threads[i], NULL, pool_worker, &p->slots[i]);
        if (rc != 0) {
            sd_error("pool: cannot start worker %zu of %zu: %s", i + 1,
                     workers, strerror(rc));
            pool_join(p, i);
            pool_release(p, true);
            errno = rc;
            return NULL;
        }
    }
    return p;
}

/* Checks in this order: the item, the drain, the workers, the room. */
sd_err sd_pool_submit(sd_pool *p, const char *item)
{
    if (item == NULL || item[0] == '\0')
        return SD_ERR_INVALID;
    size_t len = strnlen(item, SD_POOL_ITEM_MAX);
    if (len == SD_POOL_ITEM_MAX)
        return SD_ERR_INVALID;

    sd_err err = SD_OK;
    pool_lock(p);
    if (p->stopping) {
        err = SD_ERR_SHUTTING_DOWN;
    } else if (p->workers == 0) {
        err = SD_ERR_UNAVAILABLE;
    } else if (p->count == p->capacity) {
        err = SD_ERR_QUEUE_FULL;
    } else {
        char *dst = p->ring[(p->head + p->count) % p->capacity];
        memcpy(dst, item, len + 1);
        p->count++;
        pool_check(pthread_cond_signal(&p->work), "pthread_cond_signal");
    }
    pool_unlock(p);
    return err;
}

/* Flags every running run of item (the same item may be queued twice);
 * queued and finished items are not touched. */
bool sd_pool_cancel(sd_pool *p, const char *item, int reason)
{
    if (item == NULL)
        return false;
    bool found = false;
    pool_lock(p);
    for (size_t i = 0; i < p->workers; i++) {
        pool_slot *slot = &p->slots[i];
        if (slot->busy && strcmp(slot->item, item) == 0) {
            atomic_store(&slot->cancel, reason);
            found = true;
        }
    }
    pool_unlock(p);
    return found;
}

size_t sd_pool_running(sd_pool *p, char (*items)[SD_POOL_ITEM_MAX], size_t max)
{
    size_t n = 0;
    pool_lock(p);
    for (size_t i = 0; i < p->workers && n < max; i++)
        if (p->slots[i].busy)
            memcpy(items[n++], p->slots[i].item, SD_POOL_ITEM_MAX);
    pool_unlock(p);
    return n;
}

/* Either pointer may be NULL. */
void sd_pool_stats(sd_pool *p, size_t *queued, size_t *busy)
{
    pool_lock(p);
    if (queued != NULL)
        *queued = p->count;
    if (busy != NULL)
        *busy = p->busy;
    pool_unlock(p);
}

/* CLOCK_MONOTONIC now + ms, ms clamped to [0, POOL_TIMEOUT_MAX_MS]. */
static void pool_deadline(int64_t ms, struct timespec *ts)
{
    if (ms < 0)
        ms = 0;
    if (ms > POOL_TIMEOUT_MAX_MS)
        ms = POOL_TIMEOUT_MAX_MS;
    if (clock_gettime(CLOCK_MONOTONIC, ts) != 0) {
        /* Cannot happen for CLOCK_MONOTONIC; no grace rather than a hang. */
        sd_error("pool: clock_gettime(CLOCK_MONOTONIC) failed: %s",
                 strerror(errno));
        ts->tv_sec = 0;
        ts->tv_nsec = 0;
        return;
    }
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/*
 * leftover may be NULL (the items are dropped). It is called without the
 * lock, so it may use the pool (stats; submit answers SHUTTING_DOWN). Not
 * to be called from a run function: it would wait for itself. A drain that
 * finds another drain started waits for it to finish and returns 0.
 */
size_t sd_pool_drain(sd_pool *p, int64_t timeout_ms,
                     void (*leftover)(void *arg, const char *item), void *arg)
{
    pool_lock(p);
    if (p->stopping) {
        while (!p->drained)
            pool_wait(p, &p->idle);
        pool_unlock(p);
        return 0;
    }
    p->stopping = true;
    pool_wake_all(&p->work);

    struct timespec deadline;
    pool_deadline(timeout_ms, &deadline);
    while (p->busy > 0) {
        int rc = pthread_cond_timedwait(&p->idle, &p->lock, &deadline);
        if (rc == ETIMEDOUT)
            break;
        pool_check(rc, "pthread_cond_timedwait");
    }

    size_t stopped = 0;
    for (size_t i = 0; i < p->workers; i++) {
        if (p->slots[i].busy) {
            atomic_store(&p->slots[i].cancel, SD_RUN_SHUTDOWN);
            stopped++;
        }
    }
    while (p->busy > 0)
        pool_wait(p, &p->idle);

    /* Nothing takes from the ring any more; pop one at a time so stats
     * stay exact while leftover runs unlocked. */
    while (p->count > 0) {
        char item[SD_POOL_ITEM_MAX];
        memcpy(item, p->ring[p->head], SD_POOL_ITEM_MAX);
        p->head = (p->head + 1) % p->capacity;
        p->count--;
        pool_unlock(p);
        if (leftover != NULL)
            leftover(arg, item);
        pool_lock(p);
    }
    pool_unlock(p);

    pool_join(p, p->workers);

    pool_lock(p);
    p->drained = true;
    pool_wake_all(&p->idle);
    pool_unlock(p);
    if (stopped > 0)
        sd_warn("pool: stopped %zu running item(s) at the drain deadline",
                stopped);
    return stopped;
}

/* Queued items are dropped when the pool was not drained. NULL is a
 * no-op. */
void sd_pool_free(sd_pool *p)
{
    if (p == NULL)
        return;
    pool_lock(p);
    bool drained = p->drained;
    pool_unlock(p);
    if (!drained)
        sd_pool_drain(p, 0, NULL, NULL);
    pool_release(p, true);
}
