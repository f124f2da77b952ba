/*
 * The memory store: every operation of statusd/store.h for a single
 * instance and for development, over one sharded table (memtable.c).
 * Three layers, each calling only the ones below it:
 *
 *   memory.c     the store's operation table, listing, counts, rate
 *                limits, health
 *   memqueue.c   the queues; a queue step's record change through
 *                memdata.c with the queue locked
 *   memdata.c    hash and list records: read, update, delete, append
 *   memtable.c   shards, entries, expiry, the byte count (membudget.h)
 *
 * So the lock order (a queue lock before a shard lock, never after)
 * follows from who calls whom.
 *
 * Redis parity. An expired record is absent for every operation. Setting
 * an expiry that is not in the future (a deadline already passed) deletes
 * the record, as PEXPIREAT does. A hash whose last field is deleted stops
 * existing, as in Redis. A deadline field that is not a decimal integer
 * does not cap anything.
 *
 * The cap (memory_max_bytes, membudget.h). Writes a client asks for
 * (update, list_append, rate_check, queue_push with its record) are
 * refused with SD_ERR_STORE_FULL when they would grow the byte count past
 * the cap; one that shrinks a record or keeps its size passes. Reads,
 * deletes, expiry, the queue steps of work accepted earlier (take,
 * renew, ack, release, remove, reap, and their record changes), a push
 * with no record change or one that settles, and any update marked
 * settles (a run's end or token, an app's final report) are never
 * refused: they finish or drop what is held, so a full store drains by
 * itself, and a running job always gets to write its result, even when
 * that passes the cap by the size of the results being written.
 */
#include "statusd/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "membudget.h"
#include "memdata.h"
#include "memqueue.h"
#include "memrecord.h"
#include "memtable.h"
#include "store_common.h"

#define MEM_RATE_FIELD "tat_ns"

typedef struct mem_store {
    sd_store base;
    memtable *table;
    mq_queues *queues;
} mem_store;

static memtable *table_of(sd_store *s) { return ((mem_store *)s)->table; }

static mq_queues *queues_of(sd_store *s) { return ((mem_store *)s)->queues; }

/* ---- records (memdata.h) ---- */

static sd_err mem_get(sd_store *s, const char *ns, const char *id,
                      int64_t renew_ttl_ms, int64_t slack_ms, sd_record *out)
{
    return md_read(table_of(s), ns, id, renew_ttl_ms, slack_ms, out, NULL);
}

static sd_err mem_list_get(sd_store *s, const char *ns, const char *id,
                           int64_t renew_ttl_ms, sd_list *out)
{
    return md_read(table_of(s), ns, id, renew_ttl_ms, 0, NULL, out);
}

/* Every update a client asks for adds to what the store holds, so it
 * meets the cap; one that settles does not. */
static sd_err mem_update(sd_store *s, const char *ns, const char *id,
                         const sd_update *u, sd_record *out)
{
    return md_update(table_of(s), ns, id, u, !u->settles, out);
}

static sd_err mem_del(sd_store *s, const char *ns, const char *id)
{
    return md_del(table_of(s), ns, id);
}

static sd_err mem_list_append(sd_store *s, const char *ns, const char *id,
                              const char *const *items, const size_t *lens,
                              size_t n, size_t max_len, int64_t ttl_ms,
                              sd_list *out)
{
    return md_list_append(table_of(s), ns, id, items, lens, n, max_len, ttl_ms, out);
}

/* ---- queues (memqueue.h) ---- */

static sd_err mem_queue_push(sd_store *s, const char *queue, const char *item,
                             int64_t delay_ms, int64_t capacity, sd_queue_rec *rec)
{
    return mq_push(queues_of(s), queue, item, delay_ms, capacity, rec);
}

static sd_err mem_queue_take(sd_store *s, const char *queue, const sd_queue_take *t,
                             const sd_queue_rec *rec, sd_queue_item *items, size_t *n)
{
    return mq_take(queues_of(s), queue, t, rec, items, n);
}

static sd_err mem_queue_renew(sd_store *s, const char *queue, const char *item,
                              const char *owner, int64_t lease_ms, sd_queue_rec *rec)
{
    return mq_renew(queues_of(s), queue, item, owner, lease_ms, rec);
}

static sd_err mem_queue_ack(sd_store *s, const char *queue, const char *item,
                            const char *owner, sd_queue_rec *rec)
{
    return mq_ack(queues_of(s), queue, item, owner, rec);
}

