/*
 * The queues of the memory store (see memqueue.h and the queue operations
 * of statusd/store.h).
 *
 * DESIGN. A queue is a set of items (memqueue_set.h: heaps of ready,
 * delayed and leased items by time, and a table by item) under the
 * queue's one mutex. The heaps order items by (time, item bytes): the
 * order of a Redis sorted set by score then member, so both stores hand
 * items out alike. Every operation first moves the delayed items that
 * fell due into ready, so the number of due items is ready's size, never
 * a scan.
 *
 * A record change runs with the queue's mutex held (queue locks before
 * shard locks, never the other way round): to every other queue operation
 * the queue step and the change are one step, and the record's shard lock
 * makes the change atomic to everything else. Room in the heaps and the
 * table is made before a change, so a change that succeeded is never
 * undone by an allocation failure; a change that failed for want of
 * memory changed nothing, and neither does the operation (SD_ERR_NOMEM).
 *
 * Queues are made by the first push to their name and live as long as the
 * store. The list of them is read without a lock: a queue is complete
 * before a release store publishes it at the head, and never unlinked.
 */
#include "memqueue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "memqueue_set.h"
#include "store_common.h"

typedef struct mq_queue {
    struct mq_queue *next;            /* set before publication, then fixed */
    pthread_mutex_t lock;
    mq_set items;
    char name[SD_QUEUE_ITEM_MAX];
} mq_queue;

struct mq_queues {
    memtable *table;                  /* the records of the queue steps */
    mb_budget *budget;                /* the store's byte count */
    _Atomic(mq_queue *) head;
    pthread_mutex_t grow;             /* serialises making queues */
};

/* Lock failures on a queue that was set up mean a broken invariant. */
static void mq_lock(mq_queue *q)
{
    if (pthread_mutex_lock(&q->lock) != 0) {
        sd_error("memory queue: pthread_mutex_lock failed");
        abort();
    }
}

static void mq_unlock(mq_queue *q) { pthread_mutex_unlock(&q->lock); }

/* now + ms, saturating. */
static int64_t after(int64_t now, int64_t ms) { return ms > INT64_MAX - now ? INT64_MAX : now + ms; }

/* Where an item due at `at` waits, seen at now. */
static mq_where waiting_heap(int64_t at, int64_t now) { return at <= now ? MQ_READY : MQ_DELAYED; }

/* owner's entry for item, or NULL. */
static mq_entry *held(mq_queue *q, const char *item, const char *owner)
{
    mq_entry *e = mq_set_find(&q->items, item);
    return e != NULL && e->where == MQ_LEASED && strcmp(e->owner, owner) == 0 ? e : NULL;
}

/* ---- the set of queues ---- */

sd_err mq_queues_new(memtable *table, mq_queues **out)
{
    *out = NULL;
    mq_queues *qs = calloc(1, sizeof *qs);
    if (qs == NULL)
        return SD_ERR_NOMEM;
    qs->table = table;
    qs->budget = memtable_budget(table);
    if (pthread_mutex_init(&qs->grow, NULL) != 0) {
        free(qs);
        return SD_ERR_INTERNAL;
    }
    atomic_init(&qs->head, NULL);
    *out = qs;
    return SD_OK;
}

void mq_queues_clear(mq_queues *qs)
{
    for (mq_queue *q = atomic_load_explicit(&qs->head, memory_order_acquire); q != NULL;
         q = q->next) {
        mq_lock(q);
        mq_set_empty(&q->items);
        mq_unlock(q);
    }
}

void mq_queues_free(mq_queues *qs)
{
    if (qs == NULL)
        return;
    mq_queue *q = atomic_load(&qs->head);
    while (q != NULL) {
        mq_queue *next = q->next;
        mq_set_free(&q->items);
        pthread_mutex_destroy(&q->lock);
        free(q);
        q = next;
    }
    pthread_mutex_destroy(&qs->grow);
    free(qs);
}

