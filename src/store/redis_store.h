#ifndef STATUSD_STORE_REDIS_STORE_H
#define STATUSD_STORE_REDIS_STORE_H

/*
 * The Redis store's own state, shared by redis.c (records, namespaces,
 * rate limits, health) and redis_queue.c (queues). Private to src/store.
 */

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "statusd/store.h"
#include "redis_args.h"
#include "redis_async.h"
#include "redis_reply.h"
#include "redis_conn.h"
#include "redis_scripts.h"

/* A namespace and the field its records are counted by. */
typedef struct rd_value_index {
    char *ns;
    char *field;
} rd_value_index;

typedef struct rd_store {
    sd_store base;
    rd_pool *pool;
    char *prefix;
    size_t prefix_len;
    rd_value_index *indexes;   /* set at start-up, read-only once shared */
    size_t nindexes;
    struct rd_sub *sub;        /* the change subscription, or NULL */
    rd_async *async;           /* the pipelined connection of polls */
    struct rd_sweeper *sweeper;   /* redis_sweep.h */
} rd_store;

/* The indexed field of ns, NULL for none. */
const char *rd_store_index_field(const rd_store *s, const char *ns);

/* Runs script id with the arguments (consumed) and hands back its reply
 * (the caller frees it); errors as rd_script. */
sd_err rd_store_run(rd_store *s, rd_script_id id, rd_args *a, redisReply **r);

/* Removes every key under the prefix, as sd_store_ops' clear
 * (redis_keys.c). */
sd_err rd_store_clear(sd_store *st, int64_t *deleted);

/* Removes what the earlier layout of ns's value index (indexed by field)
 * left, keeping counted the records it alone counted (redis_keys.c).
 * Best effort: a failure is logged, and the next start tries again. */
void rd_store_drop_legacy_index(rd_store *s, const char *ns, const char *field);

/* The queue operations (redis_queue.c), as sd_store_ops has them. */
sd_err rd_queue_push(sd_store *s, const char *queue, const char *item, int64_t delay_ms,
                     int64_t capacity, sd_queue_rec *rec);
sd_err rd_queue_take(sd_store *s, const char *queue, const sd_queue_take *t,
                     const sd_queue_rec *rec, sd_queue_item *items, size_t *n);
sd_err rd_queue_renew(sd_store *s, const char *queue, const char *item, const char *owner,
                      int64_t lease_ms, sd_queue_rec *rec);
sd_err rd_queue_ack(sd_store *s, const char *queue, const char *item, const char *owner,
                    sd_queue_rec *rec);
sd_err rd_queue_ack_take(sd_store *s, const char *queue, const char *item, const char *owner,
                        sd_queue_rec *rec, const sd_queue_take *t, const sd_queue_rec *take_rec,
                        sd_queue_item *items, size_t *n);
sd_err rd_queue_release(sd_store *s, const char *queue, const char *item,
                        const char *owner, int64_t delay_ms, sd_queue_rec *rec);
sd_err rd_queue_remove(sd_store *s, const char *queue, const char *item, sd_queue_rec *rec);
sd_err rd_queue_reap(sd_store *s, const char *queue, const char *owner, int64_t lease_ms,
                     size_t max, sd_queue_item *items, size_t *n);
sd_err rd_queue_stats(sd_store *s, const char *queue, sd_queue_stats *out);

#endif