static sd_err mem_queue_ack_take(sd_store *s, const char *queue, const char *item,
                                 const char *owner, sd_queue_rec *rec, const sd_queue_take *t,
                                 const sd_queue_rec *take_rec, sd_queue_item *items, size_t *n)
{
    return mq_ack_take(queues_of(s), queue, item, owner, rec, t, take_rec, items, n);
}

static sd_err mem_queue_release(sd_store *s, const char *queue, const char *item,
                                const char *owner, int64_t delay_ms, sd_queue_rec *rec)
{
    return mq_release(queues_of(s), queue, item, owner, delay_ms, rec);
}

static sd_err mem_queue_remove(sd_store *s, const char *queue, const char *item,
                               sd_queue_rec *rec)
{
    return mq_remove(queues_of(s), queue, item, rec);
}

static sd_err mem_queue_reap(sd_store *s, const char *queue, const char *owner,
                             int64_t lease_ms, size_t max, sd_queue_item *items, size_t *n)
{
    return mq_reap(queues_of(s), queue, owner, lease_ms, max, items, n);
}

static sd_err mem_queue_stats(sd_store *s, const char *queue, sd_queue_stats *out)
{
    return mq_stats(queues_of(s), queue, out);
}

/* ---- listing ---- */

/*
 * A cursor is the last id of the previous page, hex-encoded; a page is the
 * `limit` smallest live ids greater than the cursor in byte order. Ordering
 * by id rather than by place in the table is what keeps the listing
 * complete while records come and go: an id live for the whole listing
 * stays greater than every cursor until a page returns it, and is returned
 * once. The cost: each page walks every record of the table (one shard
 * locked at a time) keeping the best limit + 1 ids in a heap
 * (mrec_page), so a page is O(N log limit) and a whole listing
 * O(N^2 / limit) for N records. That suits the admin-sized listings of a
 * single instance; limit is capped at SD_STORE_SCAN_MAX.
 */

static sd_err mem_scan(sd_store *s, const char *ns, const char *after,
                       size_t limit, sd_page *out)
{
    char **ids = NULL;
    size_t n = 0;
    bool more = false;
    sd_err err = mrec_page(table_of(s), ns, after, limit, sd_now_ms(), &ids, &n, &more);
    if (err == SD_OK && more) {
        out->next_cursor = sd_store_cursor_encode(ids[n - 1]);
        if (out->next_cursor == NULL) {
            mrec_items_free(ids, n);
            return SD_ERR_NOMEM;
        }
    }
    if (err == SD_OK) {
        out->ids = ids;
        out->count = n;
    }
    return err;
}

/* An expired record counts until the sweeper (within one sweep interval)
 * or an access removes it. */
static sd_err mem_count(sd_store *s, const char *ns, int64_t *out)
{
    *out = memtable_count(table_of(s), ns);
    return SD_OK;
}

static sd_err mem_index(sd_store *s, const char *ns, const char *field)
{
    return memtable_index(table_of(s), ns, field);
}

/* As count: an expired record counts until the sweeper or an access
 * removes it. */
static sd_err mem_count_by(sd_store *s, const char *ns, const char *value, int64_t *out)
{
    return memtable_count_by(table_of(s), ns, value, out);
}

/* Records past their expiry are listed until an access or the sweeper
 * removes them, as count_by counts them. */
static sd_err mem_scan_by(sd_store *s, const char *ns, const char *value, int64_t before,
                          size_t limit, sd_page *out)
{
    return memtable_scan_by(table_of(s), ns, value, before, limit, out);
}

/* Queues are emptied too, their items not counted (as on Redis). */
static sd_err mem_clear(sd_store *s, int64_t *deleted)
{
    mq_queues_clear(queues_of(s));
    int64_t n = memtable_clear(table_of(s), sd_now_ms());
    if (deleted != NULL)
        *deleted = n;
    return SD_OK;
}

/* ---- rate limits ---- */

/*
 * GCRA (see store_common.h), the TAT kept as decimal nanoseconds in the
 * record's one field. The record expires at the TAT, when the key is
 * fully replenished and its state would say nothing anyway.
 */
