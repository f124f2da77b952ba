/*
 * Arguments, key names and reply decoding of the Redis store (see
 * redis_cmd.h).
 */
#include "redis_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_scripts.h"
#include "store_common.h"

/* ---- command arguments ---- */

static bool args_grow(rd_args *a)
{
    if (a->failed)
        return false;
    if (a->n < a->cap)
        return true;
    size_t cap = a->cap * 2;
    const char **v = malloc(cap * sizeof *v);
    size_t *len = malloc(cap * sizeof *len);
    bool *own = malloc(cap * sizeof *own);
    if (v == NULL || len == NULL || own == NULL) {
        free(v);
        free(len);
        free(own);
        a->failed = true;
        return false;
    }
    memcpy(v, a->v, a->n * sizeof *v);
    memcpy(len, a->len, a->n * sizeof *len);
    memcpy(own, a->own, a->n * sizeof *own);
    if (a->v != a->v_inline) {
        free(a->v);
        free(a->len);
        free(a->own);
    }
    a->v = v;
    a->len = len;
    a->own = own;
    a->cap = cap;
    return true;
}

void rd_args_add(rd_args *a, const char *p, size_t len, bool own)
{
    if (!args_grow(a)) {
        if (own)
            free((char *)p);
        return;
    }
    a->v[a->n] = p;
    a->len[a->n] = len;
    a->own[a->n] = own;
    a->n++;
}

void rd_args_str(rd_args *a, const char *s) { rd_args_add(a, s, strlen(s), false); }

/* Appends s and takes it; a NULL s (a failed allocation) fails the list. */
void rd_args_take(rd_args *a, char *s)
{
    if (s == NULL)
        a->failed = true;
    else
        rd_args_add(a, s, strlen(s), true);
}

/* Room for a string of len bytes and its NUL that the list makes itself:
 * in the arena while it lasts, else on the heap with *own set. NULL (the
 * list failed) on NOMEM. */
static char *args_room(rd_args *a, size_t len, bool *own)
{
    *own = false;
    if (a->failed)
        return NULL;
    if (len < RD_ARGS_ARENA - a->arena_used) {
        char *p = a->arena + a->arena_used;
        a->arena_used += len + 1;
        return p;
    }
    char *p = len < SIZE_MAX ? malloc(len + 1) : NULL;
    if (p == NULL)
        a->failed = true;
    *own = p != NULL;
    return p;
}

void rd_args_i64(rd_args *a, int64_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[--i] = '-';
    size_t n = sizeof digits - i;
    bool own;
    char *p = args_room(a, n, &own);
    if (p == NULL)
        return;
    memcpy(p, digits + i, n);
    p[n] = '\0';
    rd_args_add(a, p, n, own);
}

/* Starts *a as an empty list on its own vectors. */
static void args_start(rd_args *a)
{
    a->v = a->v_inline;
    a->len = a->len_inline;
    a->own = a->own_inline;
    a->n = 0;
    a->cap = RD_ARGS_INLINE;
    a->failed = false;
    a->arena_used = 0;
}

/* A list for a script with nkeys keys: EVALSHA and the digest come first
 * (rd_script fills them), then the key count. */
void rd_args_script(rd_args *a, const char *nkeys)
{
    args_start(a);
    rd_args_str(a, "");
    rd_args_str(a, "");
    rd_args_str(a, nkeys);
}

void rd_args_free(rd_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->own[i])
            free((char *)a->v[i]);
    if (a->v != a->v_inline) {
        free(a->v);
        free(a->len);
        free(a->own);
    }
    args_start(a);
}

/* ---- keys ---- */

/* The namespace with ':' and '%' percent-encoded, so that "<ns>:<id>"
 * names one record whatever bytes either holds: written at dst when
 * dst is not NULL; returns the encoded length either way. */
