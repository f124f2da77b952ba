#ifndef STATUSD_STORE_REDIS_ASYNC_H
#define STATUSD_STORE_REDIS_ASYNC_H

/*
 * Commands sent without waiting: one thread of the store runs an event
 * loop (libevent) with one hiredis async connection, and every command
 * that any thread hands it goes out on that connection, pipelined with
 * the others: many requests' commands leave in one write and their
 * replies come back in one read. The caller does not wait; each command's
 * reply is handed to a callback on the loop's thread.
 *
 * It knows nothing of records: redis.c decides what to send and what a
 * reply means. It covers the connection's life: connecting (with the
 * pool's AUTH and SELECT) in the background, a command timeout of its
 * own (hiredis 0.14's async API has none), marking the pool stalled when
 * Redis stops answering, and connecting again after a backoff.
 */

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "redis_conn.h"

typedef struct rd_async rd_async;

/* What became of one command. */
typedef enum rd_async_status {
    RD_ASYNC_REPLY,     /* the server's reply (an error reply included) */
    RD_ASYNC_LOST,      /* the connection went (or was never up, or the
                         * loop is stopping): it may not have run, and a
                         * read may be sent again elsewhere */
    RD_ASYNC_TIMEOUT    /* no reply within the timeout: the server is
                         * stalled (the pool is marked so) */
} rd_async_status;

/* The outcome of command i of a send: r (REPLY only) lives for the call
 * only. Runs on the loop's thread, once per command; replies come in the
 * order of the commands. */
typedef void (*rd_async_fn)(void *arg, size_t i, rd_async_status st, const redisReply *r);
/* After every command of a send had its outcome: the send's last call. */
typedef void (*rd_async_done_fn)(void *arg);

/* Starts the loop thread, which connects to the pool's server in the
 * background. *out is NULL on failure, with a reason in err. */
sd_err rd_async_new(rd_pool *pool, rd_async **out, char *err, size_t errlen);

/* Hands n (1..RD_PIPELINE_MAX) commands to the loop, to go out in order
 * on its connection; fn(arg, i, ...) then runs for each, and done(arg)
 * after them. False, with
 * nothing sent and fn never called, when the connection is not up (not
 * yet, lost, the pool stalled), the loop is stopping, or memory ran out:
 * the caller then does the work the waiting way. Any thread. */
bool rd_async_send(rd_async *a, size_t n, const rd_cmd *cmds, rd_async_fn fn,
                   rd_async_done_fn done, void *arg);

/* Refuses further sends and waits until every command handed over has
 * had its call (replies still due are waited for up to the timeout).
 * NULL is fine; a second call does nothing. */
void rd_async_stop(rd_async *a);

/* rd_async_stop, then frees a. NULL is fine. */
void rd_async_free(rd_async *a);

#endif