static sd_err mem_rate_check(sd_store *s, const char *key, int64_t limit,
                             int64_t period_ms, sd_rate *out)
{
    sd_gcra g = sd_gcra_of(limit, period_ms);
    mt_key k;
    mt_key_init(&k, MT_TAG_RATE, "rate", key);
    int64_t now = sd_now_ms() * SD_NS_PER_MS;
    memtable *t = table_of(s);
    mt_shard *sh = memtable_lock(t, &k);
    mt_entry *e = memtable_find(sh, &k, now / SD_NS_PER_MS);
    int64_t ahead = 0, stored;
    if (e != NULL && mrec_entry_i64(e, MEM_RATE_FIELD, &stored) &&
        stored > now)
        ahead = stored - now;
    sd_err err = SD_OK;
    if (!sd_gcra_allows(&g, ahead)) {
        sd_gcra_answer(&g, false, ahead, out);
        goto done;
    }
    int64_t next = now + ahead + g.interval_ns;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%" PRId64, next);
    err = mrec_hash_set(t, sh, &k, true, &e, MEM_RATE_FIELD, buf, (size_t)len);
    if (err != SD_OK)
        goto done;
    e->expires_ms = sd_store_ns_to_ms_up(next);
    sd_gcra_answer(&g, true, ahead, out);
done:
    memtable_unlock(sh);
    return err;
}

/* ---- health ---- */

/* Writes, reads back and deletes a probe record with a fresh id, each step
 * under its own lock, as a client would. */
static sd_err mem_ping(sd_store *s)
{
    char id[SD_UUID_LEN + 1];
    sd_uuid_new(id);
    mt_key k;
    mt_key_init(&k, MT_TAG_PROBE, "ping", id);
    memtable *t = table_of(s);
    int64_t now = sd_now_ms();

    mt_shard *sh = memtable_lock(t, &k);
    mt_entry *e = NULL;
    /* Not capped: the probe is gone at once, and a full store that still
     * reads, deletes and expires is healthy. */
    sd_err err = mrec_hash_set(t, sh, &k, false, &e, "probe", id, SD_UUID_LEN);
    if (err == SD_OK)
        e->expires_ms = mrec_expiry_after(now, 60000);
    memtable_unlock(sh);
    if (err != SD_OK)
        return err;

    sh = memtable_lock(t, &k);
    e = memtable_find(sh, &k, sd_now_ms());
    size_t len = 0;
    const char *probe = e != NULL && e->nfields == 1 ? mrec_entry_get(e, "probe", &len) : NULL;
    bool same = probe != NULL && len == SD_UUID_LEN && memcmp(probe, id, SD_UUID_LEN) == 0;
    memtable_unlock(sh);

    sh = memtable_lock(t, &k);
    e = memtable_find(sh, &k, sd_now_ms());
    bool found = e != NULL;
    if (found)
        memtable_remove(sh, e);
    memtable_unlock(sh);
    return same && found ? SD_OK : SD_ERR_INTERNAL;
}

static void mem_info(sd_store *s, sd_store_info *out)
{
    const mb_budget *b = memtable_budget(table_of(s));
    out->backend = "memory";
    out->url[0] = '\0';
    out->shared = false;
    out->remote = false;
    out->bytes_held = mb_used(b);
    out->bytes_max = b->max;
}

static void mem_free(sd_store *s)
{
    mem_store *m = (mem_store *)s;
    mb_stop_warnings(memtable_budget(m->table));
    mq_queues_free(m->queues);
    memtable_free(m->table);
    free(m);
}

static const sd_store_ops mem_ops = {
    .name = "memory",
    .get = mem_get,
    .update = mem_update,
    .del = mem_del,
    .list_append = mem_list_append,
    .list_get = mem_list_get,
    .scan = mem_scan,
    .count = mem_count,
    .index = mem_index,
    .count_by = mem_count_by,
    .scan_by = mem_scan_by,
    .clear = mem_clear,
    .rate_check = mem_rate_check,
    .queue_push = mem_queue_push,
    .queue_take = mem_queue_take,
    .queue_renew = mem_queue_renew,
    .queue_ack = mem_queue_ack,
    .queue_ack_take = mem_queue_ack_take,
    .queue_release = mem_queue_release,
    .queue_remove = mem_queue_remove,
    .queue_reap = mem_queue_reap,
    .queue_stats = mem_queue_stats,
    .ping = mem_ping,
    .info = mem_info,
    .free = mem_free,
};

sd_err sd_memory_store_new(const sd_memory_opts *opts, sd_store **out)
{
    *out = NULL;
    mem_store *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SD_ERR_NOMEM;
    sd_err e = memtable_new(opts != NULL ? opts->shards : 0,
                            opts != NULL ? opts->sweep_interval_ms : 0,
                            opts != NULL ? opts->max_bytes : 0, &m->table);
    if (e == SD_OK)
        e = mq_queues_new(m->table, &m->queues);
    if (e != SD_OK) {
        memtable_free(m->table);
        free(m);
        return e;
    }
    m->base.ops = &mem_ops;
    *out = &m->base;
    return SD_OK;
}