static size_t put_ns(char *dst, const char *ns)
{
    size_t n = 0;
    for (const char *p = ns; *p != '\0'; p++) {
        const char *enc = *p == ':' ? "%3A" : *p == '%' ? "%25" : NULL;
        if (enc != NULL) {
            if (dst != NULL)
                memcpy(dst + n, enc, 3);
            n += 3;
        } else {
            if (dst != NULL)
                dst[n] = *p;
            n++;
        }
    }
    return n;
}

/*
 * Appends the key prefix + lead + ns (encoded) + sep + tail + end, made
 * in the list. Every key statusd derives from a namespace has this shape:
 *   record            <prefix>{<ns>:<id>}   lead "{", sep ":", tail id, end "}"
 *   record key prefix <prefix>{<ns>:        lead "{", sep ":"
 *   namespace index   <prefix>exp:<ns>      lead "exp:" (lex:, ixr:)
 *   value set prefix  <prefix>ix:<ns>:      lead "ix:", sep ":"
 * The hash tag puts a record's key in one slot.
 */
static void args_key(rd_args *a, const char *prefix, const char *lead, const char *ns,
                     const char *sep, const char *tail, const char *end)
{
    const char *before[] = {prefix, lead};
    const char *after[] = {sep, tail, end};
    size_t lb[2], la[3], total = put_ns(NULL, ns);
    for (size_t i = 0; i < 2; i++)
        total += lb[i] = strlen(before[i]);
    for (size_t i = 0; i < 3; i++)
        total += la[i] = strlen(after[i]);
    bool own;
    char *key = args_room(a, total, &own);
    if (key == NULL)
        return;
    char *p = key;
    for (size_t i = 0; i < 2; i++) {
        memcpy(p, before[i], lb[i]);
        p += lb[i];
    }
    p += put_ns(p, ns);
    for (size_t i = 0; i < 3; i++) {
        memcpy(p, after[i], la[i]);
        p += la[i];
    }
    *p = '\0';
    rd_args_add(a, key, total, own);
}

/* The value index arguments: field, <prefix>ixr:<ns>, <prefix>ix:<ns>:
 * (the scripts append the encoded value), or three "" for no index. */
static void args_value_index(rd_args *a, const char *prefix, const char *ns,
                             const char *field)
{
    if (field == NULL) {
        for (int i = 0; i < 3; i++)
            rd_args_str(a, "");
        return;
    }
    rd_args_str(a, field);
    args_key(a, prefix, "ixr:", ns, "", "", "");
    args_key(a, prefix, "ix:", ns, ":", "", "");
}

void rd_args_key_own(rd_args *a, const char *prefix, const char *kind, const char *name,
                     bool braced)
{
    size_t lp = strlen(prefix), lk = strlen(kind), ln = strlen(name);
    size_t total = lp + lk + ln + (braced ? 2 : 0);
    bool own;
    char *key = args_room(a, total, &own);
    if (key == NULL)
        return;
    char *p = key;
    memcpy(p, prefix, lp);
    p += lp;
    memcpy(p, kind, lk);
    p += lk;
    if (braced)
        *p++ = '{';
    memcpy(p, name, ln);
    p += ln;
    if (braced)
        *p++ = '}';
    *p = '\0';
    rd_args_add(a, key, total, own);
}

/* <prefix><kind><name>, with name in braces when braced. */
char *rd_key_own(const char *prefix, const char *kind, const char *name, bool braced)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, prefix);
    sd_buf_puts(&b, kind);
    sd_buf_puts(&b, braced ? "{" : "");
    sd_buf_puts(&b, name);
    sd_buf_puts(&b, braced ? "}" : "");
    return sd_buf_steal(&b, NULL);
}

/* KEYS record, exp index, lex index; ARGV id, now, value index: how
 * every script on one record starts. */
void rd_args_record(rd_args *a, const char *prefix, const char *ns, const char *id,
                    int64_t now, const char *field)
{
    rd_args_script(a, "3");
    args_key(a, prefix, "{", ns, ":", id, "}");
    args_key(a, prefix, "exp:", ns, "", "", "");
    args_key(a, prefix, "lex:", ns, "", "", "");
    rd_args_str(a, id);
    rd_args_i64(a, now);
    args_value_index(a, prefix, ns, field);
}

