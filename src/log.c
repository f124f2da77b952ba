/*
 * Log lines on stderr. A line is formatted into a stack buffer and written
 * with one write(2), so lines from many threads never interleave. The level
 * and format are set once at start-up, before threads exist.
 */
#include "statusd/log.h"

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

/* Appends msg as the body of a JSON string (without quotes), escaped. */
static size_t json_escape(char *dst, size_t cap, const char *msg)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && n + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    return n;
}

void sd_log(sd_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int mlen = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (mlen < 0)
        return;

    char ts[SD_TIME_LEN];
    sd_format_time(sd_now_ms(), ts);
    const char *lvl = level_names[level <= SD_LOG_ERROR ? level : SD_LOG_ERROR];

    char line[4608];
    size_t n;
    if (line_format == SD_LOG_JSON) {
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, lvl);
        n += json_escape(line + n, sizeof line - n - 4, msg);
        memcpy(line + n, "\"}\n", 3);
        n += 3;
    } else {
        int k = snprintf(line, sizeof line, "%s %-5s %s\n", ts, lvl, msg);
        n = k < 0 ? 0 : (size_t)k;
        if (n >= sizeof line) {
            n = sizeof line - 1;
            line[n - 1] = '\n';
        }
    }
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere left to report a failed log write */
}
