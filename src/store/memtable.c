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
 * expired, and a sweeper thread (a ticker, statusd/ticker.h) removes the
 * rest every sweep interval, so records nobody reads again do not pile
 * up; memtable_free stops it at once instead of waiting out an interval.
 *
 * Records. A record is one block (see mt_entry): header, key and a
 * hash's packed fields, whose names are mostly one-byte references into
 * the namespace's pool. A table of many records thus spends little more
 * than their values: no allocation per string, no pointer per field, no
 * copy of a field name per record. The price is that a change to a hash
 * rebuilds its block: one malloc and a copy of the record, about what the
 * per-field allocations it replaces cost.
 *
 * Counts and names are the namespaces' (memns.h): inserting or removing
 * a record changes its namespace's live count under the shard lock, so a
 * count is a load, not a scan.
 */
#include "memtable.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/ticker.h"
#include "statusd/util.h"
#include "memns.h"

#define MT_DEFAULT_SHARDS 64u
#define MT_MAX_SHARDS 4096u
#define MT_DEFAULT_SWEEP_MS 1000
#define MT_INITIAL_BUCKETS 16u
#define MT_MAX_BUCKETS ((size_t)1 << 30)

struct mt_shard {
    pthread_mutex_t lock;
    mb_budget *budget;    /* the table's */
    mt_entry **buckets;
    size_t nbuckets;      /* a power of two */
    size_t count;
};

struct memtable {
    mt_shard *shards;
    unsigned nshards;     /* a power of two */
    mns_set ns;
    mb_budget budget;
    sd_ticker *sweeper;
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
           memcmp(e->key, k->ns, k->ns_len) == 0 &&
           memcmp(e->key + e->ns_len + 1, k->id, k->id_len) == 0;
}

/* ---- namespaces ---- */

int64_t memtable_count(memtable *t, const char *ns) { return mns_count(&t->ns, ns); }

sd_err memtable_index(memtable *t, const char *ns, const char *field)
{
    return mns_index(&t->ns, ns, field);
}

sd_err memtable_value_take(memtable *t, const mt_key *k, const sd_field *f, size_t n,
                           mt_value **out)
{
    *out = NULL;
    return k->tag == MT_TAG_USER ? mns_value_take(&t->ns, k->ns, f, n, out) : SD_OK;
}

void memtable_value_release(mt_value *v) { mns_value_release(v); }

void memtable_entry_count(mt_entry *e, mt_value *v) { mns_entry_move(e, v); }

sd_err memtable_scan_by(memtable *t, const char *ns, const char *value, int64_t before,
                        size_t limit, sd_page *out)
{
    return mns_scan_by(&t->ns, ns, value, before, limit, out);
}

sd_err memtable_count_by(memtable *t, const char *ns, const char *value, int64_t *out)
{
    return mns_count_by(&t->ns, ns, value, out);
}

/* ---- packed fields ---- */

/* Where a hash's packed fields start: after the key, aligned for lens. */
static size_t fields_offset(size_t ns_len, size_t id_len)
{
    const size_t align = _Alignof(uint32_t);
    size_t at = offsetof(mt_entry, key) + ns_len + 1 + id_len + 1;
    return (at + align - 1) / align * align;
}

mt_field_iter mt_fields_begin(const mt_entry *e)
{
    const char *at = (const char *)e + fields_offset(e->ns_len, e->id_len);
    size_t n = e->kind == MT_HASH ? e->nfields : 0;
    const mt_ns *ns = e->counter;
    return (mt_field_iter){(const uint32_t *)(const void *)at, at + n * sizeof(uint32_t), 0,
                           n, ns != NULL ? mns_pool_names(ns) : NULL,
                           ns != NULL ? mns_pool_lens(ns) : NULL, 0};
}

/* ---- entries ---- */

mb_budget *memtable_budget(memtable *t) { return &t->budget; }

size_t memtable_entry_cost(const mt_entry *e)
{
    size_t block = fields_offset(e->ns_len, e->id_len) + (e->kind == MT_HASH ? e->area : 0);
    size_t cost = mb_cost(block);
    if (e->kind == MT_LIST) {
        cost += mb_cost(e->cap * sizeof *e->items) + mb_cost(e->cap * sizeof *e->lens);
        for (size_t i = 0; i < e->nitems; i++)
            cost += mb_cost(e->lens[i] + 1);
    }
    return cost;
}

/* What linking one more entry into s costs: its bucket array doubles
 * once it holds as many entries as buckets (shard_grow). */
static size_t link_cost(const mt_shard *s)
{
    if (s->count < s->nbuckets || s->nbuckets >= MT_MAX_BUCKETS)
        return 0;
    return mb_cost(2 * s->nbuckets * sizeof *s->buckets) -
           mb_cost(s->nbuckets * sizeof *s->buckets);
}

size_t memtable_list_new_cost(const mt_shard *s, const mt_key *k)
{
    return mb_cost(fields_offset(k->ns_len, k->id_len)) + link_cost(s);
}

