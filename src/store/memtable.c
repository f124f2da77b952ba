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
 * table (statusd uses a handful of fixed namespaces).
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
    char name[];
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
        n = malloc(sizeof *n + len + 1);
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

int64_t memtable_count(memtable *t, const char *ns)
{
    int64_t live = 0;
    if (pthread_rwlock_rdlock(&t->ns_lock) != 0)
        return 0;
    mt_ns *n = ns_find_locked(t, ns);
    if (n != NULL)
        live = atomic_load(&n->live);
    pthread_rwlock_unlock(&t->ns_lock);
    return live;
}

/* ---- entries ---- */

static void entry_free(mt_entry *e)
{
    if (e->counter != NULL)
        atomic_fetch_sub(&e->counter->live, 1);
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

typedef sd_err (*visit_fn)(const mt_entry *e, void *arg);

/* Calls fn for every live record of namespace ns, one shard locked at a
 * time. Stops at the first error fn returns and returns it. */
static sd_err table_each(memtable *t, const char *ns, int64_t now,
                         visit_fn fn, void *arg)
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

/* The smallest `keep` ids after `after` seen so far: a max-heap (by byte
 * order) of owned copies, so a page costs O(N log keep) over N records. */
typedef struct page_heap {
    const char *after;
    size_t keep;
    char **ids;
    size_t n, cap;
} page_heap;

static void ids_swap(char **ids, size_t a, size_t b)
{
    char *tmp = ids[a];
    ids[a] = ids[b];
    ids[b] = tmp;
}

static void heap_down(char **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && strcmp(h[l], h[m]) > 0)
            m = l;
        if (r < n && strcmp(h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        ids_swap(h, i, m);
        i = m;
    }
}

static void heap_up(char **h, size_t i)
{
    while (i > 0 && strcmp(h[(i - 1) / 2], h[i]) < 0) {
        ids_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static sd_err page_visit(const mt_entry *e, void *arg)
{
    page_heap *h = arg;
    if (h->after != NULL && strcmp(e->id, h->after) <= 0)
        return SD_OK;
    if (h->n == h->keep && strcmp(e->id, h->ids[0]) >= 0)
        return SD_OK;
    char *copy = strdup(e->id);
    if (copy == NULL)
        return SD_ERR_NOMEM;
    if (h->n == h->keep) {
        free(h->ids[0]);
        h->ids[0] = copy;
        heap_down(h->ids, h->n, 0);
        return SD_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap > 0 ? h->cap * 2 : 16;
        if (cap > h->keep)
            cap = h->keep;
        char **ids = realloc(h->ids, cap * sizeof *ids);
        if (ids == NULL) {
            free(copy);
            return SD_ERR_NOMEM;
        }
        h->ids = ids;
        h->cap = cap;
    }
    h->ids[h->n] = copy;
    heap_up(h->ids, h->n++);
    return SD_OK;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

sd_err memtable_page(memtable *t, const char *ns, const char *after,
                     size_t max, int64_t now, char ***ids, size_t *n, bool *more)
{
    *ids = NULL;
    *n = 0;
    *more = false;
    if (max == 0 || max == SIZE_MAX)
        return SD_ERR_INVALID;
    page_heap h = {after, max + 1, NULL, 0, 0};
    sd_err err = table_each(t, ns, now, page_visit, &h);
    if (err != SD_OK) {
        ids_free(h.ids, h.n);
        return err;
    }
    if (h.n > 0)
        qsort(h.ids, h.n, sizeof *h.ids, id_cmp);
    if (h.n > max) {
        free(h.ids[--h.n]);
        *more = true;
    }
    *ids = h.ids;
    *n = h.n;
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
        free(n);
        n = next;
    }
    pthread_rwlock_destroy(&t->ns_lock);
    free(t);
}
