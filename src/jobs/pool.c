/*
 * Worker pool: N threads that fetch their own work through a fill
 * function (see statusd/pool.h).
 *
 * DESIGN. One mutex guards everything that changes: the ring of filled
 * items, the slots' item and busy fields, the busy count, the fill state
 * and the stopping/drained state. Two condition variables (both on
 * CLOCK_MONOTONIC, so a wall-clock step neither cuts a wait short nor
 * stretches it) hang off it: `work` wakes workers (items filled, a kick,
 * a fill ended, a drain began); `idle` wakes a drain (a run or a fill
 * ended, or the drain finished).
 *
 * Filling is leader/followers: an idle worker that finds the ring empty
 * and no fill in progress becomes the filler, asks for as many items as
 * there are idle workers, puts what it got in the ring and wakes the
 * others, one per item it got. At most one fill runs at a time, so
 * the ring (room for one item per worker) never overflows and the store
 * sees one request per idle spell rather than one per worker. The run,
 * fill and leftover functions are called without the lock, so they may
 * kick, cancel or read stats.
 *
 * A busy worker need not come back for work: a run that ends in a store
 * step can take its worker's next item in that same step (when the pool
 * wants one: no drain, nothing in the ring), and the worker runs it at
 * once. The slot stays busy throughout, so the ring's bound holds, and
 * nobody is woken. Under load, a job then costs one fill-free step to
 * end and start, and the ring and the fill serve the idle workers only.
 *
 * Idle polling: a fill that found nothing sets the next poll time
 * poll_min_ms ahead, doubling the interval up to poll_max_ms; idle
 * workers sleep until then (the one that wakes first fills). A kick or a
 * fill that found items starts over: the next idle worker fills at once.
 *
 * Each worker owns one slot. While a slot is busy its item names the run,
 * which is how sd_pool_cancel() finds it; its cancel flag is an atomic so
 * the run reads it without the lock. A slot's flag is set from its ring
 * entry (normally SD_RUN_GO) when it takes the item, so a cancel of an
 * item that was filled but not yet started is kept, and a cancel never
 * leaks into the next run of that worker.
 *
 * A drain sets `stopping`: workers exit instead of filling or taking from
 * the ring. Once a fill in progress has ended, the ring goes to the
 * leftover function at once, so that work nobody will run here is handed
 * back while the running items still get their grace period. Past the
 * deadline, running slots are flagged SD_RUN_SHUTDOWN and the drain waits
 * without a limit: run functions are required to honour the flag.
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
#include "statusd/util.h"

#define POLL_MIN_DEFAULT_MS 50
/* Longest wait honoured; longer ones are clamped so the deadline
 * arithmetic cannot overflow (about 31 years). */
#define POOL_TIMEOUT_MAX_MS ((int64_t)1000 * 1000 * 1000 * 1000)

typedef struct pool_slot {
    sd_pool *pool;
    atomic_int cancel;             /* SD_RUN_*; read by the run unlocked */
    sd_pool_item item;             /* the running item while busy */
    bool busy;
} pool_slot;

/* A filled item waiting for a worker. */
typedef struct pool_entry {
    sd_pool_item item;
    int cancel;                    /* SD_RUN_GO unless canceled meanwhile */
} pool_entry;

struct sd_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t idle;
    sd_pool_opts o;

    pool_entry *ring;              /* room for `workers` entries */
    size_t head;                   /* the oldest entry */
    size_t count;
    sd_pool_item *fill_buf;        /* the filler's, `workers` items */

    pthread_t *threads;
    pool_slot *slots;
    size_t workers;
    size_t busy;                   /* slots running an item */

    bool filling;                  /* a fill runs (unlocked) */
    bool kicked;                   /* fill at once */
    int64_t poll_at;               /* monotonic ms of the next idle fill */
    int64_t poll_ms;               /* the idle interval now */

    bool stopping;                 /* a drain began: no fill, no run */
    bool drained;                  /* the drain finished; threads joined */
};

