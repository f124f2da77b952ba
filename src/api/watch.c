/*
 * The held requests (watch.h): a table of waiters by key, a min-heap of
 * their wake-up times served by one timer thread, and a count of the
 * notices per bucket of keys.
 *
 * One lock guards the table and the heap; it is taken by holds, wake-ups
 * and the timer, never while a store call runs. Notices come from every
 * write of the store, most of them of records nobody waits on, so a
 * notice first bumps its bucket's count and looks at the number of held
 * requests without the lock: with none held it is done. The count is
 * bumped before that look and a hold checks it after linking under the
 * lock (both sequentially consistent), so a notice racing a hold is
 * either seen by the hold (refused: read again) or sees the hold.
 */
#include "api/watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/app.h"
#include "statusd/heap.h"
#include "statusd/log.h"
#include "statusd/util.h"

#define BUCKETS 4096u   /* a power of two */

struct sd_watch {
    pthread_mutex_t lock;
    pthread_cond_t timer_wake;
    pthread_t timer;
    bool timer_started;
    bool stopping;
    bool draining;
    watch_waiter *bucket[BUCKETS];
    atomic_uint_fast64_t seq[BUCKETS];
    atomic_size_t linked;         /* waiters in the table */
    sd_heap heap;                 /* by due_ms */
    atomic_size_t admitted;
    size_t max;
};

static uint32_t key_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

void sd_watch_key(watch_waiter *wt, sd_req *req, const char *ns, const char *id)
{
    wt->req = req;
    snprintf(wt->key, sizeof wt->key, "%s\n%s", ns, id);
    wt->hash = key_hash(wt->key, strlen(wt->key));
}

/* ---- the heap of wake-up times ---- */

static bool due_before(const void *a, const void *b)
{
    return ((const watch_waiter *)a)->due_ms < ((const watch_waiter *)b)->due_ms;
}

static const sd_heap_ops heap_ops = {due_before, offsetof(watch_waiter, heap_at)};

/* ---- the table, under the lock ---- */

static void unlink_waiter(sd_watch *w, watch_waiter *wt)
{
    if (wt->prev != NULL)
        wt->prev->next = wt->next;
    else
        w->bucket[wt->hash & (BUCKETS - 1)] = wt->next;
    if (wt->next != NULL)
        wt->next->prev = wt->prev;
    wt->prev = wt->next = NULL;
    sd_heap_remove(&w->heap, &heap_ops, wt);
    wt->linked = false;
    atomic_fetch_sub(&w->linked, 1);
}

/* Unlinks wt, or every member of its group. */
static void unlink_all(sd_watch *w, watch_waiter *wt)
{
    if (wt->group == NULL) {
        if (wt->linked)
            unlink_waiter(w, wt);
        return;
    }
    for (size_t i = 0; i < wt->group[0].ngroup; i++)
        if (wt->group[i].linked)
            unlink_waiter(w, &wt->group[i]);
}

/* Unlinks wt (with its group) and resumes its request: the last touch of
 * it here, as its holder may free it as soon as the request runs again. */
static void wake(sd_watch *w, watch_waiter *wt, watch_why why)
{
    watch_waiter *first = wt->group != NULL ? wt->group : wt;
    unlink_all(w, wt);
    first->why = why;
    sd_req_resume(first->req);
}

/* ---- the timer ---- */

