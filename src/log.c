/*
 * Log lines on stderr. A line is formatted into a stack buffer and written
 * with one write(2), so lines from many threads never interleave. The level
 * and format are set once at start-up, before threads exist.
 *
 * A line too long for the buffer loses the end of its message or the
 * fields that no longer fit whole, never its closing: a JSON line always
 * parses.
 */
#include "statusd/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "statusd/util.h"

static sd_log_level min_level = SD_LOG_INFO;
static sd_log_format line_format = SD_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sd_log_setup(sd_log_level level, sd_log_format format)
{
    min_level = level;
    line_format = format;
}

int sd_log_enabled(sd_log_level level) { return level >= min_level; }

/* A line being built: room for LINE_TAIL more bytes (the closing) is
 * always kept. */
#define LINE_CAP 4608
#define LINE_TAIL 3

typedef struct line {
    char text[LINE_CAP];
    size_t n;
} line;

static size_t line_room(const line *l) { return LINE_CAP - LINE_TAIL - l->n; }

static void put_raw(line *l, const char *s, size_t len)
{
    if (len > line_room(l))
        len = line_room(l);
    memcpy(l->text + l->n, s, len);
    l->n += len;
}

static void put_str(line *l, const char *s) { put_raw(l, s, strlen(s)); }

/* The length of the well-formed UTF-8 sequence at p (1 for ASCII), or 0
 * when it is not one (a stray byte, an overlong form, a surrogate, above
 * U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)   /* also stops at the NUL */
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

/* Appends s escaped as the body of a JSON string (without quotes),
 * leaving keep bytes of room; a character whose escape does not fit ends
 * it, and a byte that is not UTF-8 becomes U+FFFD, so a line stays valid
 * JSON whatever a client put in a path. With quotes false only control
 * characters (and bad bytes) are escaped: a text line's message, which a
 * newline in a client's path must not split. */
static void put_escaped_as(line *l, const char *s, size_t keep, bool quotes)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        char esc[8];
        const char *out = esc;
        size_t len, step = 1;
        if (quotes && (*p == '"' || *p == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)*p;
            len = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else if ((step = utf8_seq(p)) == 0) {
            len = (size_t)snprintf(esc, sizeof esc, "\\ufffd");
            step = 1;
        } else {
            out = (const char *)p;
            len = step;
        }
        if (len + keep > line_room(l))
            return;
        put_raw(l, out, len);
        p += step;
    }
}

static void put_escaped(line *l, const char *s, size_t keep)
{
    put_escaped_as(l, s, keep, true);
}

static bool text_needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7f)
            return true;
    return false;
}

/* One field: ,"key":"value" (JSON) or  key=value (text), into l, which
 * holds only that field. */
static void field_str(line *l, const char *key, const char *value)
{
    if (line_format == SD_LOG_JSON) {
        put_str(l, ",\"");
        put_str(l, key);
        put_str(l, "\":\"");
        put_escaped(l, value, 0);
        put_str(l, "\"");
        return;
    }
    put_str(l, " ");
    put_str(l, key);
    put_str(l, "=");
    if (!text_needs_quotes(value)) {
        put_str(l, value);
        return;
    }
    put_str(l, "\"");
    put_escaped(l, value, 0);
    put_str(l, "\"");
}

/* A number field: ,"key":number or  key=number, likewise. */
static void field_num(line *l, const char *key, const char *number)
{
    put_str(l, line_format == SD_LOG_JSON ? ",\"" : " ");
    put_str(l, key);
    put_str(l, line_format == SD_LOG_JSON ? "\":" : "=");
    put_str(l, number);
}

/* Appends the field whole, or nothing when it does not fit. */
static void put_field(line *l, const char *key, const char *value, bool number)
{
    if (value == NULL)
        return;
    line field;
    field.n = 0;
    if (number)
        field_num(&field, key, value);
    else
        field_str(&field, key, value);
    if (line_room(&field) > 0 && field.n <= line_room(l))   /* whole, and fits */
        put_raw(l, field.text, field.n);
}

static void put_field_str(line *l, const char *key, const char *value)
{
    put_field(l, key, value, false);
}

static void put_field_num(line *l, const char *key, const char *number)
{
    put_field(l, key, number, true);
}

static void put_fields(line *l, const sd_log_fields *f)
{
    char num[32];
    put_field_str(l, "request_id", f->request_id);
    put_field_str(l, "method", f->method);
    put_field_str(l, "route", f->route);
    if (f->status > 0) {
        snprintf(num, sizeof num, "%u", f->status);
        put_field_num(l, "status", num);
    }
    if (f->timed) {
        snprintf(num, sizeof num, "%.3f", f->duration_ms >= 0 ? f->duration_ms : 0.0);
        put_field_num(l, "duration_ms", num);
    }
    put_field_str(l, "client", f->client);
    put_field_str(l, "job_id", f->job_id);
    put_field_str(l, "kind", f->kind);
    if (f->attempt > 0) {
        snprintf(num, sizeof num, "%" PRId64, f->attempt);
        put_field_num(l, "attempt", num);
    }
    put_field_str(l, "outcome", f->outcome);
}

__attribute__((format(printf, 3, 0)))
static void log_v(sd_log_level level, const sd_log_fields *f, const char *fmt, va_list ap)
{
    char msg[2048];
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        return;
    char ts[SD_TIME_LEN];
    sd_format_time(sd_now_ms(), ts);
    const char *lvl = level_names[level <= SD_LOG_ERROR ? level : SD_LOG_ERROR];

    line l;
    l.n = 0;
    if (line_format == SD_LOG_JSON) {
        put_str(&l, "{\"ts\":\"");
        put_str(&l, ts);
        put_str(&l, "\",\"level\":\"");
        put_str(&l, lvl);
        put_str(&l, "\",\"msg\":\"");
        put_escaped(&l, msg, 1);
        put_str(&l, "\"");
    } else {
        char head[64];
        snprintf(head, sizeof head, "%s %-5s ", ts, lvl);
        put_str(&l, head);
        put_escaped_as(&l, msg, 0, false);
    }
    if (f != NULL)
        put_fields(&l, f);
    /* into the LINE_TAIL bytes kept free */
    if (line_format == SD_LOG_JSON)
        l.text[l.n++] = '}';
    l.text[l.n++] = '\n';
    ssize_t w = write(STDERR_FILENO, l.text, l.n);
    (void)w; /* nowhere left to report a failed log write */
}

void sd_log(sd_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, NULL, fmt, ap);
    va_end(ap);
}

void sd_log_with(sd_log_level level, const sd_log_fields *fields, const char *fmt, ...)
{
    if (level < min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fields, fmt, ap);
    va_end(ap);
}
