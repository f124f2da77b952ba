#ifndef STATUSD_LOG_H
#define STATUSD_LOG_H

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

void sd_log_setup(sd_log_level level, sd_log_format format);
int sd_log_enabled(sd_log_level level);
void sd_log(sd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sd_debug(...) \
    do { if (sd_log_enabled(SD_LOG_DEBUG)) sd_log(SD_LOG_DEBUG, __VA_ARGS__); } while (0)
#define sd_info(...)  sd_log(SD_LOG_INFO, __VA_ARGS__)
#define sd_warn(...)  sd_log(SD_LOG_WARN, __VA_ARGS__)
#define sd_error(...) sd_log(SD_LOG_ERROR, __VA_ARGS__)

#endif