/* Frees e, an entry of shard s that is no longer linked. */
static void entry_free(mt_shard *s, mt_entry *e)
{
    mb_add(s->budget, -(int64_t)memtable_entry_cost(e));
    if (e->counter != NULL)
        mns_live_add(e->counter, -1);
    mns_entry_move(e, NULL);
    if (e->kind == MT_LIST) {
        for (size_t i = 0; i < e->nitems; i++)
            free(e->items[i]);
        free(e->items);
        free(e->lens);
    }
    free(e);
}

/* A new entry for k of kind, not in any shard nor counted, with extra
 * bytes after its key at *area (fields_offset); NULL on NOMEM or a key
 * too long for the entry's 32-bit lengths. */
static mt_entry *entry_new(const mt_key *k, mt_kind kind, size_t extra, char **area)
{
    if (k->ns_len >= UINT32_MAX / 2 || k->id_len >= UINT32_MAX / 2)
        return NULL;
    size_t head = fields_offset(k->ns_len, k->id_len);
    if (extra > SIZE_MAX - head)
        return NULL;
    mt_entry *e = malloc(head + extra);
    if (e == NULL)
        return NULL;
    *e = (mt_entry){.hash = k->hash, .ns_len = (uint32_t)k->ns_len,
                    .id_len = (uint32_t)k->id_len, .tag = k->tag,
                    .kind = (unsigned char)kind};
    memcpy(e->key, k->ns, k->ns_len + 1);
    memcpy(e->key + k->ns_len + 1, k->id, k->id_len + 1);
    *area = (char *)e + head;
    return e;
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
        entry_free(s, e);
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
    mb_add(s->budget, (int64_t)mb_cost(n * sizeof *b) - (int64_t)mb_cost(s->nbuckets * sizeof *b));
    s->buckets = b;
    s->nbuckets = n;
}

/* Adds the new entry e for k (absent from the locked shard s) to s,
 * counted in its namespace (e->counter, found here when NULL).
 * SD_ERR_NOMEM, with e not counted. */
static sd_err entry_link(memtable *t, mt_shard *s, const mt_key *k, mt_entry *e)
{
    if (k->tag == MT_TAG_USER) {
        if (e->counter == NULL)
            e->counter = mns_get(&t->ns, k->ns, k->ns_len);
        if (e->counter == NULL)
            return SD_ERR_NOMEM;
        mns_live_add(e->counter, 1);
    }
    mb_add(s->budget, (int64_t)memtable_entry_cost(e));
    if (s->count >= s->nbuckets)
        shard_grow(s);
    size_t i = k->hash & (s->nbuckets - 1);
    e->next = s->buckets[i];
    s->buckets[i] = e;
    s->count++;
    return SD_OK;
}

sd_err memtable_insert(memtable *t, mt_shard *s, const mt_key *k,
                       mt_kind kind, mt_entry **out)
{
    char *area;
    mt_entry *e = entry_new(k, kind, 0, &area);
    if (e == NULL)
        return SD_ERR_NOMEM;
    sd_err err = entry_link(t, s, k, e);
    if (err != SD_OK) {
        free(e);
        return err;
    }
    *out = e;
    return SD_OK;
}

/* The link in the locked shard s that points at e; NULL when e is not
 * in s. */
static mt_entry **entry_link_of(mt_shard *s, const mt_entry *e)
{
    mt_entry **link = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*link != NULL && *link != e)
        link = &(*link)->next;
    return *link != NULL ? link : NULL;
}

/* Fields whose pool index memtable_put_hash remembers between its two
 * passes; further fields are looked up again. */
#define MT_PUT_REMEMBER 32

