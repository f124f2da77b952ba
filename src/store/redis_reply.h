#ifndef STATUSD_STORE_REDIS_REPLY_H
#define STATUSD_STORE_REDIS_REPLY_H

/*
 * The decoding of the Redis store's replies (script replies above all,
 * see redis_scripts.h) into the caller-owned results of statusd/store.h.
 * A reply of an unexpected shape is logged and is SD_ERR_INTERNAL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "statusd/store.h"

/* Logs a reply of an unexpected shape; returns SD_ERR_INTERNAL. */
sd_err rd_bad_reply(const char *what);
/* A string reply holding a whole decimal in [min, max]. */
bool rd_reply_i64(const redisReply *e, int64_t min, int64_t max, int64_t *out);

/* Script replies {code} or {code, expiry, ...}. The result is the code's
 * error (SD_OK, SD_ERR_NOT_FOUND, _EXISTS, _CONFLICT, _INVALID), with the
 * record or list in the empty *out when out is given and the reply
 * carries one; SD_ERR_NOMEM or SD_ERR_INTERNAL (bad shape) leave *out
 * empty. rd_reply_record: {code, expiry, name, value, ...};
 * rd_reply_list: {code, expiry, item, ...}. */
sd_err rd_reply_record(const redisReply *r, sd_record *out);
sd_err rd_reply_list(const redisReply *r, sd_list *out);

/* An HGETALL reply's fields into the empty *out, with expires_ms as its
 * expiry; SD_ERR_NOMEM / SD_ERR_INTERNAL with *out left empty. */
sd_err rd_reply_hash(const redisReply *r, int64_t expires_ms, sd_record *out);

/* A queue script's reply {queue code, change code (-1: not tried),
 * expiry, name, value, ...}: returns the queue code's error (RD_CODE_FULL
 * as SD_ERR_QUEUE_FULL); when the change was tried, rec->err gets its
 * error and rec->out (when given) the record. SD_ERR_NOMEM or
 * SD_ERR_INTERNAL (bad shape) leave rec->out empty. */
sd_err rd_reply_queue(const redisReply *r, sd_queue_rec *rec);

/* The take reply {0, item, k, e1..ek, ...} into items[0..max), each with
 * its record when k > 0 (e1..ek as a change's reply: code, expiry,
 * fields); *n gets how many. On failure the items are cleared. */
sd_err rd_reply_take(const redisReply *r, sd_queue_item *items, size_t max, size_t *n);

/* The reap reply {0, item, owner, ...} into items[0..max) and *n. */
sd_err rd_reply_reap(const redisReply *r, sd_queue_item *items, size_t max, size_t *n);

/* The scan reply {more, id, ...} (at most limit ids, the smallest live
 * ids past the cursor by ZRANGEBYLEX on the lex index) into the empty
 * *out, with the cursor of the next page (store_common.h) when more is 1. */
sd_err rd_reply_page(const redisReply *r, size_t limit, sd_page *out);
/* {more, id, key, ...} of scan_by into the empty page *out. */
sd_err rd_reply_keyed_page(const redisReply *r, size_t limit, sd_page *out);

#endif