static mq_queue *queue_find(mq_queues *qs, const char *name)
{
    for (mq_queue *q = atomic_load_explicit(&qs->head, memory_order_acquire); q != NULL;
         q = q->next)
        if (strcmp(q->name, name) == 0)
            return q;
    return NULL;
}

/* The queue of that name, made when there is none. SD_ERR_NOMEM. */
static sd_err queue_get(mq_queues *qs, const char *name, mq_queue **out)
{
    *out = queue_find(qs, name);
    if (*out != NULL)
        return SD_OK;
    pthread_mutex_lock(&qs->grow);
    sd_err err = SD_OK;
    mq_queue *q = queue_find(qs, name);
    if (q == NULL) {
        q = calloc(1, sizeof *q);
        if (q == NULL || pthread_mutex_init(&q->lock, NULL) != 0) {
            free(q);
            q = NULL;
            err = SD_ERR_NOMEM;
        } else {
            q->items.budget = qs->budget;
            memcpy(q->name, name, strlen(name) + 1);
            q->next = atomic_load_explicit(&qs->head, memory_order_relaxed);
            atomic_store_explicit(&qs->head, q, memory_order_release);
        }
    }
    pthread_mutex_unlock(&qs->grow);
    *out = q;
    return err;
}

/* The queue of that name, locked, with due items promoted at *now; NULL
 * when it was never made (it is empty). */
static mq_queue *queue_open(mq_queues *qs, const char *name, int64_t *now)
{
    mq_queue *q = queue_find(qs, name);
    if (q == NULL)
        return NULL;
    mq_lock(q);
    *now = sd_now_ms();
    mq_set_promote(&q->items, *now);
    return q;
}

/* ---- record changes ---- */

/* Tries rec's change (none: SD_OK) on the record item names; capped as
 * md_update's. */
static sd_err rec_try(mq_queues *qs, sd_queue_rec *rec, const char *item, bool capped)
{
    if (rec == NULL)
        return SD_OK;
    rec->err = md_update(qs->table, rec->ns, item, rec->u, capped && !rec->u->settles,
                                 rec->out);
    return rec->err;
}

/* ---- operations ---- */

sd_err mq_push(mq_queues *qs, const char *queue, const char *item, int64_t delay_ms,
               int64_t capacity, sd_queue_rec *rec)
{
    mq_queue *q;
    sd_err err = queue_get(qs, queue, &q);
    if (err != SD_OK)
        return err;
    mq_lock(q);
    int64_t now = sd_now_ms();
    mq_set *set = &q->items;
    mq_set_promote(set, now);
    int64_t due = after(now, delay_ms);
    mq_where where = waiting_heap(due, now);
    mq_entry *e = NULL;
    if (mq_set_find(set, item) != NULL)
        err = SD_ERR_EXISTS;
    else if (capacity > 0 &&
             mq_set_size(set, MQ_READY) + mq_set_size(set, MQ_DELAYED) >= (uint64_t)capacity)
        err = SD_ERR_QUEUE_FULL;
    else if (rec != NULL && !rec->u->settles &&
             !mb_room(set->budget, mq_set_reserve_cost(set, where, true) + mq_set_entry_cost()))
        err = SD_ERR_STORE_FULL;
    else if (!mq_set_reserve(set, where, true) || (e = calloc(1, sizeof *e)) == NULL)
        err = SD_ERR_NOMEM;
    else {
        /* The entry is counted while the record change meets the cap,
         * so that the two together fit; insert counts it for good. */
        mb_add(set->budget, mq_set_entry_cost());
        err = rec_try(qs, rec, item, true);
        mb_add(set->budget, -mq_set_entry_cost());
        if (err == SD_OK) {
            memcpy(e->item, item, strlen(item) + 1);
            mq_set_insert(set, e, where, due);
            e = NULL;
        }
    }
    mq_unlock(q);
    free(e);
    return err;
}

/* take's resume: q's items leased to t->owner into items from *k on, their
 * leases extended to lease_end, with their records as they stand when rec
 * names a namespace. */
