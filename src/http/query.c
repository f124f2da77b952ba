/* Percent-decoding and the strict query string (query.h). */
#include "http/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "statusd/util.h"

size_t sd_percent_decode(const char *src, size_t len, char *out, int plus_space,
                         size_t *ctl_at)
{
    size_t o = 0;
    *ctl_at = SIZE_MAX;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%' && len - i > 2) {
            int hi = sd_hex_digit(src[i + 1]), lo = sd_hex_digit(src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi << 4 | lo);
                i += 2;
            }
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if ((c < 0x20 || c == 0x7f) && *ctl_at == SIZE_MAX)
            *ctl_at = o;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

/* name, shown in a message: cut short, control characters as '?'. */
static void show_name(const char *name, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    for (; n < len && n + 4 < outlen && n < 40; n++) {
        unsigned char c = (unsigned char)name[n];
        out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    strcpy(out + n, n < len ? "..." : "");
}

sd_err sd_query_parse(const char *raw, size_t len, sd_query *q, char *why, size_t whylen)
{
    memset(q, 0, sizeof *q);
    if (len == 0)
        return SD_OK;
    /* Each pair decodes to at most its own length plus two NULs. */
    q->buf = malloc(len + 2 * (len / 2 + 1) + 2);
    if (q->buf == NULL) {
        snprintf(why, whylen, "out of memory");
        return SD_ERR_NOMEM;
    }
    char *o = q->buf;
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(raw + i, '&', len - i);
        size_t end = amp != NULL ? (size_t)(amp - raw) : len;
        const char *pair = raw + i;
        size_t plen = end - i;
        i = amp != NULL ? end + 1 : len;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
        char shown[48];
        show_name(pair, klen, shown, sizeof shown);
        if (q->n == SD_QUERY_MAX_ARGS) {
            snprintf(why, whylen, "more than %d query parameters", SD_QUERY_MAX_ARGS);
            return SD_ERR_INVALID;
        }
        char *key = o;
        size_t ctl;
        size_t kn = sd_percent_decode(pair, klen, key, 1, &ctl);
        if (ctl != SIZE_MAX) {
            snprintf(why, whylen, "the query parameter name %s holds a control character",
                     shown);
            return SD_ERR_INVALID;
        }
        o += kn + 1;
        char *value = o;
        size_t vn = 0;
        if (eq != NULL)
            vn = sd_percent_decode(eq + 1, plen - klen - 1, value, 1, &ctl);
        else
            value[0] = '\0';
        if (ctl != SIZE_MAX) {
            show_name(key, kn, shown, sizeof shown);
            snprintf(why, whylen, "the query parameter %s holds a control character", shown);
            return SD_ERR_INVALID;
        }
        o += vn + 1;
        q->args[q->n].key = key;
        q->args[q->n].value = value;
        q->n++;
    }
    return SD_OK;
}

sd_err sd_query_get(const sd_query *q, const char *key, const char **value, char *why,
                    size_t whylen)
{
    *value = NULL;
    size_t seen = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->args[i].key, key) == 0) {
            *value = q->args[i].value;
            seen++;
        } else if (strcasecmp(q->args[i].key, key) == 0) {
            char shown[48];
            show_name(q->args[i].key, strlen(q->args[i].key), shown, sizeof shown);
            snprintf(why, whylen, "the query parameter %s must be spelled %s", shown, key);
            *value = NULL;
            return SD_ERR_INVALID;
        }
    }
    if (seen > 1) {
        snprintf(why, whylen, "the query parameter %s is given %zu times; give it once",
                 key, seen);
        *value = NULL;
        return SD_ERR_INVALID;
    }
    return SD_OK;
}

void sd_query_free(sd_query *q)
{
    free(q->buf);
    q->buf = NULL;
    q->n = 0;
}
