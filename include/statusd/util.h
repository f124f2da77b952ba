#ifndef STATUSD_UTIL_H
#define STATUSD_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "statusd/error.h"

/* Small helpers with no knowledge of the server: clocks, time formatting,
 * ids, number parsing and a growable byte buffer. */

#define SD_UUID_LEN 36      /* canonical text form, without the NUL */
#define SD_TIME_LEN 25      /* "2026-11-22T02:00:06.123Z" plus NUL */

int64_t sd_now_ms(void);    /* wall clock, milliseconds since the epoch */
int64_t sd_mono_ms(void);   /* monotonic clock, milliseconds */
int64_t sd_mono_us(void);   /* monotonic clock, microseconds */

/* RFC 3339 UTC with milliseconds into out (SD_TIME_LEN bytes). */
void sd_format_time(int64_t epoch_ms, char out[SD_TIME_LEN]);

/* n bytes from the kernel's random source (getrandom, retried on EINTR
 * and short reads). false when it has none to give. */
bool sd_random_bytes(void *buf, size_t n);

/* A new random (v4) UUID, lower case, NUL-terminated. */
void sd_uuid_new(char out[SD_UUID_LEN + 1]);
/* True when s[0..len) is a canonical lower-case UUID (any version). */
bool sd_uuid_valid(const char *s, size_t len);

/* Whole-string decimal parse with range check. SD_ERR_INVALID on anything
 * else: empty, trailing bytes, overflow, out of [min, max]. */
sd_err sd_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Writes a one-line reason into err[0..errlen) (nothing when err is NULL
 * or errlen 0; cut to fit) and returns SD_ERR_INVALID, so a failed check
 * can end with "return sd_errf(err, errlen, ...)". The one formatter of
 * the reasons that config, address, handler and store checks give. */
sd_err sd_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The decimal text of v, without printf: written to the end of out, and
 * the offset where it starts is returned (its length is SD_I64_TEXT_LEN
 * minus that). */
#define SD_I64_TEXT_LEN 24
size_t sd_i64_text(int64_t v, char out[SD_I64_TEXT_LEN]);

/* Milliseconds to sleep, interrupted early when *stop becomes true (checked
 * every few milliseconds). Returns true when interrupted. */
/* The value of a hex digit (either case), or -1. */
int sd_hex_digit(char c);

/* The next entry of a comma-separated list at *cursor, blanks around it
 * trimmed: true with *item and *len set (len > 0) and *cursor moved past it;
 * false at the end of the list. Empty entries are skipped. */
bool sd_list_next(const char **cursor, const char **item, size_t *len);

/* True when s[0..len) is an environment variable name ([A-Za-z_][A-Za-z0-9_] repeated). */
bool sd_env_name_valid(const char *s, size_t len);

bool sd_sleep_ms_unless(int64_t ms, const volatile int *stop);

/* A condition variable whose timed waits run on CLOCK_MONOTONIC (0, or
 * the pthread error; nothing is left inited on failure), and the
 * absolute time ms from now on that clock, for pthread_cond_timedwait. */
int sd_cond_init_mono(pthread_cond_t *cond);
struct timespec sd_mono_deadline(int64_t ms);

/*
 * A growable byte buffer that stays NUL-terminated. Appends never fail
 * loudly: on allocation failure the buffer marks itself failed and ignores
 * later appends, so a sequence of appends is checked once at the end with
 * sd_buf_ok(). The owner frees data with sd_buf_free() or takes it with
 * sd_buf_steal().
 */
typedef struct sd_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} sd_buf;

#define SD_BUF_INIT {NULL, 0, 0, false}

/* Makes room for extra more bytes at once, so that a buffer whose final
 * size is known roughly grows by one allocation instead of doubling its
 * way there; a failed allocation fails the buffer, as appends do. */
void sd_buf_reserve(sd_buf *b, size_t extra);
void sd_buf_append(sd_buf *b, const void *p, size_t n);
void sd_buf_puts(sd_buf *b, const char *s);
void sd_buf_putc(sd_buf *b, char c);
void sd_buf_printf(sd_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sd_buf_reset(sd_buf *b);                 /* len = 0, keeps memory */
static inline bool sd_buf_ok(const sd_buf *b) { return !b->failed; }
void sd_buf_free(sd_buf *b);
/* The data (never NULL when ok, "" for an empty buffer); the buffer is left
 * empty. NULL when the buffer failed. The caller frees the result. */
char *sd_buf_steal(sd_buf *b, size_t *len_out);

#endif
