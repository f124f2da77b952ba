#ifndef STATUSD_STORE_MEMSWEEP_H
#define STATUSD_STORE_MEMSWEEP_H

/*
 * The memory table's sweeper: a thread that calls memtable_sweep every
 * interval, so records nobody reads again do not pile up. It sleeps on a
 * condition variable with a timed wait (on the monotonic clock), so
 * mt_sweeper_stop ends it at once instead of waiting out an interval.
 * Private to src/store; memtable.c embeds one.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct memtable memtable;

typedef struct mt_sweeper {
    memtable *table;
    int64_t interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;        /* under lock */
    pthread_t thread;
} mt_sweeper;

/* Starts sweeping t every interval_ms (> 0). 0, or -1 when a lock,
 * condition or the thread cannot be made (nothing to stop then). */
int mt_sweeper_start(mt_sweeper *w, memtable *t, int64_t interval_ms);

/* Stops the thread, waiting for a sweep under way, and frees the rest. */
void mt_sweeper_stop(mt_sweeper *w);

#endif
