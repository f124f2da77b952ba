/* The Redis store's sweeper (see redis_sweep.h). */
#include "redis_sweep.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_store.h"

struct rd_sweeper {
    rd_store *store;
    int64_t interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    rd_value_index *ns; /* what to sweep, under lock: names and fields */
    size_t nns;
};

/* One step on ns (indexed by field): *left gets how many expired
 * records it left. */
static sd_err sweep_step(rd_store *s, const char *ns, const char *field, int64_t *left)
{
    rd_args a;
    rd_args_namespace(&a, s->prefix, ns, sd_now_ms(), field);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_PRUNE, &a, &r);
    if (err == SD_OK && (r->type != REDIS_REPLY_INTEGER || r->integer < 0))
        err = rd_bad_reply("prune");
    if (err == SD_OK)
        *left = r->integer;
    freeReplyObject(r);
    return err;
}

/* Sweeps namespace i of w; false when the sweeper is stopping. */
static bool sweep_ns(rd_sweeper *w, size_t i)
{
    /* The entries never change once added, and the array only moves
     * under the lock: copies of the two pointers are safe to use while
     * the sweeper lives. */
    pthread_mutex_lock(&w->lock);
    bool stopping = w->stopping;
    rd_value_index ix = {NULL, NULL};
    if (i < w->nns && !stopping)
        ix = w->ns[i];
    pthread_mutex_unlock(&w->lock);
    if (ix.ns == NULL)
        return !stopping;
    for (int round = 0; round < RD_SWEEP_ROUNDS; round++) {
        int64_t left = 0;
        sd_err err = sweep_step(w->store, ix.ns, ix.field, &left);
        if (err != SD_OK) {
            /* Redis away: the store's health says so; the next interval
             * tries again. */
            sd_debug("redis: sweeping '%s': %s", ix.ns, sd_err_name(err));
            break;
        }
        pthread_mutex_lock(&w->lock);
        stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        if (left == 0 || stopping)
            break;
    }
    return !stopping;
}

/* Waits interval_ms on w's condition; false when stopping. Called with
 * the lock held. */
static bool wait_interval(rd_sweeper *w)
{
    struct timespec until = sd_mono_deadline(w->interval_ms);
    /* 0 is a signal or a spurious wake-up: wait on until the deadline. */
    while (!w->stopping && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
        continue;
    return !w->stopping;
}

static void *sweeper_main(void *arg)
{
    rd_sweeper *w = arg;
    pthread_mutex_lock(&w->lock);
    while (wait_interval(w)) {
        size_t n = w->nns;
        pthread_mutex_unlock(&w->lock);
        bool going = true;
        for (size_t i = 0; i < n && going; i++)
            going = sweep_ns(w, i);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

sd_err rd_sweeper_new(rd_store *s, int64_t interval_ms, rd_sweeper **out)
{
    *out = NULL;
    rd_sweeper *w = calloc(1, sizeof *w);
    if (w == NULL)
        return SD_ERR_NOMEM;
    w->store = s;
    w->interval_ms = interval_ms;
    if (sd_cond_init_mono(&w->cond) != 0) {
        free(w);
        return SD_ERR_INTERNAL;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->cond);
        free(w);
        return SD_ERR_INTERNAL;
    }
    if (pthread_create(&w->thread, NULL, sweeper_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return SD_ERR_INTERNAL;
    }
    *out = w;
    return SD_OK;
}

sd_err rd_sweeper_add(rd_sweeper *w, const char *ns, const char *field)
{
    sd_err err = SD_OK;
    pthread_mutex_lock(&w->lock);
    bool have = false;
    for (size_t i = 0; i < w->nns && !have; i++)
        have = strcmp(w->ns[i].ns, ns) == 0;
    if (!have) {
        rd_value_index add = {strdup(ns), strdup(field)};
        rd_value_index *grown = NULL;
        if (add.ns != NULL && add.field != NULL)
            grown = realloc(w->ns, (w->nns + 1) * sizeof *grown);
        if (grown == NULL) {
            free(add.ns);
            free(add.field);
            err = SD_ERR_NOMEM;
        } else {
            w->ns = grown;
            w->ns[w->nns++] = add;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return err;
}

void rd_sweeper_free(rd_sweeper *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    for (size_t i = 0; i < w->nns; i++) {
        free(w->ns[i].ns);
        free(w->ns[i].field);
    }
    free(w->ns);
    free(w);
}
