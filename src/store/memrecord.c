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

/* The field parsed as a whole decimal int64; false when absent or not. */
bool mrec_i64(const sd_field *f, size_t n, const char *name, int64_t *out)
{
    size_t i = mrec_find(f, n, name);
    return i != SIZE_MAX && strlen(f[i].value) == f[i].len &&
           sd_parse_i64(f[i].value, INT64_MIN, INT64_MAX, out) == SD_OK;
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

/* Bits of own[i]: which of field i's strings the stage allocated (and so
 * frees on abort); the others are borrowed from the entry. The array has
 * room for every assignment to add a field, so adding never reallocates. */
#define OWN_NAME 1u
#define OWN_VALUE 2u

sd_err mrec_stage_init(mrec_stage *st, const sd_field *from, size_t n, size_t extra)
{
    size_t room = n + extra + 1;
    st->f = calloc(room, sizeof *st->f);
    st->own = calloc(room, 1);
    st->n = n;
    if (st->f == NULL || st->own == NULL) {
        free(st->f);
        free(st->own);
        return SD_ERR_NOMEM;
    }
    if (n > 0)
        memcpy(st->f, from, n * sizeof *from);
    return SD_OK;
}

static void stage_release(mrec_stage *st, size_t i)
{
    if (st->own[i] & OWN_NAME)
        free(st->f[i].name);
    if (st->own[i] & OWN_VALUE)
        free(st->f[i].value);
}

/* Drops the stage; the entry it borrowed from is untouched. */
void mrec_stage_abort(mrec_stage *st)
{
    for (size_t i = 0; i < st->n; i++)
        stage_release(st, i);
    free(st->f);
    free(st->own);
}

/* Makes the stage the entry's fields, freeing what no longer appears. */
void mrec_stage_commit(mrec_stage *st, mt_entry *e)
{
    for (size_t i = 0; i < e->nfields; i++) {
        bool name_kept = false, value_kept = false;
        for (size_t j = 0; j < st->n; j++) {
            name_kept |= st->f[j].name == e->fields[i].name;
            value_kept |= st->f[j].value == e->fields[i].value;
        }
        if (!name_kept)
            free(e->fields[i].name);
        if (!value_kept)
            free(e->fields[i].value);
    }
    free(e->fields);
    free(st->own);
    e->fields = st->f;
    e->nfields = st->n;
}

sd_err mrec_stage_set(mrec_stage *st, const char *name, const char *value, size_t len)
{
    char *copy = mrec_dup(value, len);
    if (copy == NULL)
        return SD_ERR_NOMEM;
    size_t i = mrec_find(st->f, st->n, name);
    if (i == SIZE_MAX) {
        char *name_copy = strdup(name);
        if (name_copy == NULL) {
            free(copy);
            return SD_ERR_NOMEM;
        }
        i = st->n++;
        st->f[i].name = name_copy;
        st->own[i] = OWN_NAME;
    } else if (st->own[i] & OWN_VALUE) {
        free(st->f[i].value);
    }
    st->f[i].value = copy;
    st->f[i].len = len;
    st->own[i] |= OWN_VALUE;
    return SD_OK;
}

sd_err mrec_stage_apply(mrec_stage *st, const sd_assign *a)
{
    size_t i = mrec_find(st->f, st->n, a->name);
    switch (a->op) {
    case SD_ASSIGN_SET:
        return mrec_stage_set(st, a->name, a->value, a->len);
    case SD_ASSIGN_SETNX:
        return i == SIZE_MAX ? mrec_stage_set(st, a->name, a->value, a->len) : SD_OK;
    case SD_ASSIGN_INCR: {
        int64_t cur = 0;
        if (i != SIZE_MAX && !mrec_i64(st->f, st->n, a->name, &cur))
            return SD_ERR_INVALID;
        if ((a->incr > 0 && cur > INT64_MAX - a->incr) ||
            (a->incr < 0 && cur < INT64_MIN - a->incr))
            return SD_ERR_INVALID;
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%" PRId64, cur + a->incr);
        return mrec_stage_set(st, a->name, buf, (size_t)len);
    }
    case SD_ASSIGN_DEL:
        if (i != SIZE_MAX) {
            stage_release(st, i);
            memmove(&st->f[i], &st->f[i + 1], (st->n - i - 1) * sizeof *st->f);
            memmove(&st->own[i], &st->own[i + 1], st->n - i - 1);
            st->n--;
        }
        return SD_OK;
    }
    return SD_ERR_INVALID;
}

/* Sets one field of the hash entry e in place. */
sd_err mrec_entry_set(mt_entry *e, const char *name, const char *value, size_t len)
{
    mrec_stage st;
    sd_err err = mrec_stage_init(&st, e->fields, e->nfields, 1);
    if (err != SD_OK)
        return err;
    err = mrec_stage_set(&st, name, value, len);
    if (err != SD_OK)
        mrec_stage_abort(&st);
    else
        mrec_stage_commit(&st, e);
    return err;
}

/* Grows the item arrays of e to hold at least need items. */
sd_err mrec_list_reserve(mt_entry *e, size_t need)
{
    if (e->cap >= need)
        return SD_OK;
    if (need > SIZE_MAX / 2 / sizeof(char *))
        return SD_ERR_NOMEM;
    size_t cap = e->cap > 0 ? e->cap : 8;
    while (cap < need)
        cap *= 2;
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
    if (h->after != NULL && strcmp(e->id, h->after) <= 0)
        return SD_OK;
    if (h->n == h->keep && strcmp(e->id, h->ids[0]) >= 0)
        return SD_OK;
    char *copy = strdup(e->id);
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
