#ifndef STATUSD_LOG_H
#define STATUSD_LOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Levelled log lines on stderr, as text or one JSON object a line. Each line
 * is written with a single write(2), so lines from threads never interleave.
 * Safe to call from any thread; never from a signal handler.
 */

typedef enum sd_log_level {
    SD_LOG_DEBUG = 0,
    SD_LOG_INFO,
    SD_LOG_WARN,
    SD_LOG_ERROR
} sd_log_level;

typedef enum sd_log_format {
    SD_LOG_TEXT = 0,
    SD_LOG_JSON
} sd_log_format;

/*
 * The fields a line carries beside ts, level and msg, each only when set:
 * a string when not NULL, status and attempt when above 0, duration_ms
 * when timed. In JSON each is a member of the line's object (status,
 * attempt and duration_ms numbers, the rest strings); in text they follow
 * the message as key=value, in this order, a value with a blank, a quote,
 * '=' or a control character in double quotes, escaped as in JSON.
 */
typedef struct sd_log_fields {
    const char *request_id;
    const char *method;
    const char *route;         /* the route's pattern, "/status/:id" */
    unsigned status;
    bool timed;
    double duration_ms;
    const char *client;
    const char *job_id;
    const char *kind;
    int64_t attempt;
    const char *outcome;
} sd_log_fields;

void sd_log_setup(sd_log_level level, sd_log_format format);
int sd_log_enabled(sd_log_level level);
void sd_log(sd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* sd_log with fields (NULL: none). */
void sd_log_with(sd_log_level level, const sd_log_fields *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sd_debug(...) \
    do { if (sd_log_enabled(SD_LOG_DEBUG)) sd_log(SD_LOG_DEBUG, __VA_ARGS__); } while (0)
#define sd_info(...)  sd_log(SD_LOG_INFO, __VA_ARGS__)
#define sd_warn(...)  sd_log(SD_LOG_WARN, __VA_ARGS__)
#define sd_error(...) sd_log(SD_LOG_ERROR, __VA_ARGS__)

#endif
