/*
 * The items of one memory queue (see memqueue_set.h).
 */
#include "memqueue_set.h"

#include <stdlib.h>
#include <string.h>

#define MQ_FIRST_BUCKETS 64u
#define MQ_FIRST_HEAP 16u

/* ---- heaps: by (time, item bytes) ---- */

static bool entry_before(const void *a, const void *b)
{
    const mq_entry *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at;
    return strcmp(x->item, y->item) < 0;
}

static const sd_heap_ops heap_ops = {entry_before, offsetof(mq_entry, slot)};

int64_t mq_set_entry_cost(void) { return (int64_t)mb_cost(sizeof(mq_entry)); }

static int64_t entry_cost(void) { return mq_set_entry_cost(); }

/* Counts the move of an array from n to m elements of size bytes each. */
static void array_counted(mq_set *s, size_t n, size_t m, size_t size)
{
    mb_add(s->budget, (int64_t)mb_cost(m * size) - (int64_t)mb_cost(n * size));
}

static bool heap_reserve(mq_set *s, sd_heap *h)
{
    size_t cap = h->cap;
    if (!sd_heap_reserve(h, MQ_FIRST_HEAP))
        return false;
    array_counted(s, cap, h->cap, sizeof *h->v);
    return true;
}

/* ---- the item table ---- */

static uint64_t item_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

mq_entry *mq_set_find(const mq_set *s, const char *item)
{
    if (s->nbuckets == 0)
        return NULL;
    uint64_t h = item_hash(item);
    for (mq_entry *e = s->buckets[h & (s->nbuckets - 1)]; e != NULL; e = e->next)
        if (e->hash == h && strcmp(e->item, item) == 0)
            return e;
    return NULL;
}

/* Room for one more entry without lookup chains growing long. */
static bool table_reserve(mq_set *s)
{
    if (s->count < s->nbuckets)
        return true;
    size_t nb = s->nbuckets == 0 ? MQ_FIRST_BUCKETS : s->nbuckets * 2;
    if (nb > SIZE_MAX / sizeof *s->buckets)
        return false;
    mq_entry **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return false;
    for (size_t i = 0; i < s->nbuckets; i++) {
        for (mq_entry *e = s->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(s->buckets);
    array_counted(s, s->nbuckets, nb, sizeof *b);
    s->buckets = b;
    s->nbuckets = nb;
    return true;
}

/* ---- entries ---- */

/* The growth cost of an array of n of cap elements of size bytes that
 * doubles from first when full. */
static int64_t grow_cost(size_t n, size_t cap, size_t first, size_t size)
{
    if (n < cap)
        return 0;
    size_t next = cap == 0 ? first : cap * 2;
    return (int64_t)mb_cost(next * size) - (int64_t)mb_cost(cap * size);
}

int64_t mq_set_reserve_cost(const mq_set *s, mq_where where, bool table)
{
    const sd_heap *h = &s->heaps[where];
    int64_t cost = grow_cost(h->n, h->cap, MQ_FIRST_HEAP, sizeof *h->v);
    if (table)
        cost += grow_cost(s->count, s->nbuckets, MQ_FIRST_BUCKETS, sizeof *s->buckets);
    return cost;
}

bool mq_set_reserve(mq_set *s, mq_where where, bool table)
{
    return heap_reserve(s, &s->heaps[where]) && (!table || table_reserve(s));
}

void mq_set_insert(mq_set *s, mq_entry *e, mq_where where, int64_t at)
{
    mb_add(s->budget, entry_cost());
    e->hash = item_hash(e->item);
    mq_entry **head = &s->buckets[e->hash & (s->nbuckets - 1)];
    e->next = *head;
    *head = e;
    s->count++;
    e->where = where;
    e->at = at;
    sd_heap_push(&s->heaps[where], &heap_ops, e);
}

void mq_set_move(mq_set *s, mq_entry *e, mq_where where, int64_t at)
{
    sd_heap_remove(&s->heaps[e->where], &heap_ops, e);
    e->where = where;
    e->at = at;
    sd_heap_push(&s->heaps[where], &heap_ops, e);
}

void mq_set_retime(mq_set *s, mq_entry *e, int64_t at)
{
    e->at = at;
    sd_heap_fix(&s->heaps[e->where], &heap_ops, e);
}

void mq_set_drop(mq_set *s, mq_entry *e)
{
    sd_heap_remove(&s->heaps[e->where], &heap_ops, e);
    for (mq_entry **p = &s->buckets[e->hash & (s->nbuckets - 1)]; *p != NULL; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    s->count--;
    mb_add(s->budget, -entry_cost());
    free(e);
}

mq_entry *mq_set_first(const mq_set *s, mq_where where)
{
    return sd_heap_top(&s->heaps[where]);
}

mq_entry *mq_set_at(const mq_set *s, mq_where where, size_t i)
{
    return i < s->heaps[where].n ? s->heaps[where].v[i] : NULL;
}

size_t mq_set_size(const mq_set *s, mq_where where) { return s->heaps[where].n; }

void mq_set_promote(mq_set *s, int64_t now)
{
    mq_entry *e;
    while ((e = mq_set_first(s, MQ_DELAYED)) != NULL && e->at <= now &&
           heap_reserve(s, &s->heaps[MQ_READY]))
        mq_set_move(s, e, MQ_READY, e->at);
}

void mq_set_empty(mq_set *s)
{
    for (size_t w = 0; w < MQ_WHERE_N; w++) {
        for (size_t i = 0; i < s->heaps[w].n; i++)
            free(s->heaps[w].v[i]);
        mb_add(s->budget, -entry_cost() * (int64_t)s->heaps[w].n);
        s->heaps[w].n = 0;
    }
    if (s->nbuckets > 0)
        memset(s->buckets, 0, s->nbuckets * sizeof *s->buckets);
    s->count = 0;
}

void mq_set_free(mq_set *s)
{
    mq_set_empty(s);
    for (size_t w = 0; w < MQ_WHERE_N; w++) {
        array_counted(s, s->heaps[w].cap, 0, sizeof *s->heaps[w].v);
        free(s->heaps[w].v);
    }
    array_counted(s, s->nbuckets, 0, sizeof *s->buckets);
    free(s->buckets);
}
