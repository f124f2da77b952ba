/* A thread calling a function every interval (see statusd/ticker.h). */
#include "statusd/ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "statusd/util.h"

struct sd_ticker {
    int64_t interval_ms;
    bool at_once;           /* the first call without a wait */
    sd_tick_fn fn;
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;          /* under lock */
    pthread_t thread;
};

static void *ticker_main(void *arg)
{
    sd_ticker *t = arg;
    pthread_mutex_lock(&t->lock);
    if (t->at_once && !t->stopping) {
        pthread_mutex_unlock(&t->lock);
        t->fn(t->arg, t);
        pthread_mutex_lock(&t->lock);
    }
    for (;;) {
        struct timespec until = sd_mono_deadline(t->interval_ms);
        /* 0 is a signal or a spurious wake-up: wait on until the deadline.
         * ETIMEDOUT (or a failure, which a retry would repeat) ticks. */
        while (!t->stopping && pthread_cond_timedwait(&t->cond, &t->lock, &until) == 0)
            continue;
        if (t->stopping)
            break;
        pthread_mutex_unlock(&t->lock);
        t->fn(t->arg, t);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

sd_err sd_ticker_start(int64_t interval_ms, bool at_once, sd_tick_fn fn, void *arg,
                       sd_ticker **out)
{
    *out = NULL;
    sd_ticker *t = calloc(1, sizeof *t);
    if (t == NULL)
        return SD_ERR_NOMEM;
    t->interval_ms = interval_ms > 0 ? interval_ms : 1;
    t->at_once = at_once;
    t->fn = fn;
    t->arg = arg;
    if (sd_cond_init_mono(&t->cond) != 0) {
        free(t);
        return SD_ERR_INTERNAL;
    }
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        pthread_cond_destroy(&t->cond);
        free(t);
        return SD_ERR_INTERNAL;
    }
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->cond);
        free(t);
        return SD_ERR_INTERNAL;
    }
    *out = t;
    return SD_OK;
}

bool sd_ticker_stopping(sd_ticker *t)
{
    pthread_mutex_lock(&t->lock);
    bool stopping = t->stopping;
    pthread_mutex_unlock(&t->lock);
    return stopping;
}

void sd_ticker_stop(sd_ticker *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
