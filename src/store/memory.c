/*
 * The memory store: every operation of statusd/store.h over the sharded
 * table of memtable.c, for a single instance and for development.
 *
 * Every operation locks the one shard of its key, so each change is
 * atomic. A hash update is first built in a stage (memrecord.h) that
 * borrows the record's unchanged fields and the assignments' values, and
 * only then becomes the record's new block, one allocation (memtable.h):
 * a failing assignment (INCR of a non-number) or an allocation failure
 * drops the stage and the record is exactly as it was.
 *
 * Redis parity. An expired record is absent for every operation. Setting
 * an expiry that is not in the future (a deadline already passed) deletes
 * the record, as PEXPIREAT does. A hash whose last field is deleted stops
 * existing, as in Redis. A deadline field that is not a decimal integer
 * does not cap anything.
 *
 * Queues are memqueue.c's, which applies a queue step's record change
 * through mem_record_update with the queue locked (queue locks come
 * before shard locks).
 *
 * The cap (memory_max_bytes, membudget.h). Writes a client asks for
 * (update, list_append, rate_check, queue_push with its record) are
 * refused with SD_ERR_STORE_FULL when they would grow the byte count past
 * the cap; one that shrinks a record or keeps its size passes. Reads,
 * deletes, expiry and the queue steps of work accepted earlier (take,
 * renew, ack, release, remove, reap, and their record changes) are never
 * refused: they finish or drop what is held, so a full store drains by
 * itself, and a running job always gets to write its result, even when
 * that passes the cap by the size of the results being written.
 *
 * Value counts (index, count_by) are memtable's value counters: an update
 * takes a count of the counter its new fields name before anything
 * changes and hands it to the entry under the same shard lock; whatever
 * removes an entry gives its count back.
 */
#include "statusd/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "membudget.h"
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

mq_queues *mem_queues_of(sd_store *s) { return ((mem_store *)s)->queues; }

/* Locks the shard of the record (ns, id) into *sh (the caller unlocks)
 * and returns its live entry, NULL when there is none. *k gets the key
 * (for an insert) and *now the time expiry is judged by. */
static mt_entry *lock_record(sd_store *s, const char *ns, const char *id, mt_key *k,
                             mt_shard **sh, int64_t *now)
{
    mt_key_init(k, MT_TAG_USER, ns, id);
    *now = sd_now_ms();
    *sh = memtable_lock(table_of(s), k);
    return memtable_find(*sh, k, *now);
}

/* ---- reads ---- */

/*
 * get and list_get: a copy of the live record (ns, id) into the empty
 * *rec when it is a hash, or *list when it is a list (the caller gives
 * one of them). renew_ttl_ms > 0 renews the expiry to now + renew_ttl_ms,
 * for a hash capped by its deadline field and left out as
 * sd_renew_skippable says for slack_ms; a renewal that is not in the
 * future (a deadline gone by) deletes the record, as PEXPIREAT does.
 * SD_ERR_NOT_FOUND when absent or of the other kind; SD_ERR_NOMEM.
 */
static sd_err mem_read(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                       int64_t slack_ms, sd_record *rec, sd_list *list)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(s, ns, id, &k, &sh, &now);
    sd_err err = SD_ERR_NOT_FOUND;
    if (e == NULL || e->kind != (rec != NULL ? MT_HASH : MT_LIST))
        goto done;
    int64_t exp = e->expires_ms;
    if (renew_ttl_ms > 0)
        exp = e->kind == MT_HASH ? mrec_entry_capped_expiry(e, now, renew_ttl_ms)
                                 : mrec_expiry_after(now, renew_ttl_ms);
    if (renew_ttl_ms > 0 && e->kind == MT_HASH &&
        sd_renew_skippable(e->expires_ms, exp, exp != mrec_expiry_after(now, renew_ttl_ms),
                           slack_ms))
        exp = e->expires_ms;
    if (renew_ttl_ms > 0 && exp <= now) {
        memtable_remove(sh, e);
        goto done;
    }
    if (rec != NULL)
        err = mrec_entry_copy(rec, e, exp);
    else
        err = mrec_list_copy(list, (const char *const *)e->items, e->lens, e->nitems,
                             NULL, NULL, 0, exp);
    if (err == SD_OK)
        e->expires_ms = exp;
done:
    memtable_unlock(sh);
    return err;
}

static sd_err mem_get(sd_store *s, const char *ns, const char *id,
                      int64_t renew_ttl_ms, int64_t slack_ms, sd_record *out)
{
    return mem_read(s, ns, id, renew_ttl_ms, slack_ms, out, NULL);
}

