/*
 * Helpers shared by every store implementation and its callers: the owned
 * record, list and page types of statusd/store.h; and, for the
 * implementations only, the checks, cursors and GCRA arithmetic of
 * store_common.h.
 */
#include "statusd/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "store_common.h"

/*
 * A record is one allocation: the field array, then every name and value
 * (each NUL-terminated) packed after it. Reading a record thus costs one
 * malloc, and sd_record_clear one free, whatever the number of fields:
 * that is what a poll pays per request. Every record is built this way
 * (sd_record_build and sd_record_add), sd_record_set included.
 */

void sd_record_clear(sd_record *r)
{
    if (r == NULL)
        return;
    free(r->fields);
    r->fields = NULL;
    r->count = 0;
    r->expires_ms = 0;
}

static sd_field *record_find(const sd_record *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->count; i++)
        if (r->fields[i].name[0] == name[0] && strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

const char *sd_record_get(const sd_record *r, const char *name, size_t *len_out)
{
    const sd_field *f = record_find(r, name);
    if (f == NULL)
        return NULL;
    if (len_out != NULL)
        *len_out = f->len;
    return f->value;
}

sd_err sd_record_get_i64(const sd_record *r, const char *name, int64_t *out)
{
    size_t len = 0;
    const char *v = sd_record_get(r, name, &len);
    if (v == NULL)
        return SD_ERR_NOT_FOUND;
    /* A value with an embedded NUL is not a number, whatever its prefix. */
    if (strlen(v) != len)
        return SD_ERR_INVALID;
    return sd_parse_i64(v, INT64_MIN, INT64_MAX, out);
}

bool sd_record_bytes_add(size_t *bytes, size_t name_len, size_t value_len)
{
    if (name_len > SIZE_MAX - 2 || value_len > SIZE_MAX - 2 - name_len ||
        *bytes > SIZE_MAX - 2 - name_len - value_len)
        return false;
    *bytes += name_len + value_len + 2;
    return true;
}

char *sd_record_build(sd_record *out, size_t n, size_t bytes)
{
    if (n > (SIZE_MAX - bytes) / sizeof *out->fields)
        return NULL;
    out->fields = malloc(n * sizeof *out->fields + bytes);
    if (out->fields == NULL)
        return NULL;
    out->count = 0;
    return (char *)(out->fields + n);
}

char *sd_record_add(sd_record *r, char *area, const char *name, size_t name_len,
                    const char *value, size_t len)
{
    sd_field *f = &r->fields[r->count++];
    f->name = area;
    memcpy(area, name, name_len);
    area[name_len] = '\0';
    area += name_len + 1;
    f->value = area;
    f->len = len;
    if (len > 0)
        memcpy(area, value, len);
    area[len] = '\0';
    return area + len + 1;
}

/* Rebuilds the record with the field added or its value replaced: a set
 * is rare (store implementations build records whole), so copying the
 * rest once is the price of the one-allocation layout. */
sd_err sd_record_set(sd_record *r, const char *name, const char *value, size_t len)
{
    if (r == NULL || name == NULL || (value == NULL && len > 0))
        return SD_ERR_INVALID;
    const sd_field *hit = record_find(r, name);
    size_t bytes = 0, n = r->count + (hit == NULL ? 1 : 0);
    for (size_t i = 0; i < r->count; i++) {
        const sd_field *f = &r->fields[i];
        if (!sd_record_bytes_add(&bytes, strlen(f->name), f == hit ? len : f->len))
            return SD_ERR_NOMEM;
    }
    if (hit == NULL && !sd_record_bytes_add(&bytes, strlen(name), len))
        return SD_ERR_NOMEM;
    sd_record next = {NULL, 0, r->expires_ms};
    char *area = sd_record_build(&next, n, bytes);
    if (area == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < r->count; i++) {
        const sd_field *f = &r->fields[i];
        area = f == hit ? sd_record_add(&next, area, f->name, strlen(f->name), value, len)
                        : sd_record_add(&next, area, f->name, strlen(f->name), f->value,
                                        f->len);
    }
    if (hit == NULL)
        sd_record_add(&next, area, name, strlen(name), value, len);
    free(r->fields);
    *r = next;
    return SD_OK;
}

void sd_list_clear(sd_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    free(l->lens);
    l->items = NULL;
    l->lens = NULL;
    l->count = 0;
    l->expires_ms = 0;
}

void sd_page_clear(sd_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->next_cursor);
    free(p->keys);
    p->keys = NULL;
    p->ids = NULL;
    p->count = 0;
    p->next_cursor = NULL;
}