static void *timer_main(void *arg)
{
    sd_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        int64_t now = sd_mono_ms();
        watch_waiter *first;
        while ((first = sd_heap_top(&w->heap)) != NULL && first->due_ms <= now)
            wake(w, first, WATCH_TIMER);
        int64_t wait_ms = first != NULL ? first->due_ms - now : 1000;
        struct timespec until = sd_mono_deadline(wait_ms < 1000 ? wait_ms : 1000);
        int rc = pthread_cond_timedwait(&w->timer_wake, &w->lock, &until);
        if (rc != 0 && rc != ETIMEDOUT)
            sd_warn("watch: timer wait failed: %d", rc);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

sd_err sd_watch_new(size_t max, sd_watch **out, char *err, size_t errlen)
{
    *out = NULL;
    sd_watch *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    w->max = max;
    bool ok = pthread_mutex_init(&w->lock, NULL) == 0;
    if (ok && sd_cond_init_mono(&w->timer_wake) != 0) {
        pthread_mutex_destroy(&w->lock);
        ok = false;
    }
    for (size_t i = 0; i < BUCKETS; i++)
        atomic_init(&w->seq[i], 0);
    atomic_init(&w->linked, 0);
    atomic_init(&w->admitted, 0);
    if (ok)
        w->timer_started = pthread_create(&w->timer, NULL, timer_main, w) == 0;
    if (!w->timer_started) {
        snprintf(err, errlen, "cannot start the timer of held requests");
        if (ok) {
            pthread_cond_destroy(&w->timer_wake);
            pthread_mutex_destroy(&w->lock);
        }
        free(w);
        return SD_ERR_INTERNAL;
    }
    *out = w;
    return SD_OK;
}

void sd_watch_free(sd_watch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->timer_wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->timer, NULL);
    if (w->heap.n > 0)
        sd_error("watch: %zu requests still held at exit", w->heap.n);
    pthread_cond_destroy(&w->timer_wake);
    pthread_mutex_destroy(&w->lock);
    free(w->heap.v);
    free(w);
}

sd_err sd_watch_admit(sd_watch *w)
{
    size_t n = atomic_fetch_add(&w->admitted, 1);
    if (n < w->max)
        return SD_OK;
    atomic_fetch_sub(&w->admitted, 1);
    return SD_ERR_TOO_MANY_WAITERS;
}

void sd_watch_leave(sd_watch *w) { atomic_fetch_sub(&w->admitted, 1); }

uint64_t sd_watch_seq(sd_watch *w, const watch_waiter *wt)
{
    return atomic_load(&w->seq[wt->hash & (BUCKETS - 1)]);
}

/* Links wt in its bucket and the heap; false when the heap cannot grow. */
static bool link_waiter(sd_watch *w, watch_waiter *wt)
{
    if (!sd_heap_reserve(&w->heap, 256))
        return false;
    size_t b = wt->hash & (BUCKETS - 1);
    sd_heap_push(&w->heap, &heap_ops, wt);
    wt->linked = true;
    wt->prev = NULL;
    wt->next = w->bucket[b];
    if (wt->next != NULL)
        wt->next->prev = wt;
    w->bucket[b] = wt;
    atomic_fetch_add(&w->linked, 1);
    return true;
}

sd_err sd_watch_hold_group(sd_watch *w, watch_waiter *wts, size_t n, const uint64_t *seqs,
                           sd_req_again_fn again, void *arg)
{
    pthread_mutex_lock(&w->lock);
    if (w->draining || w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return SD_ERR_SHUTTING_DOWN;
    }
    wts[0].why = WATCH_NONE;
    sd_err err = SD_OK;
    for (size_t i = 0; i < n && err == SD_OK; i++) {
        wts[i].group = n > 1 ? wts : NULL;
        wts[i].ngroup = n;
        wts[i].req = wts[0].req;
        if (i > 0)
            wts[i].due_ms = INT64_MAX;
        if (!link_waiter(w, &wts[i]))
            err = SD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && err == SD_OK; i++)
        if (atomic_load(&w->seq[wts[i].hash & (BUCKETS - 1)]) != seqs[i])
            err = SD_ERR_CONFLICT;
    if (err != SD_OK) {
        for (size_t i = 0; i < n; i++)
            if (wts[i].linked)
                unlink_waiter(w, &wts[i]);
        pthread_mutex_unlock(&w->lock);
        return err;
    }
    sd_req_suspend(wts[0].req, again, arg);
    if (wts[0].heap_at == 0)
        pthread_cond_signal(&w->timer_wake);
    pthread_mutex_unlock(&w->lock);
    return SD_OK;
}