static sd_err mem_list_get(sd_store *s, const char *ns, const char *id,
                           int64_t renew_ttl_ms, sd_list *out)
{
    return mem_read(s, ns, id, renew_ttl_ms, 0, NULL, out);
}

/* ---- hash records ---- */

static bool cond_holds(const mt_entry *e, const sd_update *u)
{
    size_t len = 0;
    const char *value = mrec_entry_get(e, u->cond_field, &len);
    if (value == NULL)
        return false;
    for (size_t c = 0; c < u->cond_count; c++)
        if (strlen(u->cond_values[c]) == len && memcmp(u->cond_values[c], value, len) == 0)
            return true;
    return false;
}

/* An update; capped: a record that would grow the byte count past the
 * cap is refused with SD_ERR_STORE_FULL (membudget.h). */
static sd_err record_update(sd_store *s, const char *ns, const char *id,
                            const sd_update *u, bool capped, sd_record *out)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(s, ns, id, &k, &sh, &now);
    sd_err err;
    if (e != NULL && u->mode == SD_UPDATE_CREATE) {
        err = SD_ERR_EXISTS;
    } else if (e != NULL && e->kind != MT_HASH) {
        err = SD_ERR_CONFLICT;
    } else if (e == NULL && u->mode == SD_UPDATE_EXISTING) {
        err = SD_ERR_NOT_FOUND;
    } else if (e != NULL && u->cond_field != NULL && !cond_holds(e, u)) {
        err = SD_ERR_CONFLICT;
        if (out != NULL && mrec_entry_copy(out, e, e->expires_ms) != SD_OK)
            err = SD_ERR_NOMEM;
    } else {
        mrec_stage st;
        err = mrec_stage_init(&st, e, u->assign_count);
        if (err != SD_OK)
            goto done;
        for (size_t i = 0; err == SD_OK && i < u->assign_count; i++)
            err = mrec_stage_apply(&st, &u->assign[i]);
        if (err != SD_OK) {
            mrec_stage_free(&st);
            goto done;
        }
        int64_t exp = e != NULL ? e->expires_ms : 0;
        if (u->ttl_ms > 0)
            exp = mrec_capped_expiry(st.f, st.n, now, u->ttl_ms);
        bool gone = st.n == 0 || (u->ttl_ms > 0 && exp <= now);
        mt_value *counted = NULL;
        if (out != NULL)
            err = mrec_record_copy(out, st.f, st.n, exp);
        if (err == SD_OK && !gone)
            err = memtable_value_take(table_of(s), &k, st.f, st.n, &counted);
        /* The record's new block replaces e (or is a new record). */
        if (err == SD_OK && !gone)
            err = mrec_stage_commit(&st, table_of(s), sh, &k, capped, &e);
        mrec_stage_free(&st);
        if (err != SD_OK) {
            memtable_value_release(counted);
            sd_record_clear(out);
            goto done;
        }
        if (gone) {
            if (e != NULL)
                memtable_remove(sh, e);
            goto done;
        }
        e->expires_ms = exp;
        memtable_entry_count(e, counted);
    }
done:
    memtable_unlock(sh);
    return err;
}

/* Every update a client asks for adds to what the store holds, so it
 * meets the cap. */
static sd_err mem_update(sd_store *s, const char *ns, const char *id,
                         const sd_update *u, sd_record *out)
{
    return record_update(s, ns, id, u, true, out);
}

sd_err mem_record_update(sd_store *s, const char *ns, const char *id,
                         const sd_update *u, bool capped, sd_record *out)
{
    return record_update(s, ns, id, u, capped, out);
}

sd_err mem_record_get(sd_store *s, const char *ns, const char *id, sd_record *out)
{
    return mem_get(s, ns, id, 0, 0, out);
}

static sd_err mem_del(sd_store *s, const char *ns, const char *id)
{
    mt_key k;
    mt_key_init(&k, MT_TAG_USER, ns, id);
    mt_shard *sh = memtable_lock(table_of(s), &k);
    mt_entry *e = memtable_find(sh, &k, sd_now_ms());
    if (e != NULL)
        memtable_remove(sh, e);
    memtable_unlock(sh);
    return e != NULL ? SD_OK : SD_ERR_NOT_FOUND;
}

/* ---- list records ---- */

/* RPUSH, LTRIM to the newest max_len and PEXPIRE in one step. Every copy
 * and allocation happens before the list changes, so a failure leaves it
 * as it was. */