void rd_args_queue(rd_args *a, const char *prefix, const char *queue, const char *ns,
                   int64_t now, const char *field)
{
    rd_args_script(a, ns != NULL ? "5" : "3");
    args_key(a, prefix, "q:{", queue, "}:w", "", "");
    args_key(a, prefix, "q:{", queue, "}:l", "", "");
    args_key(a, prefix, "q:{", queue, "}:o", "", "");
    if (ns != NULL) {
        args_key(a, prefix, "exp:", ns, "", "", "");
        args_key(a, prefix, "lex:", ns, "", "", "");
        args_key(a, prefix, "{", ns, ":", "", "");
    } else {
        rd_args_str(a, "");
    }
    rd_args_i64(a, now);
    if (ns != NULL)
        args_value_index(a, prefix, ns, field);
    else
        args_value_index(a, prefix, "", NULL);
}

#define RD_MAX_EXPIRY_MS 9007199254740991LL    /* 2^53 - 1 */

int64_t rd_expiry_after(int64_t now, int64_t ttl_ms)
{
    return ttl_ms > RD_MAX_EXPIRY_MS - now ? RD_MAX_EXPIRY_MS : now + ttl_ms;
}

void rd_args_update(rd_args *a, const sd_update *u, int64_t now, bool want)
{
    rd_args_str(a, u->mode == SD_UPDATE_EXISTING ? "e"
                   : u->mode == SD_UPDATE_CREATE ? "c" : "u");
    rd_args_i64(a, u->ttl_ms > 0 ? rd_expiry_after(now, u->ttl_ms) : 0);
    rd_args_str(a, want ? "1" : "0");
    if (u->cond_field != NULL) {
        rd_args_i64(a, (int64_t)u->cond_count);
        rd_args_str(a, u->cond_field);
        for (size_t i = 0; i < u->cond_count; i++)
            rd_args_str(a, u->cond_values[i]);
    } else {
        rd_args_str(a, "-1");
        rd_args_str(a, "");
    }
    static const char *const ops[] = {
        [SD_ASSIGN_SET] = "s", [SD_ASSIGN_SETNX] = "n",
        [SD_ASSIGN_INCR] = "i", [SD_ASSIGN_DEL] = "d",
    };
    for (size_t i = 0; i < u->assign_count; i++) {
        const sd_assign *as = &u->assign[i];
        rd_args_str(a, ops[as->op]);
        rd_args_str(a, as->name);
        if (as->op == SD_ASSIGN_INCR)
            rd_args_i64(a, as->incr);
        else if (as->op == SD_ASSIGN_DEL || as->value == NULL)
            rd_args_str(a, "");
        else
            rd_args_add(a, as->value, as->len, false);
    }
}

/* KEYS exp index, lex index; ARGV now, record key prefix, value index:
 * how the scripts over a namespace start. */
void rd_args_namespace(rd_args *a, const char *prefix, const char *ns, int64_t now,
                       const char *field)
{
    rd_args_script(a, "2");
    args_key(a, prefix, "exp:", ns, "", "", "");
    args_key(a, prefix, "lex:", ns, "", "", "");
    rd_args_i64(a, now);
    args_key(a, prefix, "{", ns, ":", "", "");
    args_value_index(a, prefix, ns, field);
}

/* ---- replies ---- */

sd_err rd_bad_reply(const char *what)
{
    sd_error("redis store: %s: unexpected reply shape", what);
    return SD_ERR_INTERNAL;
}

static sd_err code_err(long long code)
{
    switch (code) {
    case RD_CODE_OK: return SD_OK;
    case RD_CODE_NOT_FOUND: return SD_ERR_NOT_FOUND;
    case RD_CODE_EXISTS: return SD_ERR_EXISTS;
    case RD_CODE_CONFLICT: return SD_ERR_CONFLICT;
    case RD_CODE_INVALID: return SD_ERR_INVALID;
    default: return rd_bad_reply("script code");
    }
}

