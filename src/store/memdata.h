#ifndef STATUSD_STORE_MEMDATA_H
#define STATUSD_STORE_MEMDATA_H

/*
 * The record layer of the memory store, private to src/store: the hash
 * and list records of a memtable, as statusd/store.h defines their
 * operations. memory.c (the store's table) and memqueue.c (a queue step's
 * record change) both call it; it calls neither. Each call locks only the
 * shard of its record, so a caller holding a queue lock may call it:
 * queue locks come before shard locks because memqueue.c calls this
 * layer and never the other way round.
 */

#include <stdbool.h>
#include <stdint.h>

#include "statusd/store.h"
#include "memtable.h"

/*
 * get (rec given) and list_get (list given): a copy of the live record
 * (ns, id) when it is of that kind. renew_ttl_ms > 0 renews the expiry to
 * now + renew_ttl_ms, for a hash capped by its deadline field and left
 * out as sd_renew_skippable (store_common.h) says for slack_ms; a renewal
 * that is not in the future (a deadline gone by) deletes the record, as
 * PEXPIREAT does. SD_ERR_NOT_FOUND when absent or of the other kind;
 * SD_ERR_NOMEM.
 */
sd_err md_read(memtable *t, const char *ns, const char *id, int64_t renew_ttl_ms,
               int64_t slack_ms, sd_record *rec, sd_list *list);

/* The update u of the hash (ns, id), its result in out when given.
 * capped: a record that would grow the byte count past the cap is
 * refused with SD_ERR_STORE_FULL (membudget.h). */
sd_err md_update(memtable *t, const char *ns, const char *id, const sd_update *u,
                 bool capped, sd_record *out);

/* Deletes the record (ns, id); SD_ERR_NOT_FOUND when absent. */
sd_err md_del(memtable *t, const char *ns, const char *id);

/* RPUSH, LTRIM to the newest max_len and PEXPIRE in one step. Every copy
 * and allocation happens before the list changes, so a failure leaves it
 * as it was. Meets the cap. */
sd_err md_list_append(memtable *t, const char *ns, const char *id,
                      const char *const *items, const size_t *lens, size_t n,
                      size_t max_len, int64_t ttl_ms, sd_list *out);

#endif