static sd_err mem_list_append(sd_store *s, const char *ns, const char *id,
                              const char *const *items, const size_t *lens,
                              size_t n, size_t max_len, int64_t ttl_ms,
                              sd_list *out)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(s, ns, id, &k, &sh, &now);
    char **fresh = NULL;
    size_t old = e != NULL ? e->nitems : 0, take_new = 0;
    sd_err err = SD_OK;
    if (e != NULL && e->kind != MT_LIST) {
        err = SD_ERR_CONFLICT;
        goto done;
    }
    if (n > SIZE_MAX - old) {
        err = SD_ERR_INVALID;
        goto done;
    }
    size_t keep = old + n;
    if (max_len > 0 && keep > max_len)
        keep = max_len;
    size_t skip_new = n > keep ? n - keep : 0;
    take_new = n - skip_new;
    size_t drop_old = old - (keep - take_new);
    int64_t exp = ttl_ms > 0 ? mrec_expiry_after(now, ttl_ms) : (e != NULL ? e->expires_ms : 0);

    /* The cap: the new items, a new record's head and the arrays'
     * growth against the items the trim drops. */
    int64_t grows = e == NULL ? (int64_t)memtable_list_new_cost(sh, &k) : 0;
    grows += mrec_list_reserve_cost(e != NULL ? e->cap : 0, keep > old ? keep : old);
    for (size_t i = 0; i < take_new; i++)
        grows += (int64_t)mb_cost(lens[skip_new + i] + 1);
    for (size_t i = 0; i < drop_old; i++)
        grows -= (int64_t)mb_cost(e->lens[i] + 1);
    if (!mb_room(memtable_budget(table_of(s)), grows)) {
        err = SD_ERR_STORE_FULL;
        goto done;
    }
    fresh = calloc(take_new, sizeof *fresh);
    if (fresh == NULL) {
        err = SD_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < take_new && err == SD_OK; i++) {
        fresh[i] = mrec_dup(items[skip_new + i], lens[skip_new + i]);
        if (fresh[i] == NULL)
            err = SD_ERR_NOMEM;
    }
    if (err == SD_OK && out != NULL)
        err = mrec_list_copy(out, e != NULL ? (const char *const *)e->items + drop_old : NULL,
                        e != NULL ? e->lens + drop_old : NULL, old - drop_old,
                        (const char *const *)fresh, lens + skip_new, take_new, exp);
    bool created = false;
    if (err == SD_OK && e == NULL) {
        err = memtable_insert(table_of(s), sh, &k, MT_LIST, &e);
        created = err == SD_OK;
    }
    size_t cost_before = err == SD_OK ? memtable_entry_cost(e) : 0;
    if (err == SD_OK)
        err = mrec_list_reserve(e, keep > old ? keep : old);
    if (err != SD_OK) {
        if (created)
            memtable_remove(sh, e);
        sd_list_clear(out);
        goto done;
    }
    for (size_t i = 0; i < drop_old; i++)
        free(e->items[i]);
    memmove(e->items, e->items + drop_old, (old - drop_old) * sizeof *e->items);
    memmove(e->lens, e->lens + drop_old, (old - drop_old) * sizeof *e->lens);
    memcpy(e->items + old - drop_old, fresh, take_new * sizeof *fresh);
    memcpy(e->lens + old - drop_old, lens + skip_new, take_new * sizeof *lens);
    e->nitems = keep;
    e->expires_ms = exp;
    mb_add(memtable_budget(table_of(s)),
           (int64_t)memtable_entry_cost(e) - (int64_t)cost_before);
    free(fresh);
    fresh = NULL;
done:
    memtable_unlock(sh);
    mrec_items_free(fresh, take_new);
    return err;
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

/* Queues are emptied too, their items not counted (as on Redis). */
static sd_err mem_clear(sd_store *s, int64_t *deleted)
{
    mq_queues_clear(mem_queues_of(s));
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
    .clear = mem_clear,
    .rate_check = mem_rate_check,
    .queue_push = mq_push,
    .queue_take = mq_take,
    .queue_renew = mq_renew,
    .queue_ack = mq_ack,
    .queue_release = mq_release,
    .queue_remove = mq_remove,
    .queue_reap = mq_reap,
    .queue_stats = mq_stats,
    .ping = mem_ping,
    .info = mem_info,
    .free = mem_free,
};

sd_store *sd_memory_store_new(const sd_memory_opts *opts)
{
    mem_store *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->table = memtable_new(opts != NULL ? opts->shards : 0,
                            opts != NULL ? opts->sweep_interval_ms : 0,
                            opts != NULL ? opts->max_bytes : 0);
    m->queues = m->table != NULL ? mq_queues_new(memtable_budget(m->table)) : NULL;
    if (m->table == NULL || m->queues == NULL) {
        memtable_free(m->table);
        mq_queues_free(m->queues);
        free(m);
        return NULL;
    }
    m->base.ops = &mem_ops;
    return &m->base;
}