/* ---- the arguments of each operation ----
 *
 * A start_* is false when the arguments are refused (the operation
 * returns SD_ERR_INVALID having touched nothing); true when they are good,
 * and the caller's *out (when the operation takes one) has been emptied.
 * Both stores thus refuse the same calls, before any lock or round trip,
 * and answer from the same starting state.
 *
 * get and list_get need an out and renew_ttl_ms >= 0. An update needs a
 * known mode, ttl_ms >= 0, arrays present where counts say so, no NULL
 * condition value, and every assignment named, with a known op and, for
 * SET and SETNX, a value unless it is empty. list_append needs n >= 1
 * items, an item NULL only when empty, no length SIZE_MAX, ttl_ms >= 0.
 * index needs a namespace and a field name; count_by an out, a namespace
 * and a value (which may be empty). The queue operations need a queue
 * name, item and owner shorter than SD_QUEUE_ITEM_MAX / SD_QUEUE_OWNER_MAX
 * bytes (the queue name as an item), times >= 0 (a lease > 0), and a
 * record change, when given, with a namespace and an update
 * start_update takes.
 */

bool sd_renew_skippable(int64_t stored, int64_t wanted, bool capped, int64_t slack_ms)
{
    if (stored == 0 || wanted < stored)
        return false;
    return wanted == stored || (!capped && wanted - stored <= slack_ms);
}

bool sd_store_name_ok(const char *s) { return s != NULL && s[0] != '\0'; }

static bool sd_store_start_update(const char *ns, const char *id, const sd_update *u,
                           sd_record *out)
{
    if (!sd_store_name_ok(ns) || !sd_store_name_ok(id) || u == NULL || u->ttl_ms < 0 ||
        u->slack_ms < 0 || (u->assign_count > 0 && u->assign == NULL) ||
        (u->cond_count > 0 && u->cond_values == NULL) ||
        (u->mode != SD_UPDATE_EXISTING && u->mode != SD_UPDATE_CREATE &&
         u->mode != SD_UPDATE_UPSERT))
        return false;
    for (size_t i = 0; u->cond_field != NULL && i < u->cond_count; i++)
        if (u->cond_values[i] == NULL)
            return false;
    for (size_t i = 0; i < u->assign_count; i++) {
        const sd_assign *a = &u->assign[i];
        if (a->name == NULL || (unsigned)a->op > SD_ASSIGN_DEL)
            return false;
        if ((a->op == SD_ASSIGN_SET || a->op == SD_ASSIGN_SETNX) &&
            a->value == NULL && a->len > 0)
            return false;
    }
    sd_record_clear(out);
    return true;
}

static bool sd_store_start_list_append(const char *ns, const char *id,
                                const char *const *items, const size_t *lens,
                                size_t n, int64_t ttl_ms, sd_list *out)
{
    if (!sd_store_name_ok(ns) || !sd_store_name_ok(id) || n == 0 || items == NULL ||
        lens == NULL || ttl_ms < 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((items[i] == NULL && lens[i] > 0) || lens[i] == SIZE_MAX)
            return false;
    sd_list_clear(out);
    return true;
}

/* The arguments of get and list_get but out. */
static bool read_valid(const char *ns, const char *id, int64_t renew_ttl_ms)
{
    return sd_store_name_ok(ns) && sd_store_name_ok(id) && renew_ttl_ms >= 0;
}

static bool sd_store_start_get(const char *ns, const char *id, int64_t renew_ttl_ms, sd_record *out)
{
    if (out == NULL || !read_valid(ns, id, renew_ttl_ms))
        return false;
    sd_record_clear(out);
    return true;
}

static bool sd_store_start_list_get(const char *ns, const char *id, int64_t renew_ttl_ms, sd_list *out)
{
    if (out == NULL || !read_valid(ns, id, renew_ttl_ms))
        return false;
    sd_list_clear(out);
    return true;
}

static bool sd_store_start_index(const char *ns, const char *field)
{
    return sd_store_name_ok(ns) && sd_store_name_ok(field);
}

static bool sd_store_start_count_by(const char *ns, const char *value, int64_t *out)
{
    if (out == NULL || !sd_store_name_ok(ns) || value == NULL)
        return false;
    *out = 0;
    return true;
}

/* ---- queues ---- */

void sd_queue_items_clear(sd_queue_item *items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++) {
        sd_record_clear(&items[i].rec);
        items[i].item[0] = '\0';
        items[i].owner[0] = '\0';
    }
}

