#ifndef STATUSD_STORE_MEMTABLE_H
#define STATUSD_STORE_MEMTABLE_H

/*
 * The table under the memory store: a hash table split into independently
 * locked shards, records with an absolute expiry, per-namespace live
 * counters, per-value counters of indexed namespaces (both kept by
 * memns.h), and a sweeper thread that drops expired records so memory
 * stays bounded even for records nobody reads again. It knows nothing of
 * update semantics; memory.c holds those.
 *
 * Locking. A caller locks the shard of a key (memtable_lock), finds,
 * inserts, changes or removes entries of that shard, and unlocks. An entry
 * pointer is valid only while its shard is locked. Whole-table operations
 * (page, sweep, clear) lock one shard at a time, never two.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "statusd/store.h"
#include "membudget.h"

typedef enum mt_kind { MT_HASH, MT_LIST } mt_kind;

/* Key classes. Records of namespaces are MT_TAG_USER; the store's own
 * records (rate-limit state, the ping probe) use other tags, so no
 * namespace's count or scan ever sees them. */
#define MT_TAG_USER 'u'
#define MT_TAG_RATE 'r'
#define MT_TAG_PROBE 'p'

/* A key as looked up: borrowed strings plus their hash. */
typedef struct mt_key {
    char tag;
    const char *ns;
    size_t ns_len;
    const char *id;
    size_t id_len;
    uint64_t hash;
} mt_key;

typedef struct mt_ns mt_ns;
typedef struct mt_value mt_value;

/* A record: one allocation holding this header, then the key (ns NUL
 * id NUL, see mt_entry_ns and mt_entry_id) and, for a hash, its fields
 * packed (read them with mt_fields_next): the value lengths, uint32_t
 * lens[0..nfields), then for each field in order its name and value NUL.
 * The name is either the name NUL or, for a namespace's common names,
 * one byte naming it in the namespace's pool of names (memns.h).
 * A hash is rebuilt whole by each change (memtable_put_hash): one malloc
 * per record of any number of fields, with neither per-string
 * allocations, their headers and fragments, nor a pointer array, nor a
 * copy of each field name, which is what a table of many records mostly
 * spends besides the values. A list keeps its items in arrays of their
 * own, items/lens[0..nitems) with room for cap, owned by the entry.
 * Everything is freed with it. */
typedef struct mt_entry {
    struct mt_entry *next;
    uint64_t hash;
    mt_ns *counter;          /* live counter of the namespace; NULL if internal */
    mt_value *value;         /* the value counter it counts under; NULL for none */
    int64_t seq;             /* order key in the value's members; 0 until counted */
    int64_t expires_ms;      /* absolute epoch ms; 0 = never */
    union {
        struct {             /* MT_HASH */
            uint32_t nfields;
            uint32_t flat;   /* bytes of its names and values, each NUL-ended */
            uint32_t area;   /* bytes of the block after the key (lens, fields) */
        };
        struct {             /* MT_LIST */
            char **items;
            size_t *lens;
            size_t nitems;
            size_t cap;
        };
    };
    uint32_t ns_len;
    uint32_t id_len;
    char tag;
    unsigned char kind;      /* an mt_kind */
    char key[];              /* ns NUL id NUL, then a hash's fields */
} mt_entry;

static inline const char *mt_entry_ns(const mt_entry *e) { return e->key; }
static inline const char *mt_entry_id(const mt_entry *e)
{
    return e->key + e->ns_len + 1;
}

/* In a packed field's length: its name is a pool index. */
#define MT_LEN_POOLED 0x80000000u

/* A walk over the fields of a hash entry, in order:
 *     mt_field_iter it = mt_fields_begin(e);
 *     sd_field f;
 *     while (mt_fields_next(&it, &f)) ...
 * f's strings point into the entry or its namespace's pool of names
 * (valid while its shard is locked and the entry unchanged); values are
 * NUL-terminated; it.name_len is the length of f's name. Inline: reads
 * walk the fields on every poll. */
typedef struct mt_field_iter {
    const uint32_t *lens;
    const char *p;
    size_t i, n;
    char *const *pool;              /* the namespace's pooled names */
    const unsigned char *pool_lens; /* and their lengths */
    size_t name_len;
} mt_field_iter;

mt_field_iter mt_fields_begin(const mt_entry *e);

static inline bool mt_fields_next(mt_field_iter *it, sd_field *f)
{
    if (it->i == it->n)
        return false;
    uint32_t len = it->lens[it->i++];
    if (len & MT_LEN_POOLED) {
        unsigned char k = (unsigned char)*it->p++;
        f->name = it->pool[k];
        it->name_len = it->pool_lens[k];
    } else {
        f->name = (char *)it->p;
        it->name_len = strlen(it->p);
        it->p += it->name_len + 1;
    }
    f->len = len & ~MT_LEN_POOLED;
    f->value = (char *)it->p;
    it->p += f->len + 1;
    return true;
}

typedef struct memtable memtable;
typedef struct mt_shard mt_shard;

/* A table of `shards` shards (rounded up to a power of two, at most 4096;
 * 0 = 64) whose sweeper runs every sweep_interval_ms (<= 0 = 1000),
 * holding at most max_bytes (0 = no cap; see membudget.h), in *out.
 * SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock or the sweeper's thread
 * cannot be made; *out is then NULL. */
sd_err memtable_new(unsigned shards, int64_t sweep_interval_ms, int64_t max_bytes,
                    memtable **out);
/* Stops the sweeper (promptly: it waits on a condition variable) and frees
 * every record. */
void memtable_free(memtable *t);

