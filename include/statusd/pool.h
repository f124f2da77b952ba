#ifndef STATUSD_POOL_H
#define STATUSD_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * A pool of worker threads that fetch their own work. It knows nothing of
 * jobs or stores: an idle worker calls the fill function for as many
 * items as there are idle workers (one fill at a time), and each item is
 * handed to the run function with a cancel flag (SD_RUN_* values of
 * handler.h) that sd_pool_cancel() and the drain set. A run may also
 * bring the next item of its own worker as it ends (sd_pool_run_fn).
 *
 * When to fill: at once after sd_pool_kick() (new work was made here),
 * and otherwise by polling: after a fill that found nothing the next one
 * waits poll_min_ms, doubling up to poll_max_ms, so an idle pool asks a
 * few times a second; a fill that found items (or a kick) starts over.
 */

#define SD_POOL_ITEM_MAX 64   /* bytes of an item's name and tag, NUL included */

/* One unit of work, as fill makes it. */
typedef struct sd_pool_item {
    char name[SD_POOL_ITEM_MAX];   /* names the run (sd_pool_cancel) */
    char tag[SD_POOL_ITEM_MAX];    /* a second string kept with it (a lease owner) */
    void *data;                    /* fill's; run or leftover takes it over */
} sd_pool_item;

/* Makes up to max items in items[0..max); returns how many (0: none now).
 * Called on a worker thread, by one worker at a time, without the pool's
 * lock. */
typedef size_t (*sd_pool_fill_fn)(void *arg, sd_pool_item *items, size_t max);

/* Runs one item on a worker thread; cancel stays valid until it returns.
 * Owns item->data from here on. A run that can get its worker's next
 * item in the step that ends this one (when sd_pool_wants_next says the
 * pool wants one) makes it in *next, as fill would, and returns true:
 * the same worker runs it at once, with no fill and no wake-up (or,
 * when a drain began meanwhile, it goes to leftover). Else false. */
typedef bool (*sd_pool_run_fn)(void *arg, sd_pool_item *item, const atomic_int *cancel,
                               sd_pool_item *next);

/* An item filled but never run (the pool stopped first); owns
 * item->data. */
typedef void (*sd_pool_leftover_fn)(void *arg, sd_pool_item *item);

typedef struct sd_pool_opts {
    size_t workers;                /* 0 is allowed: nothing runs */
    sd_pool_fill_fn fill;
    sd_pool_run_fn run;
    sd_pool_leftover_fn leftover;  /* may be NULL when fill never sets data */
    void *arg;                     /* for all three */
    int64_t poll_min_ms;           /* <= 0: 50 */
    int64_t poll_max_ms;           /* < poll_min_ms: poll_min_ms */
} sd_pool_opts;

typedef struct sd_pool sd_pool;

/* Starts the workers of the pool put in *out. SD_ERR_INVALID without fill
 * or run, SD_ERR_NOMEM, SD_ERR_INTERNAL when a lock or a thread cannot be
 * made; *out is then NULL. The caller frees it with sd_pool_free. */
sd_err sd_pool_new(const sd_pool_opts *opts, sd_pool **out);

/* New work may be there: an idle worker fills now. */
void sd_pool_kick(sd_pool *p);

/* For a run about to end: true when its worker should bring its next
 * item (the run function's next), because no drain began and no filled
 * item waits for a worker. */
bool sd_pool_wants_next(sd_pool *p);

/* Sets the cancel flag of the runs of the item named name, running now or
 * filled and about to run; with tag not NULL, only of those with that
 * tag (one run of a job, not a later one). True when it found one. */
bool sd_pool_cancel(sd_pool *p, const char *name, const char *tag, int reason);

/* Copies the name and tag (data NULL) of the items running now into
 * items[0..max); returns how many. */
size_t sd_pool_running(sd_pool *p, sd_pool_item *items, size_t max);

/* True once a drain began: nothing is filled or started any more. */
bool sd_pool_stopping(sd_pool *p);

/* Items filled and not yet started, and workers running an item. */
void sd_pool_stats(sd_pool *p, size_t *waiting, size_t *busy);

/*
 * Orderly stop: no fill starts any more; the items filled but not started
 * go to leftover at once (after a fill in progress ends); running items
 * get up to timeout_ms to finish, then their cancel flag is set to
 * SD_RUN_SHUTDOWN and the drain waits for them (run functions must honour
 * it); then the threads are joined. Returns the number of runs that had
 * to be stopped. Not to be called from a run, fill or leftover function.
 * A second drain waits for the first and returns 0.
 */
size_t sd_pool_drain(sd_pool *p, int64_t timeout_ms);

/* Frees the pool, draining with timeout 0 first if needed. NULL is a
 * no-op. */
void sd_pool_free(sd_pool *p);

#endif