static bool short_name(const char *s, size_t cap)
{
    return sd_store_name_ok(s) && strnlen(s, cap) < cap;
}

static bool sd_store_queue_item_ok(const char *item) { return short_name(item, SD_QUEUE_ITEM_MAX); }

static bool sd_store_queue_owner_ok(const char *owner)
{
    return short_name(owner, SD_QUEUE_OWNER_MAX);
}

/* The change is checked as an update of a stand-in id: the item it will
 * name is checked on its own. */
static bool sd_store_start_queue_rec(const sd_queue_rec *rec)
{
    return rec == NULL || sd_store_start_update(rec->ns, "-", rec->u, rec->out);
}

static bool sd_store_start_queue_take(const char *queue, const sd_queue_take *t,
                               const sd_queue_rec *rec, sd_queue_item *items,
                               size_t *n)
{
    if (n == NULL || items == NULL || t == NULL || !sd_store_queue_item_ok(queue) ||
        !sd_store_queue_owner_ok(t->owner) || t->lease_ms <= 0 || t->ahead_ms < 0 ||
        t->max == 0 || (rec != NULL && !sd_store_start_update(rec->ns, "-", rec->u, NULL)))
        return false;
    for (size_t i = 0; i < t->max; i++)
        items[i] = (sd_queue_item){.rec = SD_RECORD_INIT};
    *n = 0;
    return true;
}

static bool sd_store_start_queue_reap(const char *queue, const char *owner, int64_t lease_ms,
                               size_t max, sd_queue_item *items, size_t *n)
{
    if (n == NULL || items == NULL || !sd_store_queue_item_ok(queue) ||
        !sd_store_queue_owner_ok(owner) || lease_ms <= 0 || max == 0)
        return false;
    for (size_t i = 0; i < max; i++)
        items[i] = (sd_queue_item){.rec = SD_RECORD_INIT};
    *n = 0;
    return true;
}

/* ---- listing ---- */

char *sd_store_key_cursor(int64_t key)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, key);
    return strdup(text);
}

char *sd_store_cursor_encode(const char *id)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(id);
    char *c = n < SIZE_MAX / 2 ? malloc(2 * n + 1) : NULL;
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)id[i];
        c[2 * i] = hex[b >> 4];
        c[2 * i + 1] = hex[b & 15];
    }
    c[2 * n] = '\0';
    return c;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The id a cursor stands for into *id (caller frees), NULL for the first
 * page. SD_ERR_INVALID unless it is lower-case hex of a non-empty
 * NUL-free id; SD_ERR_NOMEM. */
