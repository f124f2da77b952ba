/*
 * The records of the memory store: reading, updating, deleting and
 * appending to the hash and list records of a memtable (memdata.h).
 *
 * Every operation locks the one shard of its key, so each change is
 * atomic. A hash update is first built in a stage (memrecord.h) that
 * borrows the record's unchanged fields and the assignments' values, and
 * only then becomes the record's new block, one allocation (memtable.h):
 * a failing assignment (INCR of a non-number) or an allocation failure
 * drops the stage and the record is exactly as it was.
 *
 * Value counts (index, count_by) are memtable's value counters: an update
 * takes a count of the counter its new fields name before anything
 * changes and hands it to the entry under the same shard lock; whatever
 * removes an entry gives its count back.
 */
#include "memdata.h"

#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "membudget.h"
#include "memrecord.h"
#include "store_common.h"

/* Locks the shard of the record (ns, id) into *sh (the caller unlocks)
 * and returns its live entry, NULL when there is none. *k gets the key
 * (for an insert) and *now the time expiry is judged by. */
static mt_entry *lock_record(memtable *t, const char *ns, const char *id, mt_key *k,
                             mt_shard **sh, int64_t *now)
{
    mt_key_init(k, MT_TAG_USER, ns, id);
    *now = sd_now_ms();
    *sh = memtable_lock(t, k);
    return memtable_find(*sh, k, *now);
}

sd_err md_read(memtable *t, const char *ns, const char *id, int64_t renew_ttl_ms,
               int64_t slack_ms, sd_record *rec, sd_list *list)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(t, ns, id, &k, &sh, &now);
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

sd_err md_update(memtable *t, const char *ns, const char *id, const sd_update *u,
                 bool capped, sd_record *out)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(t, ns, id, &k, &sh, &now);
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
        if (u->ttl_ms > 0) {
            int64_t want = mrec_capped_expiry(st.f, st.n, now, u->ttl_ms);
            bool by_deadline = want != mrec_expiry_after(now, u->ttl_ms);
            if (e == NULL || !sd_renew_skippable(exp, want, by_deadline, u->slack_ms))
                exp = want;
        }
        bool gone = st.n == 0 || (u->ttl_ms > 0 && exp <= now);
        mt_value *counted = NULL;
        if (out != NULL)
            err = mrec_record_copy(out, st.f, st.n, exp);
        if (err == SD_OK && !gone)
            err = memtable_value_take(t, &k, st.f, st.n, &counted);
        /* The record's new block replaces e (or is a new record). */
        if (err == SD_OK && !gone)
            err = mrec_stage_commit(&st, t, sh, &k, capped, &e);
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

sd_err md_list_append(memtable *t, const char *ns, const char *id,
                      const char *const *items, const size_t *lens, size_t n,
                      size_t max_len, int64_t ttl_ms, sd_list *out)
{
    mt_key k;
    mt_shard *sh;
    int64_t now;
    mt_entry *e = lock_record(t, ns, id, &k, &sh, &now);
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
    if (!mb_room(memtable_budget(t), grows)) {
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
        err = memtable_insert(t, sh, &k, MT_LIST, &e);
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
    mb_add(memtable_budget(t),
           (int64_t)memtable_entry_cost(e) - (int64_t)cost_before);
    free(fresh);
    fresh = NULL;
done:
    memtable_unlock(sh);
    mrec_items_free(fresh, take_new);
    return err;
}

sd_err md_del(memtable *t, const char *ns, const char *id)
{
    mt_key k;
    mt_key_init(&k, MT_TAG_USER, ns, id);
    mt_shard *sh = memtable_lock(t, &k);
    mt_entry *e = memtable_find(sh, &k, sd_now_ms());
    if (e != NULL)
        memtable_remove(sh, e);
    memtable_unlock(sh);
    return e != NULL ? SD_OK : SD_ERR_NOT_FOUND;
}
