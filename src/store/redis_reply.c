/*
 * Reply decoding of the Redis store (see redis_reply.h).
 */
#include "redis_reply.h"

#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_scripts.h"
#include "store_common.h"

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

/* The k name/value strings at el (k even) as the fields of the empty
 * *out, as one allocation (store_common.h); its expiry is the caller's.
 * SD_ERR_NOMEM or SD_ERR_INTERNAL (bad shape) leave *out empty. */
static sd_err record_fields(redisReply *const *el, size_t k, sd_record *out)
{
    if (k % 2 != 0)
        return rd_bad_reply("record fields");
    for (size_t i = 0; i < k; i++)
        if (el[i]->type != REDIS_REPLY_STRING)
            return rd_bad_reply("record fields");
    size_t n = k / 2;
    if (n == 0)
        return SD_OK;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (!sd_record_bytes_add(&bytes, el[2 * i]->len, el[1 + 2 * i]->len))
            goto nomem;
    char *area = sd_record_build(out, n, bytes);
    if (area == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const redisReply *name = el[2 * i], *value = el[1 + 2 * i];
        area = sd_record_add(out, area, name->str, name->len, value->str, value->len);
    }
    return SD_OK;
nomem:
    sd_record_clear(out);
    out->expires_ms = 0;
    return SD_ERR_NOMEM;
}

/* The record in el[0..k): expiry, then name and value strings, into the
 * empty *out; errors as record_fields. */
static sd_err record_from(redisReply *const *el, size_t k, sd_record *out)
{
    if (k == 0)
        return SD_OK;
    if (el[0]->type != REDIS_REPLY_STRING ||
        !rd_reply_i64(el[0], INT64_MIN, INT64_MAX, &out->expires_ms))
        return rd_bad_reply("record expiry");
    sd_err err = record_fields(el + 1, k - 1, out);
    if (err != SD_OK)
        out->expires_ms = 0;
    return err;
}

sd_err rd_reply_hash(const redisReply *r, int64_t expires_ms, sd_record *out)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return rd_bad_reply("hash");
    sd_err err = record_fields(r->element, r->elements, out);
    if (err == SD_OK)
        out->expires_ms = expires_ms;
    return err;
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

/* {more, id, key, ...} (scan_by) into the empty page *out. */
sd_err rd_reply_keyed_page(const redisReply *r, size_t limit, sd_page *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || (r->elements - 1) % 2 != 0 ||
        (r->elements - 1) / 2 > limit || r->element[0]->type != REDIS_REPLY_INTEGER)
        return rd_bad_reply("scan_by");
    size_t n = (r->elements - 1) / 2;
    for (size_t i = 1; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return rd_bad_reply("scan_by");
    if (n == 0)
        return SD_OK;
    out->ids = calloc(n, sizeof *out->ids);
    out->keys = calloc(n, sizeof *out->keys);
    if (out->ids == NULL || out->keys == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const redisReply *key = r->element[2 + 2 * i];
        int64_t k = 0;
        if (key->len > 20 || sd_parse_i64(key->str, 1, INT64_MAX, &k) != SD_OK) {
            sd_page_clear(out);
            return rd_bad_reply("scan_by");
        }
        out->ids[i] = reply_dup(r->element[1 + 2 * i]);
        if (out->ids[i] == NULL)
            goto nomem;
        out->keys[i] = k;
        out->count++;
    }
    if (r->element[0]->integer != 0) {
        out->next_cursor = sd_store_key_cursor(out->keys[n - 1]);
        if (out->next_cursor == NULL)
            goto nomem;
    }
    return SD_OK;
nomem:
    sd_page_clear(out);
    return SD_ERR_NOMEM;
}
