#ifndef STATUSD_POOL_H
#define STATUSD_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * A pool of worker threads fed by a bounded in-process queue of items
 * (short strings: job ids). It knows nothing of jobs or stores: a taken
 * item is handed to the run function with a cancel flag (SD_RUN_* values
 * of handler.h) that sd_pool_cancel() and the drain set.
 */

#define SD_POOL_ITEM_MAX 64   /* bytes of an item, NUL included */

typedef struct sd_pool sd_pool;

/* Runs one item on a worker thread. cancel stays valid until it returns. */
typedef void (*sd_pool_run_fn)(void *arg, const char *item,
                               const atomic_int *cancel);

/* Starts workers threads (0 is allowed: nothing runs). NULL with errno on
 * failure. */
sd_pool *sd_pool_new(size_t workers, size_t capacity, sd_pool_run_fn run,
                     void *arg);

/* Queues an item. SD_ERR_QUEUE_FULL when capacity items wait already,
 * SD_ERR_SHUTTING_DOWN once a drain began, SD_ERR_INVALID when the item is
 * empty or too long, SD_ERR_UNAVAILABLE when the pool has no worker. */
sd_err sd_pool_submit(sd_pool *p, const char *item);

/* Sets the cancel flag of the run of item, if one runs now. True when it
 * did. */
bool sd_pool_cancel(sd_pool *p, const char *item, int reason);

/* Copies the items running now into items[0..max); returns how many. */
size_t sd_pool_running(sd_pool *p, char (*items)[SD_POOL_ITEM_MAX], size_t max);

/* Items waiting, and workers running an item. */
void sd_pool_stats(sd_pool *p, size_t *queued, size_t *busy);

/*
 * Orderly stop: takes no new item (submit answers SD_ERR_SHUTTING_DOWN),
 * lets running items finish for up to timeout_ms, then sets their cancel
 * flag to SD_RUN_SHUTDOWN and waits for them to return; then calls
 * leftover(arg, item) for each item never started, and joins the threads.
 * Returns the number of runs that had to be stopped.
 */
size_t sd_pool_drain(sd_pool *p, int64_t timeout_ms,
                     void (*leftover)(void *arg, const char *item), void *arg);

/* Frees the pool (draining with timeout 0 first if needed). */
void sd_pool_free(sd_pool *p);

#endif
