/*
 * The sharded hash table of the memory store (see memtable.h).
 *
 * Design. A key (tag, namespace, id) hashes to one of a power-of-two
 * number of shards, each a chained hash table with its own mutex that
 * doubles its bucket array when it holds more records than buckets. Many
 * threads touching different records thus rarely wait on each other, and
 * one record's change is atomic under one lock.
 *
 * Expiry follows Redis: a record is dropped when an access finds it
 * expired, and a sweeper thread removes the rest every sweep interval, so
 * records nobody reads again do not pile up. The sweeper sleeps on a
 * condition variable with a timed wait, so memtable_free stops it at once
 * instead of waiting out an interval.
 *
 * Counts. Each namespace has an atomic live counter, changed under the
 * shard lock whenever one of its records is inserted or removed, so a
 * count is a load, not a scan. Namespace counters live as long as the
 * table (statusd uses a handful of fixed namespaces). The value counters
 * of an indexed namespace (see memtable.h) are guarded by its own mutex,
 * taken inside a shard lock, never the other way round.
 */
#include "memtable.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/log.h"
#include "statusd/util.h"

#define MT_DEFAULT_SHARDS 64u
#define MT_MAX_SHARDS 4096u
#define MT_DEFAULT_SWEEP_MS 1000
#define MT_INITIAL_BUCKETS 16u
#define MT_MAX_BUCKETS ((size_t)1 << 30)

struct mt_ns {
    struct mt_ns *next;
    _Atomic int64_t live;
    char *field;              /* the indexed field; NULL for none */
    pthread_mutex_t values_lock;
    mt_value *values;         /* under values_lock, as their counts */
    char name[];
};

struct mt_value {
    struct mt_value *next;
    mt_ns *ns;
    int64_t live;             /* entries counting under it; freed at 0 */
    size_t len;
    char value[];             /* value[0..len), NUL-terminated */
};

struct mt_shard {
    pthread_mutex_t lock;
    mt_entry **buckets;
    size_t nbuckets;      /* a power of two */
    size_t count;
};

struct memtable {
    mt_shard *shards;
    unsigned nshards;     /* a power of two */
    pthread_rwlock_t ns_lock;
    mt_ns *namespaces;
    int64_t sweep_ms;
    pthread_mutex_t sweep_lock;
    pthread_cond_t sweep_cond;
    bool stopping;        /* under sweep_lock */
    pthread_t sweeper;
};

/* ---- keys ---- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void mt_key_init(mt_key *k, char tag, const char *ns, const char *id)
{
    k->tag = tag;
    k->ns = ns;
    k->ns_len = strlen(ns);
    k->id = id;
    k->id_len = strlen(id);
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, &tag, 1);
    h = fnv1a(h, ns, k->ns_len + 1);   /* with the NUL: ("ab","c") != ("a","bc") */
    h = fnv1a(h, id, k->id_len);
    /* Final mix so the shard (high bits) and bucket (low bits) are both
     * well spread. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    k->hash = h;
}

static bool key_matches(const mt_entry *e, const mt_key *k)
{
    return e->hash == k->hash && e->tag == k->tag &&
           e->ns_len == k->ns_len && e->id_len == k->id_len &&
           memcmp(e->ns, k->ns, k->ns_len) == 0 &&
           memcmp(e->id, k->id, k->id_len) == 0;
}

/* ---- namespace counters ---- */

