#ifndef STATUSD_STORE_MEMNS_H
#define STATUSD_STORE_MEMNS_H

/*
 * The namespaces of the memory table (memtable.h): for each namespace
 * used, the live count of its records, the value counters of its indexed
 * field, and its pool of field names. memtable.c holds one set and calls
 * these, mostly under a shard lock. Namespaces live as long as the set
 * (statusd uses a handful of fixed ones). Private to src/store.
 *
 * Locks. The set's rwlock guards the list of namespaces and their
 * indexed fields; a namespace's values mutex its value counters; its
 * pool mutex additions to its pool. Each is taken inside a shard lock,
 * never the other way round, and alone.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/store.h"
#include "memtable.h"

typedef struct mns_set {
    pthread_rwlock_t lock;
    mt_ns *head;
} mns_set;

/* An empty set: 0, or -1 when the lock cannot be made. */
int mns_init(mns_set *set);
/* Frees every namespace, its pool and its index. No value counter may be
 * held any more. */
void mns_free(mns_set *set);

/* Namespace name[0..len), created on first use; NULL on NOMEM or a lock
 * failure. */
mt_ns *mns_get(mns_set *set, const char *name, size_t len);
/* Adds delta to the live count of n. */
void mns_live_add(mt_ns *n, int64_t delta);
/* The live count of namespace ns; 0 when it was never used. */
int64_t mns_count(mns_set *set, const char *ns);

/* As memtable_index, memtable_value_take (for namespace ns),
 * memtable_value_release and memtable_count_by. */
sd_err mns_index(mns_set *set, const char *ns, const char *field);
sd_err mns_value_take(mns_set *set, const char *ns, const sd_field *f, size_t n,
                      mt_value **out);
void mns_value_release(mt_value *v);
sd_err mns_count_by(mns_set *set, const char *ns, const char *value, int64_t *out);

/*
 * Members. Each value counter also keeps the entries counting under it,
 * ordered by their order key (e->seq), in an array sorted ascending:
 * the namespace hands out keys in increasing order the first time an
 * entry counts under any value, and the entry keeps its key as it moves
 * between values. A move is a binary search and a memmove of the
 * entries with higher keys (mostly the few newer ones); mns_value_take
 * reserves the room, so a move never fails. A listing reads one value's
 * array, never the other values'. Under the namespace's values mutex.
 */
/* As memtable_entry_count; v NULL: e stops counting (it is freed). */
void mns_entry_move(mt_entry *e, mt_value *v);
/* fresh replaces old (same key, order key and value) in old's value. */
void mns_entry_swap(const mt_entry *old, const mt_entry *fresh);
/* As memtable_scan_by. */
sd_err mns_scan_by(mns_set *set, const char *ns, const char *value, int64_t before,
                   size_t limit, sd_page *out);

/*
 * The pool of field names. The records of a namespace mostly repeat the
 * same few field names, so a namespace pools up to 255 names of up to 32
 * bytes, first come first pooled, and a record names a pooled one by its
 * one-byte index instead of holding a copy. Pooled names never change or
 * leave; the bounds keep the pool small whatever names callers use (other
 * names are kept in each record). Lookups take no lock: a name is
 * written before the count that publishes it (release, acquire).
 */

/* The index of name (of length len) in n's pool, pooling it when there
 * is room; -1 when it is not pooled (too long, the pool full, or out of
 * memory: the name is then kept in the record). n NULL: -1. */
int mns_pool_intern(mt_ns *n, const char *name, size_t len);
/* The index of name in n's pool, or -1. */
int mns_pool_find(mt_ns *n, const char *name);
/* n's pooled names and their lengths, by index. */
char *const *mns_pool_names(const mt_ns *n);
const unsigned char *mns_pool_lens(const mt_ns *n);

#endif
