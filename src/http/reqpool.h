#ifndef STATUSD_HTTP_REQPOOL_H
#define STATUSD_HTTP_REQPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "statusd/error.h"

/*
 * Request threads: a few threads that run, first come first served, the
 * tasks the HTTP threads hand them, so that an HTTP thread never waits on
 * a store round trip itself (server.c suspends the connection, pushes a
 * task, and the task resumes it). It knows nothing of HTTP.
 *
 * A task is embedded in its owner's struct; the pool links it into its
 * queue and never frees it. Stopping runs every task already queued
 * before the threads exit, so no pushed task is ever dropped: a
 * suspended connection is always resumed.
 */

typedef struct sd_task {
    struct sd_task *next;          /* the pool's; set by sd_reqpool_push */
} sd_task;

/* Runs one task on a request thread; the task is the caller's again once
 * it returns (or from within it, if it hands it on). */
typedef void (*sd_task_fn)(void *arg, sd_task *t);

typedef struct sd_reqpool sd_reqpool;

/* Starts threads threads (at least 1) running run(arg, task), the pool in
 * *out. SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock or a thread cannot be
 * made: *out is then NULL and err has the reason. */
sd_err sd_reqpool_new(size_t threads, sd_task_fn run, void *arg, sd_reqpool **out,
                      char *err, size_t errlen);

/* Queues t for a request thread. False once sd_reqpool_stop has begun:
 * the task was not queued and stays the caller's. Safe to call until
 * sd_reqpool_free. */
bool sd_reqpool_push(sd_reqpool *p, sd_task *t);

/* Refuses further pushes, runs every queued task and joins the threads;
 * p stays valid for pushes (refused) until sd_reqpool_free. NULL is
 * fine; a second call does nothing. */
void sd_reqpool_stop(sd_reqpool *p);

/* sd_reqpool_stop, then frees p: nothing may push to it any more. NULL
 * is fine. */
void sd_reqpool_free(sd_reqpool *p);

#endif