/* A reply {code, ...} whose elements from index `from` are all strings:
 * *code gets the code's error. false for any other shape. */
static bool reply_shape(const redisReply *r, size_t from, sd_err *code)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        return false;
    for (size_t i = from; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return false;
    *code = code_err(r->element[0]->integer);
    return true;
}

bool rd_reply_i64(const redisReply *e, int64_t min, int64_t max, int64_t *out)
{
    return e->type == REDIS_REPLY_STRING && strlen(e->str) == e->len &&
           sd_parse_i64(e->str, min, max, out) == SD_OK;
}

/* A NUL-terminated copy of a string reply; NULL on NOMEM. */
static char *reply_dup(const redisReply *e)
{
    char *p = malloc(e->len + 1);
    if (p != NULL) {
        memcpy(p, e->str, e->len);
        p[e->len] = '\0';
    }
    return p;
}

/* The record in el[0..k): expiry, then name and value strings, into the
 * empty *out as one allocation (store_common.h). SD_ERR_NOMEM or
 * SD_ERR_INTERNAL (bad shape) leave *out empty. */
static sd_err record_from(redisReply *const *el, size_t k, sd_record *out)
{
    if (k == 0)
        return SD_OK;
    if (k % 2 != 1)
        return rd_bad_reply("record fields");
    for (size_t i = 0; i < k; i++)
        if (el[i]->type != REDIS_REPLY_STRING)
            return rd_bad_reply("record fields");
    if (!rd_reply_i64(el[0], INT64_MIN, INT64_MAX, &out->expires_ms))
        return rd_bad_reply("record expiry");
    size_t n = (k - 1) / 2;
    if (n == 0)
        return SD_OK;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (!sd_record_bytes_add(&bytes, el[1 + 2 * i]->len, el[2 + 2 * i]->len))
            goto nomem;
    char *area = sd_record_build(out, n, bytes);
    if (area == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const redisReply *name = el[1 + 2 * i], *value = el[2 + 2 * i];
        area = sd_record_add(out, area, name->str, name->len, value->str, value->len);
    }
    return SD_OK;
nomem:
    sd_record_clear(out);
    out->expires_ms = 0;
    return SD_ERR_NOMEM;
}

/* {code, expiry, name, value, ...} into the empty *out (when given and
 * the reply carries the record). Returns the code's error, or
 * SD_ERR_NOMEM / SD_ERR_INTERNAL with *out left empty. */
sd_err rd_reply_record(const redisReply *r, sd_record *out)
{
    sd_err code;
    if (!reply_shape(r, 1, &code) || (r->elements > 1 && r->elements % 2 != 0))
        return rd_bad_reply("record");
    if (out == NULL || r->elements < 2)
        return code;
    sd_err err = record_from(r->element + 1, r->elements - 1, out);
    return err != SD_OK ? err : code;
}

sd_err rd_reply_queue(const redisReply *r, sd_queue_rec *rec)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER)
        return rd_bad_reply("queue");
    long long qcode = r->element[0]->integer;
    sd_err qerr = qcode == RD_CODE_FULL ? SD_ERR_QUEUE_FULL : code_err(qcode);
    if (r->element[1]->integer < 0)
        return qerr;
    if (rec == NULL)
        return rd_bad_reply("queue change");
    rec->err = code_err(r->element[1]->integer);
    if (rec->out == NULL)
        return qerr;
    sd_err err = record_from(r->element + 2, r->elements - 2, rec->out);
    return err != SD_OK ? err : qerr;
}

