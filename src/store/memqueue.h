#ifndef STATUSD_STORE_MEMQUEUE_H
#define STATUSD_STORE_MEMQUEUE_H

/*
 * The queues of the memory store (the queue operations of
 * statusd/store.h), private to src/store. memory.c owns the queues and
 * calls the mq_* operations from its table; a queue step's record change
 * goes to the record layer (memdata.h) with the queue locked.
 */

#include "statusd/store.h"
#include "membudget.h"
#include "memdata.h"
#include "memtable.h"

typedef struct mq_queues mq_queues;

/* An empty set of queues, in *out, whose record changes go to table and
 * whose items count in its byte count. SD_ERR_NOMEM, or SD_ERR_INTERNAL
 * when its lock cannot be made; *out is then NULL. */
sd_err mq_queues_new(memtable *table, mq_queues **out);
/* Frees every queue and item. No other thread may use them any more. */
void mq_queues_free(mq_queues *qs);
/* Drops every item of every queue (the store's clear). */
void mq_queues_clear(mq_queues *qs);

/* ---- the operations (see sd_store_ops) ---- */

sd_err mq_push(mq_queues *qs, const char *queue, const char *item, int64_t delay_ms,
               int64_t capacity, sd_queue_rec *rec);
sd_err mq_take(mq_queues *qs, const char *queue, const sd_queue_take *t,
               const sd_queue_rec *rec, sd_queue_item *items, size_t *n);
sd_err mq_renew(mq_queues *qs, const char *queue, const char *item, const char *owner,
                int64_t lease_ms, sd_queue_rec *rec);
sd_err mq_ack(mq_queues *qs, const char *queue, const char *item, const char *owner,
              sd_queue_rec *rec);
sd_err mq_ack_take(mq_queues *qs, const char *queue, const char *item, const char *owner,
                  sd_queue_rec *rec, const sd_queue_take *t, const sd_queue_rec *take_rec,
                  sd_queue_item *items, size_t *n);
sd_err mq_release(mq_queues *qs, const char *queue, const char *item, const char *owner,
                  int64_t delay_ms, sd_queue_rec *rec);
sd_err mq_remove(mq_queues *qs, const char *queue, const char *item, sd_queue_rec *rec);
sd_err mq_reap(mq_queues *qs, const char *queue, const char *owner, int64_t lease_ms,
               size_t max, sd_queue_item *items, size_t *n);
sd_err mq_stats(mq_queues *qs, const char *queue, sd_queue_stats *out);

#endif
