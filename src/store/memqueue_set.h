#ifndef STATUSD_STORE_MEMQUEUE_SET_H
#define STATUSD_STORE_MEMQUEUE_SET_H

/*
 * The items of one memory queue (memqueue.c): three binary heaps of
 * entries and a hash table from item to entry. It locks nothing: the
 * queue's mutex, held by the caller, guards all of it.
 *
 *   MQ_READY    waiting items due by the last promotion
 *   MQ_DELAYED  waiting items due later
 *   MQ_LEASED   taken items, by lease end
 *
 * Each heap is ordered by (time, item bytes), the order of a Redis sorted
 * set by score then member. Insertions and moves need room made first
 * (mq_set_reserve), so that they cannot fail once a change depending on
 * them has been made.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/heap.h"
#include "statusd/store.h"
#include "membudget.h"

typedef enum mq_where { MQ_READY, MQ_DELAYED, MQ_LEASED, MQ_WHERE_N } mq_where;

typedef struct mq_entry {
    struct mq_entry *next;            /* hash chain */
    uint64_t hash;
    int64_t at;                       /* waiting: due; leased: lease end */
    size_t slot;                      /* index in its heap */
    mq_where where;
    char item[SD_QUEUE_ITEM_MAX];
    char owner[SD_QUEUE_OWNER_MAX];   /* leased: who holds it */
} mq_entry;

typedef struct mq_set {
    mb_budget *budget;                /* counts the entries and arrays; set first */
    sd_heap heaps[MQ_WHERE_N];             /* by (at, item) */
    mq_entry **buckets;
    size_t nbuckets;                  /* a power of two, or 0 */
    size_t count;
} mq_set;

/* The entry of item, or NULL. */
mq_entry *mq_set_find(const mq_set *s, const char *item);

/* Room for one more entry in heap `where` (and, with table, in the item
 * table). false on NOMEM, with nothing changed. */
bool mq_set_reserve(mq_set *s, mq_where where, bool table);

/* What mq_set_reserve(s, where, table) would add to the byte count:
 * the growth of the heap's and the table's arrays, 0 when there is room. */
int64_t mq_set_reserve_cost(const mq_set *s, mq_where where, bool table);

/* What one entry takes from the heap (mq_set_insert adds it to the
 * count, mq_set_drop takes it off). */
int64_t mq_set_entry_cost(void);

/* Adds e (its item set; allocated by the caller, freed by the set) to
 * heap `where` at time at and to the table; room must have been made for
 * both. */
void mq_set_insert(mq_set *s, mq_entry *e, mq_where where, int64_t at);

/* Moves e to heap `where` at time at; room there must have been made. */
void mq_set_move(mq_set *s, mq_entry *e, mq_where where, int64_t at);

/* Sets e's time, in the heap it is in. */
void mq_set_retime(mq_set *s, mq_entry *e, int64_t at);

/* Takes e out of its heap and the table, and frees it. */
void mq_set_drop(mq_set *s, mq_entry *e);

/* The earliest entry of heap `where`, or NULL; the i-th in heap order. */
mq_entry *mq_set_first(const mq_set *s, mq_where where);
mq_entry *mq_set_at(const mq_set *s, mq_where where, size_t i);
size_t mq_set_size(const mq_set *s, mq_where where);

/* Moves the delayed entries due by now to ready (stopping early on NOMEM:
 * they stay delayed until there is room). */
void mq_set_promote(mq_set *s, int64_t now);

/* Frees every entry (the set stays usable); mq_set_free also frees the
 * arrays. */
void mq_set_empty(mq_set *s);
void mq_set_free(mq_set *s);

#endif
