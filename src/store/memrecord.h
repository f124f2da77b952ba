#ifndef STATUSD_STORE_MEMRECORD_H
#define STATUSD_STORE_MEMRECORD_H

/*
 * Record contents for the memory store: field lookups, deep copies of a
 * table entry into the caller-owned sd_record / sd_list, the stage of a
 * hash update, and the pages of ids a listing returns.
 *
 * The stage. An update with several assignments must change all or
 * nothing (an INCR of a non-number in the middle leaves the record as it
 * was). The stage is the new field array being built: it borrows the
 * entry's unchanged names and values and owns only what the assignments
 * made. Abort frees what it owns and leaves the entry untouched; commit
 * installs the array in the entry and frees what no field refers to any
 * more. No value is copied that the update does not change.
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
/* Field name parsed as a whole decimal int64; false when absent or not a
 * number. */
bool mrec_i64(const sd_field *f, size_t n, const char *name, int64_t *out);

/* Deep copy of f[0..n) into the empty caller-owned *out. On SD_ERR_NOMEM
 * *out is left empty. */
sd_err mrec_record_copy(sd_record *out, const sd_field *f, size_t n, int64_t expires);
/* Deep copy of a[0..na) then b[0..nb) into the empty caller-owned *out.
 * On SD_ERR_NOMEM *out is left empty. */
sd_err mrec_list_copy(sd_list *out, const char *const *a, const size_t *alens,
                      size_t na, const char *const *b, const size_t *blens,
                      size_t nb, int64_t expires);

typedef struct mrec_stage {
    sd_field *f;          /* the fields after the change so far */
    unsigned char *own;   /* per field: which strings the stage allocated */
    size_t n;
} mrec_stage;

/* A stage holding from[0..n) (borrowed), with room for extra more fields.
 * SD_ERR_NOMEM, in which case there is nothing to abort. */
sd_err mrec_stage_init(mrec_stage *st, const sd_field *from, size_t n, size_t extra);
/* Frees what the stage owns; the entry it borrowed from is untouched. */
void mrec_stage_abort(mrec_stage *st);
/* Makes the stage e's fields (e must be the entry the stage borrowed
 * from, or have none) and frees what no field refers to any more. The
 * stage is consumed. */
void mrec_stage_commit(mrec_stage *st, mt_entry *e);
/* field name = value[0..len). SD_ERR_NOMEM. */
sd_err mrec_stage_set(mrec_stage *st, const char *name, const char *value, size_t len);
/* Applies one assignment. SD_ERR_INVALID for an INCR of a field that is
 * not a decimal integer or that would overflow; SD_ERR_NOMEM. On error the
 * stage is still consistent and must be aborted. */
sd_err mrec_stage_apply(mrec_stage *st, const sd_assign *a);

/* Sets one field of the hash entry e in place, all or nothing. */
sd_err mrec_entry_set(mt_entry *e, const char *name, const char *value, size_t len);
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
