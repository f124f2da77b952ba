#ifndef STATUSD_STORE_MEMRECORD_H
#define STATUSD_STORE_MEMRECORD_H

/*
 * Record contents for the memory store: field lookups, deep copies of a
 * table entry into the caller-owned sd_record / sd_list, the stage of a
 * hash update, and the pages of ids a listing returns.
 *
 * The stage. An update with several assignments must change all or
 * nothing (an INCR of a non-number in the middle leaves the record as it
 * was). The stage is the field array after the change so far, all of
 * borrowed strings: the entry's unchanged names and values, the
 * assignments' names and values (which outlive the update call) and the
 * numbers INCR wrote, which the stage keeps. Nothing is copied until
 * commit builds the record's new block from it in one allocation
 * (memtable_put_hash); a failure before that leaves the entry untouched.
 * A stage lives on the caller's stack and allocates nothing itself while
 * the record's fields and the update's assignments together number at
 * most MREC_STAGE_FIELDS, and its INCRs at most MREC_STAGE_NUMS.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/store.h"
#include "memtable.h"

/* now + ttl_ms, saturating instead of overflowing. */
int64_t mrec_expiry_after(int64_t now, int64_t ttl_ms);
/* now + ttl_ms capped by the SD_FIELD_DEADLINE field of f[0..n) when it
 * holds a decimal integer (a field that does not caps nothing). */
int64_t mrec_capped_expiry(const sd_field *f, size_t n, int64_t now, int64_t ttl_ms);

/* A NUL-terminated copy of p[0..len) that the caller frees; NULL on NOMEM. */
char *mrec_dup(const char *p, size_t len);
/* The index of field name in f[0..n), or SIZE_MAX. */
size_t mrec_find(const sd_field *f, size_t n, const char *name);
/* Field name parsed as a whole decimal int64 (as sd_parse_i64 reads it;
 * the value need not be NUL-terminated); false when absent or not a
 * number. */
bool mrec_i64(const sd_field *f, size_t n, const char *name, int64_t *out);

/* Deep copy of f[0..n) into the empty caller-owned *out. On SD_ERR_NOMEM
 * *out is left empty. */
sd_err mrec_record_copy(sd_record *out, const sd_field *f, size_t n, int64_t expires);

/* The same reads of the fields of the hash entry e (its shard locked):
 * the value of field name, or NULL when absent, with its length in *len
 * (optional); as mrec_i64; as mrec_capped_expiry; as mrec_record_copy. */
const char *mrec_entry_get(const mt_entry *e, const char *name, size_t *len);
bool mrec_entry_i64(const mt_entry *e, const char *name, int64_t *out);
int64_t mrec_entry_capped_expiry(const mt_entry *e, int64_t now, int64_t ttl_ms);
sd_err mrec_entry_copy(sd_record *out, const mt_entry *e, int64_t expires);

/* Deep copy of a[0..na) then b[0..nb) into the empty caller-owned *out.
 * On SD_ERR_NOMEM *out is left empty. */
sd_err mrec_list_copy(sd_list *out, const char *const *a, const size_t *alens,
                      size_t na, const char *const *b, const size_t *blens,
                      size_t nb, int64_t expires);

/* Fields and INCR results a stage holds without allocating. */
#define MREC_STAGE_FIELDS 16
#define MREC_STAGE_NUMS 8
/* Room for an int64 in decimal and its NUL. */
#define MREC_NUM_MAX 24

typedef struct mrec_stage {
    sd_field *f;          /* the fields after the change so far */
    size_t n;
    size_t room;          /* of f */
    char (*nums)[MREC_NUM_MAX];  /* INCR results, one slot each */
    size_t nnums;
    size_t nums_room;
    sd_field f_inline[MREC_STAGE_FIELDS];
    char nums_inline[MREC_STAGE_NUMS][MREC_NUM_MAX];
} mrec_stage;

/* A stage holding the fields of the hash entry e (borrowed: e must stay
 * unchanged while the stage lives), none when e is NULL, with room for
 * `assigns` assignments. SD_ERR_NOMEM, in which case there is nothing to
 * free. */
sd_err mrec_stage_init(mrec_stage *st, const mt_entry *e, size_t assigns);
/* Frees what the stage allocated; the entry it borrowed from is
 * untouched. Call once, after commit too. */
void mrec_stage_free(mrec_stage *st);
/* Applies one assignment, whose strings must outlive the stage.
 * SD_ERR_INVALID for an INCR of a field that is not a decimal integer or
 * that would overflow; SD_ERR_INTERNAL past the room init gave. On error
 * the stage is still consistent and must be freed. */
sd_err mrec_stage_apply(mrec_stage *st, const sd_assign *a);
/* Makes the stage's fields (st->n >= 1) the contents of the hash record
 * k in the locked shard s: *e is the entry the stage borrowed from, or
 * NULL to create the record. *e gets the new entry (see
 * memtable_put_hash, which says what it takes over and what capped
 * does); the old one is freed, so the stage's borrowed strings may no
 * longer be read. All or nothing: SD_ERR_NOMEM, SD_ERR_STORE_FULL. */
sd_err mrec_stage_commit(const mrec_stage *st, memtable *t, mt_shard *s,
                         const mt_key *k, bool capped, mt_entry **e);

/* Sets one field of the hash record k, of a key class no index counts
 * (the store's own records), in the locked shard s: *e is its live entry,
 * or NULL to create it (expires_ms 0). *e gets the new entry. capped as
 * memtable_put_hash's. All or nothing: SD_ERR_NOMEM, SD_ERR_STORE_FULL. */
sd_err mrec_hash_set(memtable *t, mt_shard *s, const mt_key *k, bool capped, mt_entry **e,
                     const char *name, const char *value, size_t len);
/* What growing item arrays of room for cap items to hold need items
 * adds to the byte count (membudget.h): 0 when they have the room. */
int64_t mrec_list_reserve_cost(size_t cap, size_t need);
/* Grows the item arrays of the list entry e to hold at least need items;
 * on SD_ERR_NOMEM the items are unchanged. */
sd_err mrec_list_reserve(mt_entry *e, size_t need);
/* Frees items[0..n) and the array; NULL items are skipped. */
void mrec_items_free(char **items, size_t n);

/* The ids of live records of namespace ns greater than after (NULL: from
 * the first) in byte order, the smallest max of them, sorted, as owned
 * copies: the caller frees each and the array *ids. *more says whether
 * further ids follow. One shard is locked at a time (memtable_each); the
 * cost is a walk of the whole table. SD_ERR_INVALID for max 0,
 * SD_ERR_NOMEM. */
sd_err mrec_page(memtable *t, const char *ns, const char *after,
                 size_t max, int64_t now, char ***ids, size_t *n, bool *more);

#endif
