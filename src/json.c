/*
 * JSON helpers. sd_json_check runs before cJSON sees a body: cJSON accepts
 * invalid UTF-8 and raw control characters, and its nesting limit is
 * compiled in at 1000, far above what statusd accepts.
 */
#include "statusd/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

size_t sd_utf8_seq(const char *s, size_t left)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    return n;
}

sd_err sd_json_check(const char *text, size_t len, int max_depth)
{
    const unsigned char *p = (const unsigned char *)text;
    int depth = 0;
    bool in_string = false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == 0)
            return SD_ERR_BAD_JSON;
        if (c >= 0x80) {
            size_t n = sd_utf8_seq(text + i, len - i);
            if (n == 0)
                return SD_ERR_BAD_JSON;
            i += n;
            continue;
        }
        if (in_string) {
            if (c == '"')
                in_string = false;
            else if (c == '\\') {
                /* \u0000 would become a NUL inside a C string and cut
                 * the value short where statusd reads it. */
                if (i + 5 < len && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0)
                    return SD_ERR_BAD_JSON;
                i++; /* the escaped byte cannot end the string */
            }
            else if (c < 0x20)
                return SD_ERR_BAD_JSON;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return SD_ERR_TOO_DEEP;
        } else if (c == '}' || c == ']') {
            depth--;
        }
        i++;
    }
    return SD_OK;
}

/* json_finite below item, whose path so far is where[0..at). */
static bool finite_at(const cJSON *item, char *where, size_t wlen, size_t at)
{
    if (cJSON_IsNumber(item))
        return isfinite(item->valuedouble);
    size_t i = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next, i++) {
        size_t n = at;
        if (where != NULL && at < wlen) {
            int k = cJSON_IsArray(item) ? snprintf(where + at, wlen - at, "[%zu]", i)
                    : snprintf(where + at, wlen - at, "%s%s", at > 0 ? "." : "",
                               c->string != NULL ? c->string : "");
            n = k < 0 ? at : at + (size_t)k;
        }
        if (!finite_at(c, where, wlen, n < wlen ? n : wlen))
            return false;
    }
    if (where != NULL && at < wlen)
        where[at] = '\0';
    return true;
}

/* True when no number in item (or below it) is infinite or NaN: cJSON
 * reads 1e999 as infinity, which it would print as null. Otherwise where
 * gets the path of the first one. Recursion is as deep as item, which
 * sd_json_check bounds. */
static bool json_finite(const cJSON *item, char *where, size_t wlen)
{
    if (where != NULL && wlen > 0)
        where[0] = '\0';
    return finite_at(item, where, wlen, 0);
}

sd_err sd_json_parse(const char *text, size_t len, int max_depth, cJSON **out)
{
    return sd_json_parse_at(text, len, max_depth, out, NULL, 0);
}

sd_err sd_json_parse_at(const char *text, size_t len, int max_depth, cJSON **out,
                        char *where, size_t wlen)
{
    *out = NULL;
    sd_err err = sd_json_check(text, len, max_depth);
    if (err != SD_OK)
        return err;
    /* The check above rejected NUL bytes, so the text is a C string of
     * exactly len bytes once terminated. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root == NULL)
        return SD_ERR_BAD_JSON;
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(root);
        return SD_ERR_BAD_JSON;
    }
    if (!json_finite(root, where, wlen)) {
        cJSON_Delete(root);
        return SD_ERR_INVALID;
    }
    *out = root;
    return SD_OK;
}

void sd_json_append_string(sd_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sd_buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sd_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': sd_buf_append(b, "\\\"", 2); break;
        case '\\': sd_buf_append(b, "\\\\", 2); break;
        case '\n': sd_buf_append(b, "\\n", 2); break;
        case '\r': sd_buf_append(b, "\\r", 2); break;
        case '\t': sd_buf_append(b, "\\t", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sd_buf_append(b, esc, sizeof esc);
        }
        }
    }
    sd_buf_append(b, s + run, len - run);
    sd_buf_putc(b, '"');
}

size_t sd_utf8_length(const char *s, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

void sd_json_append_item(sd_buf *b, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    if (text == NULL) {
        b->failed = true;
        return;
    }
    sd_buf_puts(b, text);
    cJSON_free(text);
}