/* Fills k for (tag, ns, id); the strings must outlive k. */
void mt_key_init(mt_key *k, char tag, const char *ns, const char *id);

/* True when e has an expiry that now has passed (Redis: now > expiry). */
static inline bool mt_expired(const mt_entry *e, int64_t now)
{
    return e->expires_ms != 0 && now > e->expires_ms;
}

/* Locks and returns the shard that holds k. */
mt_shard *memtable_lock(memtable *t, const mt_key *k);
void memtable_unlock(mt_shard *s);

/* The live entry for k in the locked shard s, or NULL. An expired entry
 * found on the way is removed (lazy expiry). */
mt_entry *memtable_find(mt_shard *s, const mt_key *k, int64_t now);

/* Adds an empty entry of kind for k (which must be absent) to the locked
 * shard s, counted in its namespace; expires_ms 0. SD_ERR_NOMEM (also for
 * a namespace or id of 2 GiB or more). */
sd_err memtable_insert(memtable *t, mt_shard *s, const mt_key *k,
                       mt_kind kind, mt_entry **out);

/*
 * Makes the hash record k of the locked shard s hold exactly f[0..n)
 * (n >= 1): builds the record's new block and puts it in the place of *e,
 * which must be k's live hash entry, taking over its counts and expiry;
 * or, when *e is NULL (k absent), adds it as a new record counted in its
 * namespace, expires_ms 0. The strings of f may point into the old entry:
 * they are copied before it is freed. *e gets the new entry. capped: a
 * record that would grow the count past the cap is refused with
 * SD_ERR_STORE_FULL (one that shrinks or keeps its size never is). All
 * or nothing: on SD_ERR_NOMEM (also for a value of 2 GiB or more),
 * SD_ERR_STORE_FULL or SD_ERR_INTERNAL (*e is not in s) *e and the table
 * are as they were.
 */
sd_err memtable_put_hash(memtable *t, mt_shard *s, const mt_key *k,
                         const sd_field *f, size_t n, bool capped, mt_entry **e);

/*
 * The byte count (membudget.h). The table counts its own allocations:
 * an entry's block when it is linked, replaced or freed, and the shards'
 * bucket arrays. A list's arrays and items change in place (memory.c),
 * so whoever changes them reads the entry's cost before and after and
 * adds the difference.
 */
mb_budget *memtable_budget(memtable *t);
/* What the entry e holds in the heap: its block and, for a list, its
 * arrays and items, each at mb_cost. */
size_t memtable_entry_cost(const mt_entry *e);
/* What memtable_insert of an empty list entry for k adds to the count
 * in the locked shard s: the entry and any growth of s's buckets. */
size_t memtable_list_new_cost(const mt_shard *s, const mt_key *k);

/* Unlinks e from the locked shard s and frees it. */
void memtable_remove(mt_shard *s, mt_entry *e);

/* Calls fn(e, arg) for every live record of namespace ns, one shard
 * locked at a time (e is valid only during the call). Stops at the first
 * error fn returns and returns it. */
typedef sd_err (*mt_visit_fn)(const mt_entry *e, void *arg);
sd_err memtable_each(memtable *t, const char *ns, int64_t now, mt_visit_fn fn, void *arg);

/* Records of namespace ns not yet removed: expired ones count until an
 * access or the sweeper removes them. O(namespaces), never a scan. */
int64_t memtable_count(memtable *t, const char *ns);

/*
 * Value counters. A namespace may declare one indexed field; each of its
 * entries then counts under the counter of the value its field holds
 * (e->value), and stops counting when it is removed, however that happens
 * (delete, clear, lazy expiry, the sweeper): expired entries count as long
 * as memtable_count counts them. A counter exists while something counts
 * under it, so memory follows the values live, and a change costs a walk
 * of the namespace's distinct live values: an index suits a field of few
 * values (a status).
 */

/* Declares field as the indexed field of namespace ns. Call before the
 * table is shared between threads. SD_ERR_INVALID when ns already has
 * another field; SD_ERR_NOMEM. */
sd_err memtable_index(memtable *t, const char *ns, const char *field);

/* Takes one count of the counter that a hash of fields f[0..n) under key
 * k counts under, into *out: NULL (and SD_OK) when the namespace has no
 * index or f lacks its field. The caller hands the count to an entry
 * (memtable_entry_count) or gives it back (memtable_value_release).
 * SD_ERR_NOMEM, SD_ERR_INTERNAL. */
sd_err memtable_value_take(memtable *t, const mt_key *k, const sd_field *f, size_t n,
                           mt_value **out);
/* Gives back one count of v (NULL: nothing). */
void memtable_value_release(mt_value *v);
/* Makes the entry e (its shard locked) count under v, a count taken for
 * it, and gives back the count it held; e moves to v's members (see
 * memtable_scan_by), getting its order key the first time. */
void memtable_entry_count(mt_entry *e, mt_value *v);

/* One page of the entries counting under value in ns, newest first (by
 * order key, below before when before > 0), as sd_store_ops.scan_by. */
sd_err memtable_scan_by(memtable *t, const char *ns, const char *value, int64_t before,
                        size_t limit, sd_page *out);

/* Into *out, how many records of ns count under value. SD_ERR_INVALID
 * when ns has no indexed field; SD_ERR_INTERNAL. */
sd_err memtable_count_by(memtable *t, const char *ns, const char *value, int64_t *out);

/* Removes every record of every key class; returns how many were live. */
int64_t memtable_clear(memtable *t, int64_t now);

/* Removes every expired record; returns how many. The sweeper calls it. */
int64_t memtable_sweep(memtable *t, int64_t now);

#endif
