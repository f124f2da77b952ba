#ifndef STATUSD_STORE_REDIS_SUB_H
#define STATUSD_STORE_REDIS_SUB_H

/*
 * The Redis store's change subscription: every script that changes a
 * record PUBLISHes on the channel named by the record's key
 * ("<prefix>{<ns>:<id>}"); one connection per process subscribes to the
 * pattern of all of them, on a thread of its own, and hands each change
 * to the store's change hook, whichever process made it.
 *
 * Pub/sub delivers at most once: what is published while the connection
 * is down is lost. So after every (re)subscription the hook is told that
 * everything may have changed (fn(arg, NULL, NULL)): whatever waits on a
 * record reads it again. The connection is opened again after an outage,
 * with a backoff capped at one second.
 */

#include "statusd/store.h"
#include "redis_conn.h"

typedef struct rd_sub rd_sub;

/* Starts the subscriber for keys under prefix, calling fn(arg, ns, id),
 * in *out. SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock or its thread
 * cannot be made; *out is then NULL. */
sd_err rd_sub_start(rd_pool *pool, const char *prefix, sd_store_change_fn fn, void *arg,
                    rd_sub **out);

/* Stops the subscriber (fn is not called after this returns), frees it. */
void rd_sub_stop(rd_sub *s);

#endif
