#ifndef STATUSD_STORE_MEMQUEUE_H
#define STATUSD_STORE_MEMQUEUE_H

/*
 * The queues of the memory store (the queue operations of
 * statusd/store.h). Private to src/store: memory.c owns the queues
 * (mq_queues_*) and puts the mq_* operations in its table; memqueue.c
 * reaches the records through the two hooks below, so that a queue step
 * and its record change happen under the queue's lock.
 */

#include "statusd/store.h"
#include "membudget.h"

typedef struct mq_queues mq_queues;

/* An empty set of queues counting their bytes in budget; NULL on NOMEM. */
mq_queues *mq_queues_new(mb_budget *budget);
/* Frees every queue and item. No other thread may use them any more. */
void mq_queues_free(mq_queues *qs);
/* Drops every item of every queue (the store's clear). */
void mq_queues_clear(mq_queues *qs);

/* ---- hooks memory.c provides ---- */

/* The store's queues. */
mq_queues *mem_queues_of(sd_store *s);
/* The store's update and get operations. A queue operation calls them
 * with its queue locked: queue locks come before shard locks, never
 * after. capped: the update meets the cap (push's; the others finish
 * work accepted earlier and do not). */
sd_err mem_record_update(sd_store *s, const char *ns, const char *id,
                         const sd_update *u, bool capped, sd_record *out);
sd_err mem_record_get(sd_store *s, const char *ns, const char *id, sd_record *out);

/* ---- the operations (see sd_store_ops) ---- */

sd_err mq_push(sd_store *s, const char *queue, const char *item, int64_t delay_ms,
               int64_t capacity, sd_queue_rec *rec);
sd_err mq_take(sd_store *s, const char *queue, const sd_queue_take *t,
               const sd_queue_rec *rec, sd_queue_item *items, size_t *n);
sd_err mq_renew(sd_store *s, const char *queue, const char *item, const char *owner,
                int64_t lease_ms, sd_queue_rec *rec);
sd_err mq_ack(sd_store *s, const char *queue, const char *item, const char *owner,
              sd_queue_rec *rec);
sd_err mq_release(sd_store *s, const char *queue, const char *item, const char *owner,
                  int64_t delay_ms, sd_queue_rec *rec);
sd_err mq_remove(sd_store *s, const char *queue, const char *item, sd_queue_rec *rec);
sd_err mq_reap(sd_store *s, const char *queue, const char *owner, int64_t lease_ms,
               size_t max, sd_queue_item *items, size_t *n);
sd_err mq_stats(sd_store *s, const char *queue, sd_queue_stats *out);

#endif