static sd_err cursor_decode(const char *cursor, char **id)
{
    *id = NULL;
    if (cursor == NULL || cursor[0] == '\0')
        return SD_OK;
    size_t n = strlen(cursor);
    if (n % 2 != 0)
        return SD_ERR_INVALID;
    char *p = malloc(n / 2 + 1);
    if (p == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(cursor[2 * i]), lo = hex_value(cursor[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(p);
            return SD_ERR_INVALID;
        }
        p[i] = (char)(hi * 16 + lo);
    }
    p[n / 2] = '\0';
    *id = p;
    return SD_OK;
}

static sd_err sd_store_start_scan(const char *ns, const char *cursor, size_t *limit,
                                  sd_page *out, char **after)
{
    *after = NULL;
    if (out == NULL || !sd_store_name_ok(ns) || *limit == 0)
        return SD_ERR_INVALID;
    sd_page_clear(out);
    if (*limit > SD_STORE_SCAN_MAX)
        *limit = SD_STORE_SCAN_MAX;
    return cursor_decode(cursor, after);
}

/* ---- rate limits ---- */

int64_t sd_store_ns_to_ms_up(int64_t ns) { return (ns + SD_NS_PER_MS - 1) / SD_NS_PER_MS; }

sd_gcra sd_gcra_of(int64_t limit, int64_t period_ms)
{
    sd_gcra g = {.limit = limit, .interval_ns = period_ms * SD_NS_PER_MS / limit};
    g.burst_ns = g.interval_ns * limit;
    return g;
}

/* Refuses a call (false) unless out is given, key is a name,
 * 0 < period_ms <= SD_RATE_MAX_PERIOD_MS and 0 < limit <= period_ms * 10^6;
 * else sets *out to a refusal that says only the limit (what the caller
 * returns should the store fail). */
static bool sd_store_start_rate(const char *key, int64_t limit, int64_t period_ms,
                                sd_rate *out)
{
    if (out == NULL || !sd_store_name_ok(key) || limit <= 0 || period_ms <= 0 ||
        period_ms > SD_RATE_MAX_PERIOD_MS || limit > period_ms * SD_NS_PER_MS)
        return false;
    *out = (sd_rate){.limit = limit};
    return true;
}

bool sd_gcra_allows(const sd_gcra *g, int64_t ahead_ns)
{
    return ahead_ns + g->interval_ns <= g->burst_ns;
}

void sd_gcra_answer(const sd_gcra *g, bool allowed, int64_t ahead_ns, sd_rate *out)
{
    *out = (sd_rate){.allowed = allowed, .limit = g->limit};
    if (allowed) {
        out->remaining = (g->burst_ns - (ahead_ns + g->interval_ns)) / g->interval_ns;
        out->reset_ms = sd_store_ns_to_ms_up(ahead_ns + g->interval_ns);
    } else {
        out->reset_ms = sd_store_ns_to_ms_up(ahead_ns);
        out->retry_after_ms = sd_store_ns_to_ms_up(ahead_ns + g->interval_ns - g->burst_ns);
    }
}

/* ---- the calls through the vtable (statusd/store.h) ---- */

sd_err sd_store_on_change(sd_store *s, sd_store_change_fn fn, void *arg)
{
    s->on_change = fn;
    s->on_change_arg = arg;
    return s->ops->share_changes != NULL ? s->ops->share_changes(s, fn, arg) : SD_OK;
}

/* Tells the change hook that ns/id changed when err says it did. */
static sd_err changed(sd_store *s, sd_err err, const char *ns, const char *id)
{
    if (err == SD_OK && s->on_change != NULL)
        s->on_change(s->on_change_arg, ns, id);
    return err;
}

/* The same for a queue operation's record change, when it was applied. */
static sd_err rec_changed(sd_store *s, sd_err err, const sd_queue_rec *rec,
                          const char *item)
{
    if (rec != NULL && rec->err == SD_OK && (err == SD_OK || err == SD_ERR_NOT_FOUND))
        changed(s, SD_OK, rec->ns, item);
    return err;
}

sd_err sd_store_get(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                    sd_record *out)
{
    if (!sd_store_start_get(ns, id, renew_ttl_ms, out))
        return SD_ERR_INVALID;
    return s->ops->get(s, ns, id, renew_ttl_ms, 0, out);
}

sd_err sd_store_poll(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                     sd_record *out)
{
    if (!sd_store_start_get(ns, id, renew_ttl_ms, out))
        return SD_ERR_INVALID;
    return s->ops->get(s, ns, id, renew_ttl_ms, renew_ttl_ms / SD_POLL_SLACK_DIV, out);
}

bool sd_store_poll_start(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                         sd_poll *p)
{
    p->err = SD_OK;
    p->retry = false;
    p->read_done = false;
    sd_record_clear(&p->rec);
    if (s->ops->poll_start == NULL || !sd_store_start_get(ns, id, renew_ttl_ms, &p->rec))
        return false;
    return s->ops->poll_start(s, ns, id, renew_ttl_ms, renew_ttl_ms / SD_POLL_SLACK_DIV, p);
}

void sd_store_poll_stop(sd_store *s)
{
    if (s != NULL && s->ops->poll_stop != NULL)
        s->ops->poll_stop(s);
}

sd_err sd_store_update(sd_store *s, const char *ns, const char *id, const sd_update *u,
                       sd_record *out)
{
    if (!sd_store_start_update(ns, id, u, out))
        return SD_ERR_INVALID;
    return changed(s, s->ops->update(s, ns, id, u, out), ns, id);
}

sd_err sd_store_del(sd_store *s, const char *ns, const char *id)
{
    if (!sd_store_name_ok(ns) || !sd_store_name_ok(id))
        return SD_ERR_INVALID;
    return changed(s, s->ops->del(s, ns, id), ns, id);
}

sd_err sd_store_list_append(sd_store *s, const char *ns, const char *id,
                            const char *const *items, const size_t *lens, size_t n,
                            size_t max_len, int64_t ttl_ms, sd_list *out)
{
    if (!sd_store_start_list_append(ns, id, items, lens, n, ttl_ms, out))
        return SD_ERR_INVALID;
    return changed(s, s->ops->list_append(s, ns, id, items, lens, n, max_len, ttl_ms, out),
                   ns, id);
}

sd_err sd_store_list_get(sd_store *s, const char *ns, const char *id,
                         int64_t renew_ttl_ms, sd_list *out)
{
    if (!sd_store_start_list_get(ns, id, renew_ttl_ms, out))
        return SD_ERR_INVALID;
    return s->ops->list_get(s, ns, id, renew_ttl_ms, out);
}

sd_err sd_store_scan(sd_store *s, const char *ns, const char *cursor, size_t limit,
                     sd_page *out)
{
    char *after = NULL;
    sd_err err = sd_store_start_scan(ns, cursor, &limit, out, &after);
    if (err != SD_OK)
        return err;
    err = s->ops->scan(s, ns, after, limit, out);
    free(after);
    return err;
}

sd_err sd_store_count(sd_store *s, const char *ns, int64_t *out)
{
    if (out == NULL || !sd_store_name_ok(ns))
        return SD_ERR_INVALID;
    *out = 0;
    return s->ops->count(s, ns, out);
}

sd_err sd_store_index(sd_store *s, const char *ns, const char *field)
{
    if (!sd_store_start_index(ns, field))
        return SD_ERR_INVALID;
    return s->ops->index(s, ns, field);
}

sd_err sd_store_count_by(sd_store *s, const char *ns, const char *value, int64_t *out)
{
    if (!sd_store_start_count_by(ns, value, out))
        return SD_ERR_INVALID;
    return s->ops->count_by(s, ns, value, out);
}

sd_err sd_store_scan_by(sd_store *s, const char *ns, const char *value, int64_t before,
                        size_t limit, sd_page *out)
{
    if (out == NULL)
        return SD_ERR_INVALID;
    sd_page_clear(out);
    if (!sd_store_name_ok(ns) || value == NULL || before < 0 || limit == 0)
        return SD_ERR_INVALID;
    if (limit > SD_STORE_SCAN_MAX)
        limit = SD_STORE_SCAN_MAX;
    return s->ops->scan_by(s, ns, value, before, limit, out);
}

sd_err sd_store_clear(sd_store *s, int64_t *deleted)
{
    sd_err err = s->ops->clear(s, deleted);
    if (err == SD_OK && s->on_change != NULL)
        s->on_change(s->on_change_arg, NULL, NULL);
    return err;
}

sd_err sd_store_rate_check(sd_store *s, const char *key, int64_t limit, int64_t period_ms,
                           sd_rate *out)
{
    if (!sd_store_start_rate(key, limit, period_ms, out))
        return SD_ERR_INVALID;
    return s->ops->rate_check(s, key, limit, period_ms, out);
}

/* The start of renew, ack and release. */
static bool held_args_ok(const char *queue, const char *item, const char *owner,
                         const sd_queue_rec *rec)
{
    return sd_store_queue_item_ok(queue) && sd_store_queue_item_ok(item) &&
           sd_store_queue_owner_ok(owner) && sd_store_start_queue_rec(rec);
}

sd_err sd_queue_push(sd_store *s, const char *queue, const char *item, int64_t delay_ms,
                     int64_t capacity, sd_queue_rec *rec)
{
    if (!sd_store_queue_item_ok(queue) || !sd_store_queue_item_ok(item) || delay_ms < 0 ||
        capacity < 0 || !sd_store_start_queue_rec(rec))
        return SD_ERR_INVALID;
    return rec_changed(s, s->ops->queue_push(s, queue, item, delay_ms, capacity, rec), rec,
                       item);
}

sd_err sd_queue_take_items(sd_store *s, const char *queue, const sd_queue_take *t,
                           const sd_queue_rec *rec, sd_queue_item *items, size_t *n)
{
    if (!sd_store_start_queue_take(queue, t, rec, items, n))
        return SD_ERR_INVALID;
    sd_err err = s->ops->queue_take(s, queue, t, rec, items, n);
    /* Items resumed come back as they stand; telling of them too costs
     * a waiter one read. */
    for (size_t i = 0; err == SD_OK && rec != NULL && i < *n; i++)
        changed(s, SD_OK, rec->ns, items[i].item);
    return err;
}

sd_err sd_queue_renew(sd_store *s, const char *queue, const char *item, const char *owner,
                      int64_t lease_ms, sd_queue_rec *rec)
{
    if (!held_args_ok(queue, item, owner, rec) || lease_ms <= 0)
        return SD_ERR_INVALID;
    return rec_changed(s, s->ops->queue_renew(s, queue, item, owner, lease_ms, rec), rec,
                       item);
}

sd_err sd_queue_ack(sd_store *s, const char *queue, const char *item, const char *owner,
                    sd_queue_rec *rec)
{
    if (!held_args_ok(queue, item, owner, rec))
        return SD_ERR_INVALID;
    return rec_changed(s, s->ops->queue_ack(s, queue, item, owner, rec), rec, item);
}

sd_err sd_queue_ack_take(sd_store *s, const char *queue, const char *item, const char *owner,
                         sd_queue_rec *rec, const sd_queue_take *t,
                         const sd_queue_rec *take_rec, sd_queue_item *items, size_t *n)
{
    if (!held_args_ok(queue, item, owner, rec) || t == NULL || t->resume ||
        !sd_store_start_queue_take(queue, t, take_rec, items, n) ||
        (rec != NULL && take_rec != NULL && strcmp(rec->ns, take_rec->ns) != 0))
        return SD_ERR_INVALID;
    sd_err err = rec_changed(s, s->ops->queue_ack_take(s, queue, item, owner, rec, t, take_rec,
                                                       items, n),
                             rec, item);
    for (size_t i = 0; err == SD_OK && take_rec != NULL && i < *n; i++)
        changed(s, SD_OK, take_rec->ns, items[i].item);
    return err;
}

sd_err sd_queue_release(sd_store *s, const char *queue, const char *item,
                        const char *owner, int64_t delay_ms, sd_queue_rec *rec)
{
    if (!held_args_ok(queue, item, owner, rec) || delay_ms < 0)
        return SD_ERR_INVALID;
    return rec_changed(s, s->ops->queue_release(s, queue, item, owner, delay_ms, rec), rec,
                       item);
}

sd_err sd_queue_remove(sd_store *s, const char *queue, const char *item,
                       sd_queue_rec *rec)
{
    if (!sd_store_queue_item_ok(queue) || !sd_store_queue_item_ok(item) ||
        !sd_store_start_queue_rec(rec))
        return SD_ERR_INVALID;
    return rec_changed(s, s->ops->queue_remove(s, queue, item, rec), rec, item);
}

sd_err sd_queue_reap(sd_store *s, const char *queue, const char *owner, int64_t lease_ms,
                     size_t max, sd_queue_item *items, size_t *n)
{
    if (!sd_store_start_queue_reap(queue, owner, lease_ms, max, items, n))
        return SD_ERR_INVALID;
    return s->ops->queue_reap(s, queue, owner, lease_ms, max, items, n);
}

sd_err sd_queue_stats_get(sd_store *s, const char *queue, sd_queue_stats *out)
{
    if (out == NULL || !sd_store_queue_item_ok(queue))
        return SD_ERR_INVALID;
    *out = (sd_queue_stats){0, 0, 0};
    return s->ops->queue_stats(s, queue, out);
}