/* Lock and condition failures on a correctly initialised pool mean memory
 * corruption or a broken invariant; there is no state to recover to. */
static void pool_check(int rc, const char *what)
{
    if (rc != 0 && rc != ETIMEDOUT) {
        sd_error("pool: %s failed: %s", what, strerror(rc));
        abort();
    }
}

static void pool_lock(sd_pool *p) { pool_check(pthread_mutex_lock(&p->lock), "lock"); }
static void pool_unlock(sd_pool *p) { pool_check(pthread_mutex_unlock(&p->lock), "unlock"); }

static void pool_wait(sd_pool *p, pthread_cond_t *cond)
{
    pool_check(pthread_cond_wait(cond, &p->lock), "pthread_cond_wait");
}

/* CLOCK_MONOTONIC now + ms, ms clamped to [0, POOL_TIMEOUT_MAX_MS]. */
static void pool_deadline(int64_t ms, struct timespec *ts)
{
    if (ms < 0)
        ms = 0;
    if (ms > POOL_TIMEOUT_MAX_MS)
        ms = POOL_TIMEOUT_MAX_MS;
    if (clock_gettime(CLOCK_MONOTONIC, ts) != 0) {
        /* Cannot happen for CLOCK_MONOTONIC; no wait rather than a hang. */
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

/* Waits on cond until woken or ms have passed; true on a timeout. */
static bool pool_wait_ms(sd_pool *p, pthread_cond_t *cond, int64_t ms)
{
    struct timespec ts;
    pool_deadline(ms, &ts);
    int rc = pthread_cond_timedwait(cond, &p->lock, &ts);
    pool_check(rc, "pthread_cond_timedwait");
    return rc == ETIMEDOUT;
}

static void pool_wake_all(pthread_cond_t *cond)
{
    pool_check(pthread_cond_broadcast(cond), "pthread_cond_broadcast");
}

/* The fill, called and returning with the lock held (dropped meanwhile). */
static void pool_fill(sd_pool *p)
{
    p->filling = true;
    p->kicked = false;
    size_t want = p->workers - p->busy;
    pool_unlock(p);
    size_t n = p->o.fill(p->o.arg, p->fill_buf, want);
    pool_lock(p);
    if (n > want) {
        sd_error("pool: fill made %zu items for %zu workers", n, want);
        abort();
    }
    p->filling = false;
    /* The ring was empty when the fill began and only a fill adds to it. */
    for (size_t i = 0; i < n; i++) {
        pool_entry *e = &p->ring[(p->head + p->count) % p->workers];
        e->item = p->fill_buf[i];
        e->cancel = SD_RUN_GO;
        p->count++;
    }
    int64_t now = sd_mono_ms();
    if (n > 0) {
        p->poll_ms = p->o.poll_min_ms;
        p->poll_at = now;
    } else {
        p->poll_at = now + p->poll_ms;
        p->poll_ms = p->poll_ms * 2 > p->o.poll_max_ms ? p->o.poll_max_ms : p->poll_ms * 2;
    }
    /* One wake-up per item: the filler takes the first, the others go to
     * as many idle workers, and the last wakes one more (if any waits),
     * which fills again at once, as there may be more. Waking them all
     * would cost each idle worker a wake-up for nothing. A worker left
     * waiting through a fill that found nothing wakes on its own timer
     * (pool_worker), so polling goes on. */
    for (size_t i = 0; i < n; i++)
        pool_check(pthread_cond_signal(&p->work), "pthread_cond_signal");
    if (p->stopping)
        pool_wake_all(&p->idle);
}

/* Runs the slot's item, then each next item its runs bring (see
 * sd_pool_run_fn), while no drain begins; called and returning without
 * the lock, the slot busy. A next item brought once a drain began goes
 * to leftover. */
static void pool_run(sd_pool *p, pool_slot *slot)
{
    sd_pool_item next;
    while (p->o.run(p->o.arg, &slot->item, &slot->cancel, &next)) {
        pool_lock(p);
        bool stopping = p->stopping;
        if (!stopping) {
            slot->item = next;
            atomic_store(&slot->cancel, SD_RUN_GO);
        }
        pool_unlock(p);
        if (stopping) {
            if (p->o.leftover != NULL)
                p->o.leftover(p->o.arg, &next);
            return;
        }
    }
}

/* Worker: runs items and fills until a drain begins. The slot's item and
 * busy fields change only under the lock; the run reads its item
 * unlocked, which is safe because only this thread writes it. */
static void *pool_worker(void *opaque)
{
    pool_slot *slot = opaque;
    sd_pool *p = slot->pool;

    pool_lock(p);
    while (!p->stopping) {
        if (p->count > 0) {
            pool_entry *e = &p->ring[p->head];
            slot->item = e->item;
            atomic_store(&slot->cancel, e->cancel);
            p->head = (p->head + 1) % p->workers;
            p->count--;
            slot->busy = true;
            p->busy++;
            pool_unlock(p);

            pool_run(p, slot);

            pool_lock(p);
            slot->busy = false;
            p->busy--;
            if (p->stopping)
                pool_wake_all(&p->idle);
            continue;
        }
        int64_t wait = p->poll_at - sd_mono_ms();
        if (!p->filling && (p->kicked || wait <= 0))
            pool_fill(p);
        else if (p->filling)
            (void)pool_wait_ms(p, &p->work, p->poll_ms);
        else
            (void)pool_wait_ms(p, &p->work, wait);
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
    free(p->fill_buf);
    free(p->threads);
    free(p->slots);
    free(p);
}

/* Inits the lock and both conditions on CLOCK_MONOTONIC. 0 or an errno
 * value; nothing is left inited on failure. */
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
    rc = pthread_cond_init(&p->work, &attr);
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

/* A failed start: the threads already started were stopped and joined
 * first. */
sd_err sd_pool_new(const sd_pool_opts *opts, sd_pool **out)
{
    *out = NULL;
    if (opts == NULL || opts->fill == NULL || opts->run == NULL)
        return SD_ERR_INVALID;
    sd_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return SD_ERR_NOMEM;
    p->o = *opts;
    if (p->o.poll_min_ms <= 0)
        p->o.poll_min_ms = POLL_MIN_DEFAULT_MS;
    if (p->o.poll_max_ms < p->o.poll_min_ms)
        p->o.poll_max_ms = p->o.poll_min_ms;
    p->poll_ms = p->o.poll_min_ms;
    p->workers = opts->workers;
    if (p->workers > 0) {
        p->ring = calloc(p->workers, sizeof *p->ring);
        p->fill_buf = calloc(p->workers, sizeof *p->fill_buf);
        p->threads = calloc(p->workers, sizeof *p->threads);
        p->slots = calloc(p->workers, sizeof *p->slots);
        if (p->ring == NULL || p->fill_buf == NULL || p->threads == NULL ||
            p->slots == NULL) {
            pool_release(p, false);
            return SD_ERR_NOMEM;
        }
    }
    int rc = pool_sync_init(p);
    if (rc != 0) {
        pool_release(p, false);
        return rc == ENOMEM ? SD_ERR_NOMEM : SD_ERR_INTERNAL;
    }
    p->poll_at = sd_mono_ms();
    /* Set before the first worker starts: work waiting in the store is
     * filled and run at once, and a run reaches its pool through the
     * owner's pointer (sd_pool_wants_next, sd_pool_cancel). */
    *out = p;
    for (size_t i = 0; i < p->workers; i++) {
        p->slots[i].pool = p;
        atomic_init(&p->slots[i].cancel, SD_RUN_GO);
        rc = pthread_create(&p->threads[i], NULL, pool_worker, &p->slots[i]);
        if (rc != 0) {
            sd_error("pool: cannot start worker %zu of %zu: %s", i + 1, p->workers,
                     strerror(rc));
            pool_join(p, i);
            pool_release(p, true);
            *out = NULL;
            return SD_ERR_INTERNAL;
        }
    }
    return SD_OK;
}

void sd_pool_kick(sd_pool *p)
{
    pool_lock(p);
    if (!p->stopping && p->workers > 0) {
        p->kicked = true;
        pool_check(pthread_cond_signal(&p->work), "pthread_cond_signal");
    }
    pool_unlock(p);
}

bool sd_pool_wants_next(sd_pool *p)
{
    pool_lock(p);
    bool wants = !p->stopping && p->count == 0;
    pool_unlock(p);
    return wants;
}

static bool item_is(const sd_pool_item *item, const char *name, const char *tag)
{
    return strcmp(item->name, name) == 0 && (tag == NULL || strcmp(item->tag, tag) == 0);
}

/* Flags every running run of name (and tag) and every filled entry. */
bool sd_pool_cancel(sd_pool *p, const char *name, const char *tag, int reason)
{
    if (name == NULL)
        return false;
    bool found = false;
    pool_lock(p);
    for (size_t i = 0; i < p->workers; i++) {
        pool_slot *slot = &p->slots[i];
        if (slot->busy && item_is(&slot->item, name, tag)) {
            atomic_store(&slot->cancel, reason);
            found = true;
        }
    }
    for (size_t i = 0; i < p->count; i++) {
        pool_entry *e = &p->ring[(p->head + i) % p->workers];
        if (item_is(&e->item, name, tag)) {
            e->cancel = reason;
            found = true;
        }
    }
    pool_unlock(p);
    return found;
}

size_t sd_pool_running(sd_pool *p, sd_pool_item *items, size_t max)
{
    size_t n = 0;
    pool_lock(p);
    for (size_t i = 0; i < p->workers && n < max; i++) {
        if (p->slots[i].busy) {
            memcpy(items[n].name, p->slots[i].item.name, SD_POOL_ITEM_MAX);
            memcpy(items[n].tag, p->slots[i].item.tag, SD_POOL_ITEM_MAX);
            items[n++].data = NULL;
        }
    }
    pool_unlock(p);
    return n;
}

bool sd_pool_stopping(sd_pool *p)
{
    pool_lock(p);
    bool stopping = p->stopping;
    pool_unlock(p);
    return stopping;
}

/* Either pointer may be NULL. */
void sd_pool_stats(sd_pool *p, size_t *waiting, size_t *busy)
{
    pool_lock(p);
    if (waiting != NULL)
        *waiting = p->count;
    if (busy != NULL)
        *busy = p->busy;
    pool_unlock(p);
}

size_t sd_pool_drain(sd_pool *p, int64_t timeout_ms)
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

    while (p->filling)
        pool_wait(p, &p->idle);
    /* Nothing takes from the ring any more; pop one at a time so stats
     * stay exact while leftover runs unlocked. */
    while (p->count > 0) {
        sd_pool_item item = p->ring[p->head].item;
        p->head = (p->head + 1) % p->workers;
        p->count--;
        pool_unlock(p);
        if (p->o.leftover != NULL)
            p->o.leftover(p->o.arg, &item);
        pool_lock(p);
    }

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
    pool_unlock(p);

    pool_join(p, p->workers);

    pool_lock(p);
    p->drained = true;
    pool_wake_all(&p->idle);
    pool_unlock(p);
    if (stopped > 0)
        sd_warn("pool: stopped %zu running item(s) at the drain deadline", stopped);
    return stopped;
}

void sd_pool_free(sd_pool *p)
{
    if (p == NULL)
        return;
    pool_lock(p);
    bool drained = p->drained;
    pool_unlock(p);
    if (!drained)
        sd_pool_drain(p, 0);
    pool_release(p, true);
}