static mt_ns *ns_find_locked(memtable *t, const char *name)
{
    for (mt_ns *n = t->namespaces; n != NULL; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

/* The counter of namespace name, created on first use; NULL on NOMEM. */
static mt_ns *ns_get(memtable *t, const char *name, size_t len)
{
    if (pthread_rwlock_rdlock(&t->ns_lock) != 0)
        return NULL;
    mt_ns *n = ns_find_locked(t, name);
    pthread_rwlock_unlock(&t->ns_lock);
    if (n != NULL)
        return n;
    if (pthread_rwlock_wrlock(&t->ns_lock) != 0)
        return NULL;
    n = ns_find_locked(t, name);
    if (n == NULL) {
        n = calloc(1, sizeof *n + len + 1);
        if (n != NULL && pthread_mutex_init(&n->values_lock, NULL) != 0) {
            free(n);
            n = NULL;
        }
        if (n != NULL) {
            memcpy(n->name, name, len + 1);
            atomic_init(&n->live, 0);
            n->next = t->namespaces;
            t->namespaces = n;
        }
    }
    pthread_rwlock_unlock(&t->ns_lock);
    return n;
}

/* The indexed field of namespace ns into *field (NULL for none) and its
 * counter into *out; false when the lock fails. */
static bool ns_field(memtable *t, const char *ns, mt_ns **out, const char **field)
{
    if (pthread_rwlock_rdlock(&t->ns_lock) != 0)
        return false;
    *out = ns_find_locked(t, ns);
    *field = *out != NULL ? (*out)->field : NULL;
    pthread_rwlock_unlock(&t->ns_lock);
    return true;
}

int64_t memtable_count(memtable *t, const char *ns)
{
    mt_ns *n = NULL;
    const char *field;
    return ns_field(t, ns, &n, &field) && n != NULL ? atomic_load(&n->live) : 0;
}

/* ---- value counters ---- */

sd_err memtable_index(memtable *t, const char *ns, const char *field)
{
    mt_ns *n = ns_get(t, ns, strlen(ns));
    char *copy = strdup(field);
    sd_err err = SD_ERR_NOMEM;
    if (n == NULL || copy == NULL)
        goto done;
    err = SD_ERR_INTERNAL;
    if (pthread_rwlock_wrlock(&t->ns_lock) != 0)
        goto done;
    err = SD_OK;
    if (n->field == NULL) {
        n->field = copy;
        copy = NULL;
    } else if (strcmp(n->field, field) != 0) {
        err = SD_ERR_INVALID;
    }
    pthread_rwlock_unlock(&t->ns_lock);
done:
    free(copy);
    return err;
}

/* The counter of value[0..len) in n, NULL when none (values_lock held). */
static mt_value *value_find_locked(mt_ns *n, const char *value, size_t len)
{
    for (mt_value *v = n->values; v != NULL; v = v->next)
        if (v->len == len && memcmp(v->value, value, len) == 0)
            return v;
    return NULL;
}

sd_err memtable_value_take(memtable *t, const mt_key *k, const sd_field *f, size_t n,
                           mt_value **out)
{
    *out = NULL;
    mt_ns *ns = NULL;
    const char *field = NULL;
    if (k->tag != MT_TAG_USER)
        return SD_OK;
    if (!ns_field(t, k->ns, &ns, &field))
        return SD_ERR_INTERNAL;
    size_t i = 0;
    while (field != NULL && i < n && strcmp(f[i].name, field) != 0)
        i++;
    if (field == NULL || i == n)
        return SD_OK;
    pthread_mutex_lock(&ns->values_lock);
    mt_value *v = value_find_locked(ns, f[i].value, f[i].len);
    if (v == NULL && f[i].len < SIZE_MAX - sizeof *v) {
        v = malloc(sizeof *v + f[i].len + 1);
        if (v != NULL) {
            *v = (mt_value){ns->values, ns, 0, f[i].len};
            memcpy(v->value, f[i].value, f[i].len);
            v->value[f[i].len] = '\0';
            ns->values = v;
        }
    }
    if (v != NULL)
        v->live++;
    pthread_mutex_unlock(&ns->values_lock);
    *out = v;
    return v != NULL ? SD_OK : SD_ERR_NOMEM;
}

void memtable_value_release(mt_value *v)
{
    if (v == NULL)
        return;
    mt_ns *ns = v->ns;
    pthread_mutex_lock(&ns->values_lock);
    if (--v->live == 0) {
        mt_value **link = &ns->values;
        while (*link != v)
            link = &(*link)->next;
        *link = v->next;
        free(v);
    }
    pthread_mutex_unlock(&ns->values_lock);
}

sd_err memtable_count_by(memtable *t, const char *ns, const char *value, int64_t *out)
{
    mt_ns *n = NULL;
    const char *field = NULL;
    *out = 0;
    if (!ns_field(t, ns, &n, &field))
        return SD_ERR_INTERNAL;
    if (field == NULL)
        return SD_ERR_INVALID;
    pthread_mutex_lock(&n->values_lock);
    const mt_value *v = value_find_locked(n, value, strlen(value));
    if (v != NULL)
        *out = v->live;
    pthread_mutex_unlock(&n->values_lock);
    return SD_OK;
}

/* ---- entries ---- */

static void entry_free(mt_entry *e)
{
    if (e->counter != NULL)
        atomic_fetch_sub(&e->counter->live, 1);
    memtable_value_release(e->value);
    for (size_t i = 0; i < e->nfields; i++) {
        free(e->fields[i].name);
        free(e->fields[i].value);
    }
    free(e->fields);
    for (size_t i = 0; i < e->nitems; i++)
        free(e->items[i]);
    free(e->items);
    free(e->lens);
    free(e->ns);
    free(e);
}

mt_shard *memtable_lock(memtable *t, const mt_key *k)
{
    mt_shard *s = &t->shards[(k->hash >> 40) & (t->nshards - 1)];
    pthread_mutex_lock(&s->lock);
    return s;
}

void memtable_unlock(mt_shard *s) { pthread_mutex_unlock(&s->lock); }

mt_entry *memtable_find(mt_shard *s, const mt_key *k, int64_t now)
{
    mt_entry **link = &s->buckets[k->hash & (s->nbuckets - 1)];
    for (mt_entry *e = *link; e != NULL; link = &e->next, e = e->next) {
        if (!key_matches(e, k))
            continue;
        if (!mt_expired(e, now))
            return e;
        *link = e->next;
        s->count--;
        entry_free(e);
        return NULL;
    }
    return NULL;
}

/* Doubles the bucket array of s; on allocation failure keeps the old one,
 * which stays correct, only slower. */
static void shard_grow(mt_shard *s)
{
    if (s->nbuckets >= MT_MAX_BUCKETS)
        return;
    size_t n = s->nbuckets * 2;
    mt_entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        mt_entry *e = s->buckets[i];
        while (e != NULL) {
            mt_entry *next = e->next;
            size_t j = e->hash & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

sd_err memtable_insert(memtable *t, mt_shard *s, const mt_key *k,
                       mt_kind kind, mt_entry **out)
{
    mt_ns *counter = NULL;
    if (k->tag == MT_TAG_USER) {
        counter = ns_get(t, k->ns, k->ns_len);
        if (counter == NULL)
            return SD_ERR_NOMEM;
    }
    mt_entry *e = calloc(1, sizeof *e);
    char *names = malloc(k->ns_len + k->id_len + 2);
    if (e == NULL || names == NULL) {
        free(e);
        free(names);
        return SD_ERR_NOMEM;
    }
    memcpy(names, k->ns, k->ns_len + 1);
    memcpy(names + k->ns_len + 1, k->id, k->id_len + 1);
    e->hash = k->hash;
    e->tag = k->tag;
    e->ns = names;
    e->ns_len = k->ns_len;
    e->id = names + k->ns_len + 1;
    e->id_len = k->id_len;
    e->kind = kind;
    e->counter = counter;
    if (counter != NULL)
        atomic_fetch_add(&counter->live, 1);
    if (s->count >= s->nbuckets)
        shard_grow(s);
    size_t i = k->hash & (s->nbuckets - 1);
    e->next = s->buckets[i];
    s->buckets[i] = e;
    s->count++;
    *out = e;
    return SD_OK;
}

void memtable_remove(mt_shard *s, mt_entry *e)
{
    mt_entry **link = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*link != NULL && *link != e)
        link = &(*link)->next;
    if (*link == NULL)
        return;
    *link = e->next;
    s->count--;
    entry_free(e);
}

/* ---- whole-table walks ---- */

sd_err memtable_each(memtable *t, const char *ns, int64_t now, mt_visit_fn fn, void *arg)
{
    size_t ns_len = strlen(ns);
    for (unsigned i = 0; i < t->nshards; i++) {
        mt_shard *s = &t->shards[i];
        sd_err err = SD_OK;
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets && err == SD_OK; b++) {
            for (const mt_entry *e = s->buckets[b]; e != NULL; e = e->next) {
                if (e->tag != MT_TAG_USER || e->ns_len != ns_len ||
                    memcmp(e->ns, ns, ns_len) != 0 || mt_expired(e, now))
                    continue;
                err = fn(e, arg);
                if (err != SD_OK)
                    break;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (err != SD_OK)
            return err;
    }
    return SD_OK;
}

/* Removes the entries of every shard for which drop_all or expiry says so;
 * returns how many removed entries were live. */
static int64_t table_drop(memtable *t, int64_t now, bool drop_all, int64_t *expired)
{
    int64_t live = 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        mt_shard *s = &t->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++) {
            mt_entry **link = &s->buckets[b];
            while (*link != NULL) {
                mt_entry *e = *link;
                bool gone = mt_expired(e, now);
                if (!gone && !drop_all) {
                    link = &e->next;
                    continue;
                }
                if (gone)
                    (*expired)++;
                else
                    live++;
                *link = e->next;
                s->count--;
                entry_free(e);
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    return live;
}

int64_t memtable_clear(memtable *t, int64_t now)
{
    int64_t expired = 0;
    return table_drop(t, now, true, &expired);
}

int64_t memtable_sweep(memtable *t, int64_t now)
{
    int64_t expired = 0;
    table_drop(t, now, false, &expired);
    return expired;
}

/* ---- the sweeper ---- */

static void *sweeper_main(void *arg)
{
    memtable *t = arg;
    pthread_mutex_lock(&t->sweep_lock);
    while (!t->stopping) {
        struct timespec until;
        if (clock_gettime(CLOCK_MONOTONIC, &until) != 0) {
            sd_error("memory store: clock_gettime failed; sweeper stopped");
            break;
        }
        until.tv_sec += (time_t)(t->sweep_ms / 1000);
        until.tv_nsec += (long)(t->sweep_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* 0 is a signal or a spurious wake-up: wait on until the deadline.
         * ETIMEDOUT (or a failure, which a retry would repeat) sweeps. */
        while (!t->stopping &&
               pthread_cond_timedwait(&t->sweep_cond, &t->sweep_lock, &until) == 0)
            continue;
        if (t->stopping)
            break;
        pthread_mutex_unlock(&t->sweep_lock);
        memtable_sweep(t, sd_now_ms());
        pthread_mutex_lock(&t->sweep_lock);
    }
    pthread_mutex_unlock(&t->sweep_lock);
    return NULL;
}

static int sweeper_start(memtable *t)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&t->sweep_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&t->sweep_lock, NULL) != 0) {
        pthread_cond_destroy(&t->sweep_cond);
        return -1;
    }
    if (pthread_create(&t->sweeper, NULL, sweeper_main, t) != 0) {
        pthread_mutex_destroy(&t->sweep_lock);
        pthread_cond_destroy(&t->sweep_cond);
        return -1;
    }
    return 0;
}

/* ---- life cycle ---- */

static unsigned shard_count(unsigned asked)
{
    if (asked == 0)
        return MT_DEFAULT_SHARDS;
    unsigned n = 1;
    while (n < asked && n < MT_MAX_SHARDS)
        n *= 2;
    return n;
}

/* Frees shards [0..n) and the shard array. */
static void shards_free(mt_shard *shards, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        for (size_t b = 0; b < shards[i].nbuckets; b++) {
            mt_entry *e = shards[i].buckets[b];
            while (e != NULL) {
                mt_entry *next = e->next;
                entry_free(e);
                e = next;
            }
        }
        free(shards[i].buckets);
        pthread_mutex_destroy(&shards[i].lock);
    }
    free(shards);
}

memtable *memtable_new(unsigned shards, int64_t sweep_interval_ms)
{
    memtable *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->nshards = shard_count(shards);
    t->sweep_ms = sweep_interval_ms > 0 ? sweep_interval_ms : MT_DEFAULT_SWEEP_MS;
    t->shards = calloc(t->nshards, sizeof *t->shards);
    if (t->shards == NULL)
        goto fail_table;
    unsigned ready = 0;
    for (; ready < t->nshards; ready++) {
        mt_shard *s = &t->shards[ready];
        s->nbuckets = MT_INITIAL_BUCKETS;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (s->buckets == NULL)
            goto fail_shards;
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            goto fail_shards;
        }
    }
    if (pthread_rwlock_init(&t->ns_lock, NULL) != 0)
        goto fail_shards;
    if (sweeper_start(t) != 0)
        goto fail_rwlock;
    return t;

fail_rwlock:
    pthread_rwlock_destroy(&t->ns_lock);
fail_shards:
    shards_free(t->shards, ready);
fail_table:
    free(t);
    return NULL;
}

void memtable_free(memtable *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->sweep_lock);
    t->stopping = true;
    pthread_cond_signal(&t->sweep_cond);
    pthread_mutex_unlock(&t->sweep_lock);
    pthread_join(t->sweeper, NULL);
    pthread_cond_destroy(&t->sweep_cond);
    pthread_mutex_destroy(&t->sweep_lock);
    shards_free(t->shards, t->nshards);
    mt_ns *n = t->namespaces;
    while (n != NULL) {
        mt_ns *next = n->next;
        free(n->field);
        pthread_mutex_destroy(&n->values_lock);
        free(n);
        n = next;
    }
    pthread_rwlock_destroy(&t->ns_lock);
    free(t);
}
