/* Clocks, time formatting, ids, number parsing and the growable buffer. */
#include "statusd/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <uuid/uuid.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sd_now_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t sd_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

int64_t sd_mono_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put_digits(char *dst, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* The proleptic Gregorian date of a day count since 1970-01-01 (days >= 0),
 * by the era arithmetic of Howard Hinnant's civil_from_days: gmtime_r
 * takes glibc's time-zone lock on every call, which every HTTP thread
 * formatting a job view (three times each) would contend for. */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                    /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);         /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                              /* [0, 11] */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

void sd_format_time(int64_t epoch_ms, char out[SD_TIME_LEN])
{
    static const char zero[SD_TIME_LEN] = "1970-01-01T00:00:00.000Z";
    memcpy(out, zero, SD_TIME_LEN);
    if (epoch_ms < 0)
        return;
    int64_t secs = epoch_ms / 1000;
    int64_t year;
    unsigned month, day;
    civil_from_days(secs / 86400, &year, &month, &day);
    if (year > 9999)
        return;
    unsigned in_day = (unsigned)(secs % 86400);
    put_digits(out, (unsigned)year, 4);
    put_digits(out + 5, month, 2);
    put_digits(out + 8, day, 2);
    put_digits(out + 11, in_day / 3600, 2);
    put_digits(out + 14, in_day / 60 % 60, 2);
    put_digits(out + 17, in_day % 60, 2);
    put_digits(out + 20, (unsigned)(epoch_ms % 1000), 3);
}

bool sd_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* 128 random bits from one getrandom call (libuuid's random generator
 * makes five more per id to reseed its fallback), marked as version 4,
 * variant 1; libuuid only when the kernel has none to give. */
void sd_uuid_new(char out[SD_UUID_LEN + 1])
{
    uuid_t u;
    if (sd_random_bytes(u, sizeof u)) {
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    } else {
        uuid_generate_random(u);
    }
    uuid_unparse_lower(u, out);
}

bool sd_uuid_valid(const char *s, size_t len)
{
    if (s == NULL || len != SD_UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

sd_err sd_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return SD_ERR_INVALID;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    return SD_ERR_INVALID;
}

size_t sd_i64_text(int64_t v, char out[SD_I64_TEXT_LEN])
{
    size_t i = SD_I64_TEXT_LEN;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        out[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        out[--i] = '-';
    return i;
}

/* What strtoll in base 10 accepts once the first byte is '-' or a digit
 * (no space, no '+'), without its locale lookups: the whole string must
 * be an optional '-' and one or more digits, within int64. */
sd_err sd_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL)
        return SD_ERR_INVALID;
    const char *p = s;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (*p < '0' || *p > '9')
        return SD_ERR_INVALID;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        /* Below SAFE, acc * 10 + 9 cannot pass INT64_MAX: the division of
         * the exact check runs only for the last digits of huge values. */
        const uint64_t SAFE = (uint64_t)INT64_MAX / 10 - 1;
        if (acc > SAFE && acc > (limit - d) / 10)
            return SD_ERR_INVALID;
        acc = acc * 10 + d;
    }
    if (*p != '\0')
        return SD_ERR_INVALID;
    int64_t v = !neg ? (int64_t)acc
                : acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    if (v < min || v > max)
        return SD_ERR_INVALID;
    *out = v;
    return SD_OK;
}

bool sd_sleep_ms_unless(int64_t ms, const volatile int *stop)
{
    int64_t end = sd_mono_ms() + ms;
    for (;;) {
        if (stop != NULL && *stop)
            return true;
        int64_t left = end - sd_mono_ms();
        if (left <= 0)
            return false;
        int64_t step = left < 5 ? left : 5;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- sd_buf ---- */

static bool buf_reserve(sd_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sd_buf_reserve(sd_buf *b, size_t extra) { (void)buf_reserve(b, extra); }

void sd_buf_append(sd_buf *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sd_buf_puts(sd_buf *b, const char *s) { sd_buf_append(b, s, strlen(s)); }

void sd_buf_putc(sd_buf *b, char c) { sd_buf_append(b, &c, 1); }

void sd_buf_printf(sd_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        sd_buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sd_buf_reset(sd_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sd_buf_free(sd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

char *sd_buf_steal(sd_buf *b, size_t *len_out)
{
    if (b->failed) {
        sd_buf_free(b);
        return NULL;
    }
    if (b->data == NULL && !buf_reserve(b, 0)) {
        sd_buf_free(b);
        return NULL;
    }
    char *p = b->data;
    if (b->len == 0)
        p[0] = '\0';
    if (len_out != NULL)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

bool sd_list_next(const char **cursor, const char **item, size_t *len)
{
    const char *p = *cursor;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0') {
            *cursor = p;
            return false;
        }
        const char *end = p;
        while (*end != '\0' && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if (last > p) {
            *item = p;
            *len = (size_t)(last - p);
            *cursor = end;
            return true;
        }
        p = end;
    }
}

bool sd_env_name_valid(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

int sd_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sd_cond_init_mono(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

struct timespec sd_mono_deadline(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