static void take_resume(mq_queues *qs, mq_queue *q, const sd_queue_take *t,
                        const sd_queue_rec *rec, int64_t lease_end, sd_queue_item *items,
                        size_t *k)
{
    mq_entry *e;
    for (size_t i = 0; (e = mq_set_at(&q->items, MQ_LEASED, i)) != NULL && *k < t->max; i++) {
        if (strcmp(e->owner, t->owner) != 0)
            continue;
        sd_queue_item *out = &items[(*k)++];
        memcpy(out->item, e->item, sizeof out->item);
        memcpy(out->owner, e->owner, sizeof out->owner);
        if (rec != NULL)
            (void)md_read(qs->table, rec->ns, e->item, 0, 0, &out->rec, NULL);
    }
    /* Extended after the walk: retiming reorders the heap. */
    for (size_t i = 0; i < *k; i++)
        mq_set_retime(&q->items, mq_set_find(&q->items, items[i].item), lease_end);
}

/* The earliest waiting item due by limit, or NULL. */
static mq_entry *next_due(mq_queue *q, int64_t limit)
{
    mq_entry *e = mq_set_first(&q->items, MQ_READY);
    if (e != NULL)
        return e;
    e = mq_set_first(&q->items, MQ_DELAYED);
    return e != NULL && e->at <= limit ? e : NULL;
}

/* Takes due items of the locked q into items from *k on, as take does
 * (t->resume aside). SD_ERR_NOMEM when it had to stop early. */
static sd_err take_due(mq_queues *qs, mq_queue *q, const sd_queue_take *t,
                       const sd_queue_rec *rec, int64_t now, sd_queue_item *items, size_t *k)
{
    int64_t lease_end = after(now, t->lease_ms), limit = after(now, t->ahead_ms);
    mq_entry *e;
    while (*k < t->max && (e = next_due(q, limit)) != NULL) {
        sd_queue_item *out = &items[*k];
        if (!mq_set_reserve(&q->items, MQ_LEASED, false))
            return SD_ERR_NOMEM;
        if (rec != NULL) {
            sd_err c = md_update(qs->table, rec->ns, e->item, rec->u, false, &out->rec);
            if (c == SD_ERR_NOMEM)
                return c;
            if (c != SD_OK) {
                /* Nothing to run: the record is gone or past this step. */
                sd_record_clear(&out->rec);
                mq_set_drop(&q->items, e);
                continue;
            }
        }
        memcpy(e->owner, t->owner, strlen(t->owner) + 1);
        memcpy(out->item, e->item, sizeof out->item);
        mq_set_move(&q->items, e, MQ_LEASED, lease_end);
        (*k)++;
    }
    return SD_OK;
}

sd_err mq_take(mq_queues *qs, const char *queue, const sd_queue_take *t,
               const sd_queue_rec *rec, sd_queue_item *items, size_t *n)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_OK;
    size_t k = 0;
    if (t->resume)
        take_resume(qs, q, t, rec, after(now, t->lease_ms), items, &k);
    sd_err err = take_due(qs, q, t, rec, now, items, &k);
    mq_unlock(q);
    *n = k;
    return k > 0 ? SD_OK : err;
}

sd_err mq_renew(mq_queues *qs, const char *queue, const char *item, const char *owner,
                int64_t lease_ms, sd_queue_rec *rec)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_ERR_NOT_FOUND;
    mq_entry *e = held(q, item, owner);
    sd_err err = e == NULL ? SD_ERR_NOT_FOUND : SD_OK;
    if (e != NULL && rec_try(qs, rec, item, false) == SD_ERR_NOMEM)
        err = SD_ERR_NOMEM;
    if (err == SD_OK)
        mq_set_retime(&q->items, e, after(now, lease_ms));
    mq_unlock(q);
    return err;
}

/* ack's step on the locked q. */
static sd_err ack_held(mq_queues *qs, mq_queue *q, const char *item, const char *owner,
                       sd_queue_rec *rec)
{
    mq_entry *e = held(q, item, owner);
    sd_err err = e == NULL ? SD_ERR_NOT_FOUND : SD_OK;
    if (e != NULL && rec_try(qs, rec, item, false) == SD_ERR_NOMEM)
        err = SD_ERR_NOMEM;
    if (err == SD_OK)
        mq_set_drop(&q->items, e);
    return err;
}

