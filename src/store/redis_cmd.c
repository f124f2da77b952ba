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
    size_t cap = a->cap > 0 ? a->cap * 2 : 16;
    const char **v = realloc(a->v, cap * sizeof *v);
    if (v != NULL)
        a->v = v;
    size_t *len = v != NULL ? realloc(a->len, cap * sizeof *len) : NULL;
    if (len != NULL)
        a->len = len;
    bool *own = len != NULL ? realloc(a->own, cap * sizeof *own) : NULL;
    if (own == NULL) {
        a->failed = true;
        return false;
    }
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

void rd_args_i64(rd_args *a, int64_t v)
{
    char *s = NULL;
    rd_args_take(a, asprintf(&s, "%" PRId64, v) < 0 ? NULL : s);
}

/* A list for a script with nkeys keys: EVALSHA and the digest come first
 * (rd_script fills them), then the key count. */
rd_args rd_args_script(const char *nkeys)
{
    rd_args a = {NULL, NULL, NULL, 0, 0, false};
    rd_args_str(&a, "");
    rd_args_str(&a, "");
    rd_args_str(&a, nkeys);
    return a;
}

void rd_args_free(rd_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->own[i])
            free((char *)a->v[i]);
    free(a->v);
    free(a->len);
    free(a->own);
}

/* ---- keys ---- */

/* The namespace with ':' and '%' percent-encoded, so that "<ns>:<id>"
 * names one record whatever bytes either holds. */
static void put_ns(sd_buf *b, const char *ns)
{
    for (const char *p = ns; *p != '\0'; p++) {
        if (*p == ':')
            sd_buf_puts(b, "%3A");
        else if (*p == '%')
            sd_buf_puts(b, "%25");
        else
            sd_buf_putc(b, *p);
    }
}

/* <prefix>{<ns>: and, with id, <prefix>{<ns>:<id>}: the hash tag puts a
 * record's key in one slot. The caller frees; NULL on NOMEM. */
char *rd_key_record(const char *prefix, const char *ns, const char *id)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, prefix);
    sd_buf_putc(&b, '{');
    put_ns(&b, ns);
    sd_buf_putc(&b, ':');
    if (id != NULL) {
        sd_buf_puts(&b, id);
        sd_buf_putc(&b, '}');
    }
    return sd_buf_steal(&b, NULL);
}

/* <prefix><kind>:<ns> for the namespace indexes "exp", "lex" and "ixr". */
char *rd_key_index(const char *prefix, const char *kind, const char *ns)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, prefix);
    sd_buf_puts(&b, kind);
    sd_buf_putc(&b, ':');
    put_ns(&b, ns);
    return sd_buf_steal(&b, NULL);
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
    rd_args_take(a, rd_key_index(prefix, "ixr", ns));
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, prefix);
    sd_buf_puts(&b, "ix:");
    put_ns(&b, ns);
    sd_buf_putc(&b, ':');
    rd_args_take(a, sd_buf_steal(&b, NULL));
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
rd_args rd_args_record(const char *prefix, const char *ns, const char *id, int64_t now,
                       const char *field)
{
    rd_args a = rd_args_script("3");
    rd_args_take(&a, rd_key_record(prefix, ns, id));
    rd_args_take(&a, rd_key_index(prefix, "exp", ns));
    rd_args_take(&a, rd_key_index(prefix, "lex", ns));
    rd_args_str(&a, id);
    rd_args_i64(&a, now);
    args_value_index(&a, prefix, ns, field);
    return a;
}

/* KEYS exp index, lex index; ARGV now, record key prefix, value index:
 * how the scripts over a namespace start. */
rd_args rd_args_namespace(const char *prefix, const char *ns, int64_t now,
                          const char *field)
{
    rd_args a = rd_args_script("2");
    rd_args_take(&a, rd_key_index(prefix, "exp", ns));
    rd_args_take(&a, rd_key_index(prefix, "lex", ns));
    rd_args_i64(&a, now);
    rd_args_take(&a, rd_key_record(prefix, ns, NULL));
    args_value_index(&a, prefix, ns, field);
    return a;
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
    if (!rd_reply_i64(r->element[1], INT64_MIN, INT64_MAX, &out->expires_ms))
        return rd_bad_reply("record expiry");
    size_t n = (r->elements - 2) / 2;
    if (n == 0)
        return code;
    out->fields = calloc(n, sizeof *out->fields);
    if (out->fields == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        sd_field *f = &out->fields[i];
        f->name = reply_dup(r->element[2 + 2 * i]);
        f->value = reply_dup(r->element[3 + 2 * i]);
        f->len = r->element[3 + 2 * i]->len;
        out->count++;
        if (f->name == NULL || f->value == NULL)
            goto nomem;
    }
    return code;
nomem:
    sd_record_clear(out);
    return SD_ERR_NOMEM;
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