sd_err rd_reply_take(const redisReply *r, sd_queue_item *items, size_t max, size_t *n)
{
    *n = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        return rd_bad_reply("take");
    sd_err err = SD_OK;
    size_t i = 1;
    while (err == SD_OK && i < r->elements) {
        const redisReply *item = r->element[i];
        if (*n >= max || i + 1 >= r->elements || item->type != REDIS_REPLY_STRING ||
            item->len >= SD_QUEUE_ITEM_MAX || r->element[i + 1]->type != REDIS_REPLY_INTEGER ||
            r->element[i + 1]->integer < 0 ||
            (size_t)r->element[i + 1]->integer > r->elements - i - 2) {
            err = rd_bad_reply("take");
            break;
        }
        size_t k = (size_t)r->element[i + 1]->integer;
        sd_queue_item *out = &items[(*n)++];
        memcpy(out->item, item->str, item->len);
        out->item[item->len] = '\0';
        /* e1 is the change's code; a record follows only with code 0. */
        if (k > 0 && (r->element[i + 2]->type != REDIS_REPLY_INTEGER))
            err = rd_bad_reply("take record");
        else if (k > 1 && r->element[i + 2]->integer == RD_CODE_OK)
            err = record_from(r->element + i + 3, k - 1, &out->rec);
        i += 2 + k;
    }
    if (err != SD_OK) {
        sd_queue_items_clear(items, *n);
        *n = 0;
    }
    return err;
}

sd_err rd_reply_reap(const redisReply *r, sd_queue_item *items, size_t max, size_t *n)
{
    *n = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements % 2 != 1 ||
        (r->elements - 1) / 2 > max || r->element[0]->type != REDIS_REPLY_INTEGER)
        return rd_bad_reply("reap");
    for (size_t i = 1; i < r->elements; i += 2) {
        const redisReply *item = r->element[i], *owner = r->element[i + 1];
        if (item->type != REDIS_REPLY_STRING || owner->type != REDIS_REPLY_STRING ||
            item->len >= SD_QUEUE_ITEM_MAX || owner->len >= SD_QUEUE_OWNER_MAX) {
            sd_queue_items_clear(items, *n);
            *n = 0;
            return rd_bad_reply("reap");
        }
        sd_queue_item *out = &items[(*n)++];
        memcpy(out->item, item->str, item->len);
        out->item[item->len] = '\0';
        memcpy(out->owner, owner->str, owner->len);
        out->owner[owner->len] = '\0';
    }
    return SD_OK;
}

/* {code, expiry, item, ...} into the empty *out, as rd_reply_record. */
sd_err rd_reply_list(const redisReply *r, sd_list *out)
{
    sd_err code;
    if (!reply_shape(r, 1, &code))
        return rd_bad_reply("list");
    if (out == NULL || r->elements < 2)
        return code;
    if (!rd_reply_i64(r->element[1], INT64_MIN, INT64_MAX, &out->expires_ms))
        return rd_bad_reply("list expiry");
    size_t n = r->elements - 2;
    if (n == 0)
        return code;
    out->items = calloc(n, sizeof *out->items);
    out->lens = calloc(n, sizeof *out->lens);
    if (out->items == NULL || out->lens == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        out->items[i] = reply_dup(r->element[2 + i]);
        if (out->items[i] == NULL)
            goto nomem;
        out->lens[i] = r->element[2 + i]->len;
        out->count++;
    }
    return code;
nomem:
    sd_list_clear(out);
    return SD_ERR_NOMEM;
}

/* {more, id, ...} into the empty page *out. */
sd_err rd_reply_page(const redisReply *r, size_t limit, sd_page *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements - 1 > limit ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        return rd_bad_reply("scan");
    for (size_t i = 1; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return rd_bad_reply("scan");
    size_t n = r->elements - 1;
    if (n == 0)
        return SD_OK;
    out->ids = calloc(n, sizeof *out->ids);
    if (out->ids == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        out->ids[i] = reply_dup(r->element[1 + i]);
        if (out->ids[i] == NULL)
            goto nomem;
        out->count++;
    }
    /* The first element says whether more ids follow. */
    if (r->element[0]->integer != 0) {
        out->next_cursor = sd_store_cursor_encode(out->ids[n - 1]);
        if (out->next_cursor == NULL)
            goto nomem;
    }
    return SD_OK;
nomem:
    sd_page_clear(out);
    return SD_ERR_NOMEM;
}