sd_err mq_ack(mq_queues *qs, const char *queue, const char *item, const char *owner,
              sd_queue_rec *rec)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_ERR_NOT_FOUND;
    sd_err err = ack_held(qs, q, item, owner, rec);
    mq_unlock(q);
    return err;
}

sd_err mq_ack_take(mq_queues *qs, const char *queue, const char *item, const char *owner,
                   sd_queue_rec *rec, const sd_queue_take *t, const sd_queue_rec *take_rec,
                   sd_queue_item *items, size_t *n)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_ERR_NOT_FOUND;
    size_t k = 0;
    sd_err err = ack_held(qs, q, item, owner, rec);
    if (err == SD_OK)
        (void)take_due(qs, q, t, take_rec, now, items, &k);
    mq_unlock(q);
    *n = k;
    return err;
}

sd_err mq_release(mq_queues *qs, const char *queue, const char *item, const char *owner,
                  int64_t delay_ms, sd_queue_rec *rec)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_ERR_NOT_FOUND;
    int64_t due = after(now, delay_ms);
    mq_where where = waiting_heap(due, now);
    mq_entry *e = held(q, item, owner);
    sd_err err = e == NULL ? SD_ERR_NOT_FOUND : SD_OK;
    if (err == SD_OK && !mq_set_reserve(&q->items, where, false))
        err = SD_ERR_NOMEM;
    if (err == SD_OK) {
        sd_err c = rec_try(qs, rec, item, false);
        if (c == SD_ERR_NOMEM)
            err = c;
        else if (c != SD_OK)
            mq_set_drop(&q->items, e);
        else
            mq_set_move(&q->items, e, where, due);
    }
    mq_unlock(q);
    return err;
}

sd_err mq_remove(mq_queues *qs, const char *queue, const char *item, sd_queue_rec *rec)
{
    int64_t now = 0;
    mq_queue *q = queue_open(qs, queue, &now);
    /* The change is tried whether or not the queue exists. */
    sd_err c = rec_try(qs, rec, item, false);
    sd_err err = c == SD_ERR_NOMEM ? c : SD_OK;
    if (err == SD_OK && c == SD_OK) {
        mq_entry *e = q != NULL ? mq_set_find(&q->items, item) : NULL;
        if (e == NULL || e->where == MQ_LEASED)
            err = SD_ERR_NOT_FOUND;
        else
            mq_set_drop(&q->items, e);
    }
    if (q != NULL)
        mq_unlock(q);
    return err;
}

sd_err mq_reap(mq_queues *qs, const char *queue, const char *owner, int64_t lease_ms,
               size_t max, sd_queue_item *items, size_t *n)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_OK;
    int64_t lease_end = after(now, lease_ms);
    size_t k = 0;
    mq_entry *e;
    /* A renewed lease ends after now, so the first is a new one each time. */
    while (k < max && (e = mq_set_first(&q->items, MQ_LEASED)) != NULL && e->at < now) {
        memcpy(items[k].item, e->item, sizeof items[k].item);
        memcpy(items[k].owner, e->owner, sizeof items[k].owner);
        memcpy(e->owner, owner, strlen(owner) + 1);
        mq_set_retime(&q->items, e, lease_end);
        k++;
    }
    mq_unlock(q);
    *n = k;
    return SD_OK;
}

sd_err mq_stats(mq_queues *qs, const char *queue, sd_queue_stats *out)
{
    int64_t now;
    mq_queue *q = queue_open(qs, queue, &now);
    if (q == NULL)
        return SD_OK;
    out->ready = (int64_t)mq_set_size(&q->items, MQ_READY);
    out->delayed = (int64_t)mq_set_size(&q->items, MQ_DELAYED);
    out->leased = (int64_t)mq_set_size(&q->items, MQ_LEASED);
    mq_unlock(q);
    return SD_OK;
}
