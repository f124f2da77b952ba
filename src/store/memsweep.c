/* The memory table's sweeper (see memsweep.h). */
#include "memsweep.h"

#include <time.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "memtable.h"

static void *sweeper_main(void *arg)
{
    mt_sweeper *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        struct timespec until;
        if (clock_gettime(CLOCK_MONOTONIC, &until) != 0) {
            sd_error("memory store: clock_gettime failed; sweeper stopped");
            break;
        }
        until.tv_sec += (time_t)(w->interval_ms / 1000);
        until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* 0 is a signal or a spurious wake-up: wait on until the deadline.
         * ETIMEDOUT (or a failure, which a retry would repeat) sweeps. */
        while (!w->stopping && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
            continue;
        if (w->stopping)
            break;
        pthread_mutex_unlock(&w->lock);
        memtable_sweep(w->table, sd_now_ms());
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int mt_sweeper_start(mt_sweeper *w, memtable *t, int64_t interval_ms)
{
    w->table = t;
    w->interval_ms = interval_ms;
    w->stopping = false;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->cond);
        return -1;
    }
    if (pthread_create(&w->thread, NULL, sweeper_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        return -1;
    }
    return 0;
}

void mt_sweeper_stop(mt_sweeper *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}
