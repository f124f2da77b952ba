/* The Redis store's sweeper (see redis_sweep.h). */
#include "redis_sweep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/ticker.h"
#include "statusd/util.h"
#include "redis_store.h"

/* A namespace swept: its name, set once before the slot is published,
 * and its indexed field, NULL until an index is declared (then set once:
 * the prune drops the value index's entries only when given it). */
typedef struct sweep_slot {
    const char *ns;
    _Atomic(const char *) field;
} sweep_slot;

struct rd_sweeper {
    rd_store *store;
    sd_ticker *ticker;
    pthread_mutex_t lock;   /* the writers of slots */
    bool full_told;         /* under lock */
    bool failing;           /* the ticker thread's own: a step failed */
    /* Slots [0, nslots) are published: readers take nslots (acquire) and
     * read those without the lock. */
    sweep_slot slots[RD_SWEEP_MAX_NS];
    atomic_size_t nslots;
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

/* Sweeps the namespace of slot; false when the sweeper is stopping. */
static bool sweep_ns(rd_sweeper *w, sd_ticker *t, const sweep_slot *slot)
{
    const char *field = atomic_load_explicit(&slot->field, memory_order_acquire);
    for (int round = 0; round < RD_SWEEP_ROUNDS; round++) {
        int64_t left = 0;
        sd_err err = sweep_step(w->store, slot->ns, field, &left);
        if (err != SD_OK) {
            /* Redis away: the store's health says so. Anything else is
             * told once until a step succeeds again. The next interval
             * tries again either way. */
            if (err != SD_ERR_UNAVAILABLE && !w->failing)
                sd_warn("redis: sweeping the expired records of '%s' failed: %s; "
                        "trying again every interval", slot->ns, sd_err_name(err));
            else
                sd_debug("redis: sweeping '%s': %s", slot->ns, sd_err_name(err));
            w->failing = err != SD_ERR_UNAVAILABLE;
            break;
        }
        w->failing = false;
        if (left == 0)
            break;
        if (sd_ticker_stopping(t))
            return false;
    }
    return !sd_ticker_stopping(t);
}

/* One interval's sweep: every namespace published so far. */
static void sweep_tick(void *arg, sd_ticker *t)
{
    rd_sweeper *w = arg;
    size_t n = atomic_load_explicit(&w->nslots, memory_order_acquire);
    bool going = true;
    for (size_t i = 0; i < n && going; i++)
        going = sweep_ns(w, t, &w->slots[i]);
}

sd_err rd_sweeper_new(rd_store *s, int64_t interval_ms, rd_sweeper **out)
{
    *out = NULL;
    rd_sweeper *w = calloc(1, sizeof *w);
    if (w == NULL)
        return SD_ERR_NOMEM;
    w->store = s;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w);
        return SD_ERR_INTERNAL;
    }
    sd_err err = sd_ticker_start(interval_ms, false, sweep_tick, w, &w->ticker);
    if (err != SD_OK) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return err;
    }
    *out = w;
    return SD_OK;
}

/* The published slot of ns, or NULL. */
static sweep_slot *slot_of(rd_sweeper *w, const char *ns)
{
    size_t n = atomic_load_explicit(&w->nslots, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(w->slots[i].ns, ns) == 0)
            return &w->slots[i];
    return NULL;
}

/* Publishes a slot for ns (field may be NULL) unless there is one, and
 * gives the field to one that has none; under the lock. Past
 * RD_SWEEP_MAX_NS namespaces, warns once and adds nothing. */
static sd_err slot_add(rd_sweeper *w, const char *ns, const char *field)
{
    sweep_slot *slot = slot_of(w, ns);
    char *f = NULL;
    if (field != NULL && (slot == NULL || atomic_load(&slot->field) == NULL) &&
        (f = strdup(field)) == NULL)
        return SD_ERR_NOMEM;
    if (slot != NULL) {
        if (f != NULL)
            atomic_store_explicit(&slot->field, f, memory_order_release);
        return SD_OK;
    }
    size_t n = atomic_load_explicit(&w->nslots, memory_order_relaxed);
    char *name = n < RD_SWEEP_MAX_NS ? strdup(ns) : NULL;
    if (name == NULL) {
        free(f);
        if (n < RD_SWEEP_MAX_NS)
            return SD_ERR_NOMEM;
        if (!w->full_told)
            sd_warn("redis: more than %d namespaces; '%s' and later ones are not swept "
                    "(their expired records leave the indexes when read)",
                    RD_SWEEP_MAX_NS, ns);
        w->full_told = true;
        return SD_OK;
    }
    w->slots[n].ns = name;
    atomic_init(&w->slots[n].field, f);
    atomic_store_explicit(&w->nslots, n + 1, memory_order_release);
    return SD_OK;
}

sd_err rd_sweeper_add(rd_sweeper *w, const char *ns, const char *field)
{
    pthread_mutex_lock(&w->lock);
    sd_err err = slot_add(w, ns, field);
    pthread_mutex_unlock(&w->lock);
    return err;
}

void rd_sweeper_note(rd_sweeper *w, const char *ns)
{
    if (w == NULL || slot_of(w, ns) != NULL)
        return;
    /* Out of memory leaves the namespace to the reads' prunes. */
    pthread_mutex_lock(&w->lock);
    (void)slot_add(w, ns, NULL);
    pthread_mutex_unlock(&w->lock);
}

void rd_sweeper_free(rd_sweeper *w)
{
    if (w == NULL)
        return;
    sd_ticker_stop(w->ticker);
    pthread_mutex_destroy(&w->lock);
    size_t n = atomic_load(&w->nslots);
    for (size_t i = 0; i < n; i++) {
        free((char *)w->slots[i].ns);
        free((char *)atomic_load(&w->slots[i].field));
    }
    free(w);
}
