/*
 * Arguments and key names of the Redis store (see redis_args.h).
 */
#include "redis_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"

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
    char digits[SD_I64_TEXT_LEN];
    size_t i = sd_i64_text(v, digits);
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
 * The key prefix + lead + ns (encoded) + sep + tail + end, NUL-ended,
 * written at dst when dst is not NULL; returns its length either way
 * (args_key makes it in an argument list). Every key statusd derives from
 * a namespace has this shape:
 *   record            <prefix>{<ns>:<id>}   lead "{", sep ":", tail id, end "}"
 *   record key prefix <prefix>{<ns>:        lead "{", sep ":"
 *   namespace index   <prefix>exp:<ns>      lead "exp:" (lex:, ixr:)
 *   value set prefix  <prefix>ix:<ns>:      lead "ix:", sep ":"
 * The hash tag puts a record's key in one slot.
 */
static size_t put_key(char *dst, const char *prefix, const char *lead, const char *ns,
                      const char *sep, const char *tail, const char *end)
{
    const char *before[] = {prefix, lead};
    const char *after[] = {sep, tail, end};
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        size_t l = strlen(before[i]);
        if (dst != NULL)
            memcpy(dst + n, before[i], l);
        n += l;
    }
    n += put_ns(dst != NULL ? dst + n : NULL, ns);
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(after[i]);
        if (dst != NULL)
            memcpy(dst + n, after[i], l);
        n += l;
    }
    if (dst != NULL)
        dst[n] = '\0';
    return n;
}

static void args_key(rd_args *a, const char *prefix, const char *lead, const char *ns,
                     const char *sep, const char *tail, const char *end)
{
    size_t total = put_key(NULL, prefix, lead, ns, sep, tail, end);
    bool own;
    char *key = args_room(a, total, &own);
    if (key == NULL)
        return;
    put_key(key, prefix, lead, ns, sep, tail, end);
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

char *rd_ns_key_own(const char *prefix, const char *lead, const char *ns, const char *tail)
{
    char *key = malloc(put_key(NULL, prefix, lead, ns, "", tail, "") + 1);
    if (key != NULL)
        put_key(key, prefix, lead, ns, "", tail, "");
    return key;
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
    rd_args_i64(a, u->ttl_ms > 0 ? u->slack_ms : 0);
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

size_t rd_args_update_count(const sd_update *u)
{
    return 6 + (u->cond_field != NULL ? u->cond_count : 0) + 3 * u->assign_count;
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