sd_err sd_watch_hold(sd_watch *w, watch_waiter *wt, uint64_t seq, sd_req_again_fn again,
                     void *arg)
{
    return sd_watch_hold_group(w, wt, 1, &seq, again, arg);
}

void sd_watch_cancel(sd_watch *w, watch_waiter *wt)
{
    pthread_mutex_lock(&w->lock);
    unlink_all(w, wt);
    pthread_mutex_unlock(&w->lock);
}

void sd_watch_notify(void *arg, const char *ns, const char *id)
{
    sd_watch *w = arg;
    if (ns == NULL) {
        for (size_t i = 0; i < BUCKETS; i++)
            atomic_fetch_add(&w->seq[i], 1);
        if (atomic_load(&w->linked) == 0)
            return;
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < BUCKETS; i++)
            while (w->bucket[i] != NULL)
                wake(w, w->bucket[i], WATCH_CHANGED);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    char key[WATCH_KEY_MAX];
    int n = snprintf(key, sizeof key, "%s\n%s", ns, id);
    if (n < 0 || (size_t)n >= sizeof key)
        return; /* longer than any key held */
    uint32_t h = key_hash(key, (size_t)n);
    size_t b = h & (BUCKETS - 1);
    atomic_fetch_add(&w->seq[b], 1);
    if (atomic_load(&w->linked) == 0)
        return;
    pthread_mutex_lock(&w->lock);
    watch_waiter *wt = w->bucket[b];
    while (wt != NULL) {
        watch_waiter *next = wt->next;
        if (wt->hash == h && strcmp(wt->key, key) == 0) {
            bool grouped = wt->group != NULL;
            wake(w, wt, WATCH_CHANGED);
            /* a group may have taken next out of the bucket too */
            if (grouped)
                next = w->bucket[b];
        }
        wt = next;
    }
    pthread_mutex_unlock(&w->lock);
}

void sd_watch_drain(sd_watch *w)
{
    pthread_mutex_lock(&w->lock);
    w->draining = true;
    watch_waiter *first;
    while ((first = sd_heap_top(&w->heap)) != NULL)
        wake(w, first, WATCH_DRAIN);
    pthread_mutex_unlock(&w->lock);
}

/* ---- the application's (statusd/http.h) ---- */

sd_err sd_api_watch_start(sd_app *app, char *err, size_t errlen)
{
    sd_err e = sd_watch_new((size_t)app->cfg->max_waiters, &app->watch, err, errlen);
    if (e != SD_OK)
        return e;
    if (sd_store_on_change(app->store, sd_watch_notify, app->watch) != SD_OK) {
        snprintf(err, errlen, "cannot start the store's change subscription");
        sd_store_on_change(app->store, NULL, NULL);
        sd_watch_free(app->watch);
        app->watch = NULL;
        return SD_ERR_NOMEM;
    }
    return SD_OK;
}

/* How long the drain waits for the answers of held requests to go out
 * (they are sent by the HTTP threads, and a daemon stopped first would
 * close their connections unanswered). */
#define DRAIN_ANSWER_MS 2000

void sd_api_watch_drain(sd_app *app)
{
    if (app->watch == NULL)
        return;
    sd_watch_drain(app->watch);
    int64_t until = sd_mono_ms() + DRAIN_ANSWER_MS;
    while (atomic_load(&app->watch->admitted) > 0 && sd_mono_ms() < until)
        sd_sleep_ms_unless(10, NULL);
}

void sd_api_watch_stop(sd_app *app)
{
    if (app->watch == NULL)
        return;
    sd_store_on_change(app->store, NULL, NULL);
    sd_watch_free(app->watch);
    app->watch = NULL;
}
