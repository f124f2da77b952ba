/*
 * Record contents of the memory store (see memrecord.h): field lookups,
 * deep copies into caller-owned results, the stage that makes a
 * multi-field change all-or-nothing, and the pages of ids of a listing.
 */
#include "memrecord.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "store_common.h"

/* now + ttl_ms without overflow. */
int64_t mrec_expiry_after(int64_t now, int64_t ttl_ms)
{
    return ttl_ms > INT64_MAX - now ? INT64_MAX : now + ttl_ms;
}

/* A NUL-terminated copy of p[0..len); NULL on allocation failure. */
char *mrec_dup(const char *p, size_t len)
{
    char *c = len < SIZE_MAX ? malloc(len + 1) : NULL;
    if (c == NULL)
        return NULL;
    if (len > 0)
        memcpy(c, p, len);
    c[len] = '\0';
    return c;
}

size_t mrec_find(const sd_field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].name[0] == name[0] && strcmp(f[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* p[0..len) as sd_parse_i64 reads it, for bytes that need not end in a
 * NUL (a stage borrows the caller's values). Leading zeros change nothing
 * but the length, so they are dropped to fit the copy that
 * sd_parse_i64 gets; what is still too long for an int64 is no number. */
static bool parse_i64_n(const char *p, size_t len, int64_t *out)
{
    char buf[MREC_NUM_MAX];
    size_t sign = len > 0 && p[0] == '-' ? 1 : 0;
    size_t z = sign;
    while (z + 1 < len && p[z] == '0' && p[z + 1] >= '0' && p[z + 1] <= '9')
        z++;
    size_t rest = len - z;
    if (sign + rest >= sizeof buf || memchr(p + z, '\0', rest) != NULL)
        return false;
    if (sign)
        buf[0] = '-';
    memcpy(buf + sign, p + z, rest);
    buf[sign + rest] = '\0';
    return sd_parse_i64(buf, INT64_MIN, INT64_MAX, out) == SD_OK;
}

/* The field parsed as a whole decimal int64; false when absent or not. */
bool mrec_i64(const sd_field *f, size_t n, const char *name, int64_t *out)
{
    size_t i = mrec_find(f, n, name);
    return i != SIZE_MAX && parse_i64_n(f[i].value, f[i].len, out);
}

/* now + ttl_ms, capped by the record's deadline field when it holds one. */
int64_t mrec_capped_expiry(const sd_field *f, size_t n, int64_t now, int64_t ttl_ms)
{
    int64_t exp = mrec_expiry_after(now, ttl_ms);
    int64_t deadline;
    if (mrec_i64(f, n, SD_FIELD_DEADLINE, &deadline) && deadline < exp)
        exp = deadline;
    return exp;
}

/* Deep copy of fields into the (empty) caller-owned *out, as one
 * allocation (store_common.h): it runs under the shard lock, so one
 * malloc rather than two per field keeps the lock short. */
sd_err mrec_record_copy(sd_record *out, const sd_field *f, size_t n, int64_t expires)
{
    out->expires_ms = expires;
    if (n == 0)
        return SD_OK;
    size_t bytes = 0;
    bool fits = true;
    for (size_t i = 0; fits && i < n; i++)
        fits = sd_record_bytes_add(&bytes, strlen(f[i].name), f[i].len);
    char *area = fits ? sd_record_build(out, n, bytes) : NULL;
    if (area == NULL) {
        sd_record_clear(out);
        return SD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        area = sd_record_add(out, area, f[i].name, strlen(f[i].name), f[i].value, f[i].len);
    return SD_OK;
}

const char *mrec_entry_get(const mt_entry *e, const char *name, size_t *len)
{
    mt_field_iter it = mt_fields_begin(e);
    sd_field f;
    while (mt_fields_next(&it, &f)) {
        if (f.name[0] == name[0] && strcmp(f.name, name) == 0) {
            if (len != NULL)
                *len = f.len;
            return f.value;
        }
    }
    return NULL;
}

bool mrec_entry_i64(const mt_entry *e, const char *name, int64_t *out)
{
    size_t len = 0;
    const char *v = mrec_entry_get(e, name, &len);
    return v != NULL && parse_i64_n(v, len, out);
}

int64_t mrec_entry_capped_expiry(const mt_entry *e, int64_t now, int64_t ttl_ms)
{
    int64_t exp = mrec_expiry_after(now, ttl_ms);
    int64_t deadline;
    if (mrec_entry_i64(e, SD_FIELD_DEADLINE, &deadline) && deadline < exp)
        exp = deadline;
    return exp;
}

/* As mrec_record_copy: one allocation, sized by the entry (its flat
 * bytes are what the record's names and values take), and one walk, as
 * it runs under the shard lock on every read. */
sd_err mrec_entry_copy(sd_record *out, const mt_entry *e, int64_t expires)
{
    out->expires_ms = expires;
    size_t n = e->kind == MT_HASH ? e->nfields : 0;
    if (n == 0)
        return SD_OK;
    char *area = sd_record_build(out, n, e->flat);
    if (area == NULL) {
        sd_record_clear(out);
        return SD_ERR_NOMEM;
    }
    mt_field_iter it = mt_fields_begin(e);
    sd_field f;
    while (mt_fields_next(&it, &f))
        area = sd_record_add(out, area, f.name, it.name_len, f.value, f.len);
    return SD_OK;
}

/* Deep copy of the list a[0..na) followed by b[0..nb) into the (empty)
 * caller-owned *out. */
sd_err mrec_list_copy(sd_list *out, const char *const *a, const size_t *alens,
                        size_t na, const char *const *b, const size_t *blens,
                        size_t nb, int64_t expires)
{
    out->expires_ms = expires;
    size_t n = na + nb;
    if (n == 0)
        return SD_OK;
    out->items = calloc(n, sizeof *out->items);
    out->lens = calloc(n, sizeof *out->lens);
    if (out->items == NULL || out->lens == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const char *src = i < na ? a[i] : b[i - na];
        size_t len = i < na ? alens[i] : blens[i - na];
        out->items[i] = mrec_dup(src, len);
        if (out->items[i] == NULL)
            goto nomem;
        out->lens[i] = len;
        out->count++;
    }
    return SD_OK;
nomem:
    sd_list_clear(out);
    return SD_ERR_NOMEM;
}

/* ---- the stage of a hash update ---- */

sd_err mrec_stage_init(mrec_stage *st, const mt_entry *e, size_t assigns)
{
    size_t n = e != NULL && e->kind == MT_HASH ? e->nfields : 0;
    st->n = n;
    st->nnums = 0;
    if (assigns > SIZE_MAX / sizeof *st->f - n)
        return SD_ERR_NOMEM;
    st->room = n + assigns;
    st->nums_room = assigns;
    st->f = st->room <= MREC_STAGE_FIELDS ? st->f_inline : malloc(st->room * sizeof *st->f);
    st->nums = assigns <= MREC_STAGE_NUMS ? st->nums_inline
                                          : calloc(assigns, sizeof *st->nums);
    if (st->f == NULL || st->nums == NULL) {
        mrec_stage_free(st);
        return SD_ERR_NOMEM;
    }
    if (e != NULL) {
        mt_field_iter it = mt_fields_begin(e);
        for (size_t i = 0; mt_fields_next(&it, &st->f[i]); i++)
            continue;
    }
    return SD_OK;
}

void mrec_stage_free(mrec_stage *st)
{
    if (st->f != st->f_inline)
        free(st->f);
    if (st->nums != st->nums_inline)
        free(st->nums);
    st->f = NULL;
    st->nums = NULL;
}

/* field name = value[0..len), both borrowed. SD_ERR_INTERNAL past the
 * room init gave (one new field per assignment). */
static sd_err stage_set(mrec_stage *st, const char *name, const char *value, size_t len)
{
    size_t i = mrec_find(st->f, st->n, name);
    if (i == SIZE_MAX) {
        if (st->n == st->room)
            return SD_ERR_INTERNAL;
        i = st->n++;
        st->f[i].name = (char *)name;
    }
    /* An empty SET may come without a value: every field has one. */
    st->f[i].value = value != NULL ? (char *)value : (char *)"";
    st->f[i].len = len;
    return SD_OK;
}

sd_err mrec_stage_apply(mrec_stage *st, const sd_assign *a)
{
    size_t i = mrec_find(st->f, st->n, a->name);
    switch (a->op) {
    case SD_ASSIGN_SET:
        return stage_set(st, a->name, a->value, a->len);
    case SD_ASSIGN_SETNX:
        return i == SIZE_MAX ? stage_set(st, a->name, a->value, a->len) : SD_OK;
    case SD_ASSIGN_INCR: {
        int64_t cur = 0;
        if (i != SIZE_MAX && !mrec_i64(st->f, st->n, a->name, &cur))
            return SD_ERR_INVALID;
        if ((a->incr > 0 && cur > INT64_MAX - a->incr) ||
            (a->incr < 0 && cur < INT64_MIN - a->incr))
            return SD_ERR_INVALID;
        if (st->nnums == st->nums_room)
            return SD_ERR_INTERNAL;
        char *num = st->nums[st->nnums++];
        int len = snprintf(num, MREC_NUM_MAX, "%" PRId64, cur + a->incr);
        return stage_set(st, a->name, num, (size_t)len);
    }
    case SD_ASSIGN_DEL:
        if (i != SIZE_MAX) {
            memmove(&st->f[i], &st->f[i + 1], (st->n - i - 1) * sizeof *st->f);
            st->n--;
        }
        return SD_OK;
    }
    return SD_ERR_INVALID;
}

sd_err mrec_stage_commit(const mrec_stage *st, memtable *t, mt_shard *s,
                         const mt_key *k, bool capped, mt_entry **e)
{
    return memtable_put_hash(t, s, k, st->f, st->n, capped, e);
}

sd_err mrec_hash_set(memtable *t, mt_shard *s, const mt_key *k, bool capped, mt_entry **e,
                     const char *name, const char *value, size_t len)
{
    mrec_stage st;
    sd_err err = mrec_stage_init(&st, *e, 1);
    if (err != SD_OK)
        return err;
    err = stage_set(&st, name, value, len);
    if (err == SD_OK)
        err = mrec_stage_commit(&st, t, s, k, capped, e);
    mrec_stage_free(&st);
    return err;
}

/* The room item arrays of room for cap items grow to for need items:
 * doubling from 8; 0 when need cannot be held. */
static size_t list_room(size_t cap, size_t need)
{
    if (cap >= need)
        return cap;
    if (need > SIZE_MAX / 2 / sizeof(char *))
        return 0;
    size_t room = cap > 0 ? cap : 8;
    while (room < need)
        room *= 2;
    return room;
}

int64_t mrec_list_reserve_cost(size_t cap, size_t need)
{
    size_t room = list_room(cap, need);
    if (room <= cap)
        return 0;
    return (int64_t)(mb_cost(room * sizeof(char *)) + mb_cost(room * sizeof(size_t))) -
           (int64_t)(mb_cost(cap * sizeof(char *)) + mb_cost(cap * sizeof(size_t)));
}

/* Grows the item arrays of e to hold at least need items. */
sd_err mrec_list_reserve(mt_entry *e, size_t need)
{
    if (e->cap >= need)
        return SD_OK;
    size_t cap = list_room(e->cap, need);
    if (cap == 0)
        return SD_ERR_NOMEM;
    char **items = realloc(e->items, cap * sizeof *items);
    if (items == NULL)
        return SD_ERR_NOMEM;
    e->items = items;
    size_t *lens = realloc(e->lens, cap * sizeof *lens);
    if (lens == NULL)
        return SD_ERR_NOMEM;
    e->lens = lens;
    e->cap = cap;
    return SD_OK;
}

void mrec_items_free(char **items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++)
        free(items[i]);
    free(items);
}

/* ---- pages of ids ---- */

/* The smallest `keep` ids after `after` seen so far: a max-heap (by byte
 * order) of owned copies, so a page costs O(N log keep) over N records. */
typedef struct page_heap {
    const char *after;
    size_t keep;
    char **ids;
    size_t n, cap;
} page_heap;

static void ids_swap(char **ids, size_t a, size_t b)
{
    char *tmp = ids[a];
    ids[a] = ids[b];
    ids[b] = tmp;
}

static void heap_down(char **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && strcmp(h[l], h[m]) > 0)
            m = l;
        if (r < n && strcmp(h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        ids_swap(h, i, m);
        i = m;
    }
}

static void heap_up(char **h, size_t i)
{
    while (i > 0 && strcmp(h[(i - 1) / 2], h[i]) < 0) {
        ids_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static sd_err page_visit(const mt_entry *e, void *arg)
{
    page_heap *h = arg;
    const char *id = mt_entry_id(e);
    if (h->after != NULL && strcmp(id, h->after) <= 0)
        return SD_OK;
    if (h->n == h->keep && strcmp(id, h->ids[0]) >= 0)
        return SD_OK;
    char *copy = mrec_dup(id, e->id_len);
    if (copy == NULL)
        return SD_ERR_NOMEM;
    if (h->n == h->keep) {
        free(h->ids[0]);
        h->ids[0] = copy;
        heap_down(h->ids, h->n, 0);
        return SD_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap > 0 ? h->cap * 2 : 16;
        if (cap > h->keep)
            cap = h->keep;
        char **ids = realloc(h->ids, cap * sizeof *ids);
        if (ids == NULL) {
            free(copy);
            return SD_ERR_NOMEM;
        }
        h->ids = ids;
        h->cap = cap;
    }
    h->ids[h->n] = copy;
    heap_up(h->ids, h->n++);
    return SD_OK;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sd_err mrec_page(memtable *t, const char *ns, const char *after,
                 size_t max, int64_t now, char ***ids, size_t *n, bool *more)
{
    *ids = NULL;
    *n = 0;
    *more = false;
    if (max == 0 || max == SIZE_MAX)
        return SD_ERR_INVALID;
    page_heap h = {after, max + 1, NULL, 0, 0};
    sd_err err = memtable_each(t, ns, now, page_visit, &h);
    if (err != SD_OK) {
        mrec_items_free(h.ids, h.n);
        return err;
    }
    if (h.n > 0)
        qsort(h.ids, h.n, sizeof *h.ids, id_cmp);
    if (h.n > max) {
        free(h.ids[--h.n]);
        *more = true;
    }
    *ids = h.ids;
    *n = h.n;
    return SD_OK;
}