sd_err memtable_put_hash(memtable *t, mt_shard *s, const mt_key *k,
                         const sd_field *f, size_t n, bool capped, mt_entry **e)
{
    mt_ns *ns = NULL;
    if (k->tag == MT_TAG_USER) {
        ns = *e != NULL ? (*e)->counter : mns_get(&t->ns, k->ns, k->ns_len);
        if (ns == NULL)
            return SD_ERR_NOMEM;
    }
    if (n > UINT32_MAX)
        return SD_ERR_NOMEM;
    /* The size takes pooled names as one byte; the copy finds each of
     * them pooled again (the pool only grows), so it never writes more. */
    int remembered[MT_PUT_REMEMBER];
    size_t bytes = 0, flat = 0;
    for (size_t i = 0; i < n; i++) {
        size_t name_len = strlen(f[i].name);
        int pooled = mns_pool_intern(ns, f[i].name, name_len);
        if (i < MT_PUT_REMEMBER)
            remembered[i] = pooled;
        size_t name_bytes = pooled >= 0 ? 1 : name_len + 1;
        if (f[i].len >= MT_LEN_POOLED || name_len > UINT32_MAX - flat - 2 ||
            f[i].len > UINT32_MAX - flat - 2 - name_len)
            return SD_ERR_NOMEM;
        flat += name_len + f[i].len + 2;
        bytes += name_bytes + f[i].len + 1;
    }
    if (n > (SIZE_MAX - bytes) / sizeof(uint32_t))
        return SD_ERR_NOMEM;
    char *area;
    mt_entry *fresh = entry_new(k, MT_HASH, n * sizeof(uint32_t) + bytes, &area);
    if (fresh == NULL)
        return SD_ERR_NOMEM;
    uint32_t *lens = (uint32_t *)(void *)area;
    char *p = area + n * sizeof *lens;
    for (size_t i = 0; i < n; i++) {
        int pooled = i < MT_PUT_REMEMBER ? remembered[i]
                     : ns != NULL       ? mns_pool_find(ns, f[i].name)
                                        : -1;
        lens[i] = (uint32_t)f[i].len;
        if (pooled >= 0) {
            *p++ = (char)(unsigned char)pooled;
            lens[i] |= MT_LEN_POOLED;
        } else {
            size_t name_len = strlen(f[i].name);
            memcpy(p, f[i].name, name_len + 1);
            p += name_len + 1;
        }
        if (f[i].len > 0)
            memcpy(p, f[i].value, f[i].len);
        p[f[i].len] = '\0';
        p += f[i].len + 1;
    }
    fresh->nfields = (uint32_t)n;
    fresh->flat = (uint32_t)flat;
    fresh->area = (uint32_t)(n * sizeof *lens + bytes);
    fresh->counter = ns;
    mt_entry *old = *e;
    int64_t grows = old != NULL
                        ? (int64_t)memtable_entry_cost(fresh) - (int64_t)memtable_entry_cost(old)
                        : (int64_t)(memtable_entry_cost(fresh) + link_cost(s));
    if (capped && !mb_room(&t->budget, grows)) {
        free(fresh);
        return SD_ERR_STORE_FULL;
    }
    if (old == NULL) {
        sd_err err = entry_link(t, s, k, fresh);
        if (err != SD_OK) {
            free(fresh);
            return err;
        }
        *e = fresh;
        return SD_OK;
    }
    mt_entry **link = entry_link_of(s, old);
    if (link == NULL) {
        free(fresh);
        return SD_ERR_INTERNAL;
    }
    fresh->next = old->next;
    fresh->counter = old->counter;
    fresh->value = old->value;
    fresh->seq = old->seq;
    mns_entry_swap(old, fresh);
    fresh->expires_ms = old->expires_ms;
    *link = fresh;
    mb_add(&t->budget, grows);
    free(old);
    *e = fresh;
    return SD_OK;
}

void memtable_remove(mt_shard *s, mt_entry *e)
{
    mt_entry **link = entry_link_of(s, e);
    if (link == NULL)
        return;
    *link = e->next;
    s->count--;
    entry_free(s, e);
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
                    memcmp(e->key, ns, ns_len) != 0 || mt_expired(e, now))
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
                entry_free(s, e);
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

static void sweep_tick(void *arg, sd_ticker *ticker)
{
    (void)ticker;
    memtable_sweep(arg, sd_now_ms());
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
                entry_free(&shards[i], e);
                e = next;
            }
        }
        free(shards[i].buckets);
        pthread_mutex_destroy(&shards[i].lock);
    }
    free(shards);
}

sd_err memtable_new(unsigned shards, int64_t sweep_interval_ms, int64_t max_bytes,
                    memtable **out)
{
    *out = NULL;
    memtable *t = calloc(1, sizeof *t);
    if (t == NULL)
        return SD_ERR_NOMEM;
    sd_err e = SD_ERR_NOMEM;
    mb_init(&t->budget, max_bytes);
    t->nshards = shard_count(shards);
    t->shards = calloc(t->nshards, sizeof *t->shards);
    if (t->shards == NULL)
        goto fail_table;
    unsigned ready = 0;
    for (; ready < t->nshards; ready++) {
        mt_shard *s = &t->shards[ready];
        s->budget = &t->budget;
        s->nbuckets = MT_INITIAL_BUCKETS;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (s->buckets == NULL)
            goto fail_shards;
        mb_add(&t->budget, (int64_t)mb_cost(s->nbuckets * sizeof *s->buckets));
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            e = SD_ERR_INTERNAL;
            goto fail_shards;
        }
    }
    if (mns_init(&t->ns) != 0) {
        e = SD_ERR_INTERNAL;
        goto fail_shards;
    }
    e = sd_ticker_start(sweep_interval_ms > 0 ? sweep_interval_ms : MT_DEFAULT_SWEEP_MS,
                        false, sweep_tick, t, &t->sweeper);
    if (e != SD_OK)
        goto fail_namespaces;
    *out = t;
    return SD_OK;

fail_namespaces:
    mns_free(&t->ns);
fail_shards:
    shards_free(t->shards, ready);
fail_table:
    free(t);
    return e;
}

void memtable_free(memtable *t)
{
    if (t == NULL)
        return;
    sd_ticker_stop(t->sweeper);
    mb_stop_warnings(&t->budget);
    shards_free(t->shards, t->nshards);
    mns_free(&t->ns);
    free(t);
}
