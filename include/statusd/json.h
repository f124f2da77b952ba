#ifndef STATUSD_JSON_H
#define STATUSD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "statusd/error.h"
#include "statusd/util.h"

/* JSON helpers shared by the API and the job handlers. They know nothing
 * of HTTP. */

#define SD_JSON_MAX_DEPTH 32

/*
 * Checks text[0..len) before any parser sees it: valid UTF-8, no NUL byte
 * (raw or as \u0000), no raw control character inside a string, and arrays/objects nested no
 * deeper than max_depth (cJSON's own limit is compiled in at 1000).
 * SD_ERR_BAD_JSON or SD_ERR_TOO_DEEP; it does not check the grammar.
 */
sd_err sd_json_check(const char *text, size_t len, int max_depth);

/*
 * sd_json_check, then a strict parse of the whole text (nothing but white
 * space after the value). *out is the parsed tree, owned by the caller
 * (cJSON_Delete). SD_ERR_BAD_JSON, SD_ERR_TOO_DEEP, SD_ERR_NOMEM, or
 * SD_ERR_INVALID for a number out of a double's range (1e999), which
 * cJSON would keep as an infinity and print as null.
 */
sd_err sd_json_parse(const char *text, size_t len, int max_depth, cJSON **out);
/* The same; for a number out of range, where[0..wlen) (when where is not
 * NULL) gets the path of the first one ("progress", "result.n",
 * "items[2]"; "" for a bare number), cut to fit. */
sd_err sd_json_parse_at(const char *text, size_t len, int max_depth, cJSON **out,
                        char *where, size_t wlen);

/* Appends s[0..len) as a quoted JSON string, escaped. */
void sd_json_append_string(sd_buf *b, const char *s, size_t len);

/* Length (1..4) of the valid UTF-8 sequence at s (left > 0 bytes there),
 * or 0 when there is none: overlong forms, surrogates, code points past
 * U+10FFFF and cut-short sequences are invalid. */
size_t sd_utf8_seq(const char *s, size_t left);

/* Number of Unicode code points in valid UTF-8 text. */
size_t sd_utf8_length(const char *s, size_t len);

/* Appends the compact text of item (cJSON_PrintUnformatted) to b. */
void sd_json_append_item(sd_buf *b, const cJSON *item);


#endif
