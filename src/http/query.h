#ifndef STATUSD_HTTP_QUERY_H
#define STATUSD_HTTP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * The query string of a request, decoded once and read strictly: keys are
 * matched exactly (case included), a key statusd reads must appear once,
 * and no key or value may hold a control character once decoded. A
 * lenient reading (first of two wins, CONFIRM read as confirm, "%00" cutting
 * a value short) would let one request mean two things.
 */

#define SD_QUERY_MAX_ARGS 32

typedef struct sd_query_arg {
    const char *key;       /* decoded, NUL-terminated, inside sd_query.buf */
    const char *value;     /* decoded; "" for "?key" and "?key=" */
} sd_query_arg;

typedef struct sd_query {
    char *buf;             /* malloc'd: every decoded key and value */
    sd_query_arg args[SD_QUERY_MAX_ARGS];
    size_t n;
} sd_query;

/*
 * Parses raw[0..len) (the text after '?', not NUL-terminated) into *q:
 * '&'-separated key[=value] pairs, '+' as a space, %XX decoded (a '%' not
 * followed by two hex digits is kept as it is). Empty pairs are skipped.
 * SD_ERR_INVALID with a reason in why (naming the parameter) for a
 * control character (below 0x20, or 0x7f) in a decoded key or value, or
 * more than SD_QUERY_MAX_ARGS pairs; SD_ERR_NOMEM. q is always safe to
 * free with sd_query_free.
 */
sd_err sd_query_parse(const char *raw, size_t len, sd_query *q, char *why, size_t whylen);

/*
 * The value of key: SD_OK with *value (NULL when key is absent).
 * SD_ERR_INVALID with a reason in why when key appears more than once, or
 * a key equal to it but for case is present.
 */
sd_err sd_query_get(const sd_query *q, const char *key, const char **value, char *why,
                    size_t whylen);

void sd_query_free(sd_query *q);

/*
 * Percent-decodes src[0..len) into out (room for len + 1 bytes; the
 * result is NUL-terminated and never longer than src). plus_space turns
 * '+' into ' ' (query strings). A '%' not followed by two hex digits is
 * kept as it is. Returns the decoded length; *ctl_at is the offset in out
 * of the first control character (below 0x20, or 0x7f), SIZE_MAX when
 * there is none.
 */
size_t sd_percent_decode(const char *src, size_t len, char *out, int plus_space,
                         size_t *ctl_at);

#endif
