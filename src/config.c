/*
 * Configuration: the keys, their values and how they are printed.
 *
 * The keys[] table below is the single list of keys. Defaults are the
 * table's default texts run through the same parser as the file, so the
 * code, config/statusd.conf (whose test loads it and compares) and --help
 * cannot drift apart. The file, the environment and the command line are
 * config_cli.c's, the checks on string values (and the Redis URL parser)
 * config_check.c's; the three share config_keys.h.
 *
 * Secrets (redis_password, the password in redis_url, api_token,
 * admin_token) are never printed and never quoted in an error message.
 */
#include "statusd/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_keys.h"
#include "statusd/util.h"

/* ---- messages ---- */

sd_err config_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return SD_ERR_INVALID;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SD_ERR_INVALID;
}

const char *config_excerpt(const char *value, char out[CONFIG_EXCERPT_LEN])
{
    size_t n = 0;
    for (; value[n] != '\0' && n < 60; n++) {
        unsigned char c = (unsigned char)value[n];
        out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    strcpy(out + n, value[n] != '\0' ? "..." : "");
    return out;
}

/* ---- the keys ---- */

/* Names in enum order: the index is the stored value. */
static const char *const store_names[] = {"auto", "memory", "redis", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_names[] = {"text", "json", NULL};

_Static_assert(SD_STORE_AUTO == 0 && SD_STORE_MEMORY == 1 && SD_STORE_REDIS == 2,
               "store_names follows sd_store_kind");
_Static_assert(SD_LOG_DEBUG == 0 && SD_LOG_INFO == 1 && SD_LOG_WARN == 2 &&
               SD_LOG_ERROR == 3, "level_names follows sd_log_level");
_Static_assert(SD_LOG_TEXT == 0 && SD_LOG_JSON == 1, "format_names follows sd_log_format");
_Static_assert(sizeof(sd_store_kind) == sizeof(int) && sizeof(sd_log_level) == sizeof(int) &&
               sizeof(sd_log_format) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(((sd_config *)0)->redis_password) <=
               sizeof(((sd_redis_target *)0)->password), "redis_password fits a target");

#define FIELD(f) #f, offsetof(sd_config, f), sizeof(((sd_config *)0)->f)
#define INT(lo, hi) KEY_INT, lo, hi, NULL, NULL, KEY_PLAIN
#define STR(check) KEY_STR, 0, 0, NULL, check, KEY_PLAIN
#define SECRET(check, how) KEY_STR, 0, 0, NULL, check, how
#define ENUM(names) KEY_ENUM, 0, 0, names, NULL, KEY_PLAIN

static const key_def keys[] = {
    /* HTTP */
    {FIELD(bind), STR(config_check_ip), "0.0.0.0",
     "listen address, numeric IPv4 or IPv6", {NULL}},
    {FIELD(port), INT(1, 65535), "8080", "TCP port to listen on", {"PORT", NULL}},
    {FIELD(threads), INT(1, 256), "4", "HTTP threads", {NULL}},
    {FIELD(max_connections), INT(1, 100000), "1024",
     "open connections accepted at once", {NULL}},
    {FIELD(connection_timeout), INT(1, 3600), "30",
     "seconds a connection may stay idle", {NULL}},
    {FIELD(header_timeout), INT(1, 3600), "10",
     "seconds a request's headers may take to arrive, however slowly", {NULL}},
    {FIELD(body_timeout), INT(1, 3600), "60",
     "seconds a request's body may take to arrive after its headers", {NULL}},
    {FIELD(per_ip_connection_limit), INT(0, 100000), "64",
     "connections per client address, 0 = off", {NULL}},
    {FIELD(connection_memory_limit), INT(16384, 16777216), "32768",
     "bytes of buffer per connection", {NULL}},
    {FIELD(max_body), INT(1024, 16777216), "65536", "largest request body, bytes", {NULL}},
    /* store */
    {FIELD(store), ENUM(store_names), "auto", "auto, memory or redis", {NULL}},
    /* Redis */
    {FIELD(redis_url), SECRET(config_check_redis_url, KEY_SECRET_URL), "",
     "redis://[[user]:password@]host[:port][/db]", {"REDIS_URL", NULL}},
    {FIELD(redis_host), STR(config_check_redis_host), "",
     "Redis host, when redis_url is empty", {"REDIS_HOST", NULL}},
    {FIELD(redis_port), INT(1, 65535), "6379",
     "Redis port, when redis_url is empty", {"REDIS_PORT", NULL}},
    {FIELD(redis_db), INT(0, 255), "0",
     "Redis database, when redis_url is empty", {"REDIS_DB", NULL}},
    {FIELD(redis_password), SECRET(NULL, KEY_SECRET), "",
     "Redis password, also for a redis_url without one", {"REDIS_PASSWORD", NULL}},
    {FIELD(redis_timeout_ms), INT(10, 60000), "500",
     "milliseconds to connect or run a command", {NULL}},
    {FIELD(redis_pool_size), INT(0, 10000), "0",
     "most Redis connections, 0 = one per thread", {"REDIS_CONNECTION_POOL_SIZE", NULL}},
    {FIELD(key_prefix), STR(config_check_key_prefix), "statusd:",
     "prefix of every Redis key, [A-Za-z0-9:._-]", {NULL}},
    /* jobs */
    {FIELD(workers), INT(0, 1024), "4", "worker threads, 0 = API only", {NULL}},
    {FIELD(queue_capacity), INT(1, 1000000), "1024", "jobs waiting at most", {NULL}},
    {FIELD(job_ttl), INT(1, 2592000), "3600",
     "seconds kept after the last update or poll", {NULL}},
    {FIELD(job_max_age), INT(1, 31536000), "86400",
     "seconds kept at most after creation", {NULL}},
    {FIELD(job_timeout), INT(1, 86400), "300", "seconds a job may run", {NULL}},
    {FIELD(job_lease), INT(1, 3600), "30",
     "seconds a running job's lease lasts without renewal", {NULL}},
    {FIELD(max_attempts), INT(1, 100), "3", "runs of a job at most, retries included", {NULL}},
    {FIELD(retry_backoff_ms), INT(0, 3600000), "1000",
     "milliseconds before the first retry, doubling", {NULL}},
    {FIELD(retry_backoff_max_ms), INT(0, 3600000), "60000",
     "milliseconds between retries at most", {NULL}},
    {FIELD(job_kill_grace), INT(0, 60000), "2000",
     "milliseconds between SIGTERM and SIGKILL", {NULL}},
    {FIELD(drain_timeout), INT(0, 3600), "30",
     "seconds running jobs get to finish at shutdown", {NULL}},
    {FIELD(demo_step_ms), INT(0, 60000), "300",
     "milliseconds between the demo handler's stages", {NULL}},
    {FIELD(handler_research), STR(config_check_nonempty), "builtin:demo",
     "builtin:demo or exec:/path [args]", {NULL}},
    {FIELD(handler_upload), STR(config_check_nonempty), "builtin:demo",
     "handler of upload fields: builtin:demo or exec:/path [args]", {NULL}},
    {FIELD(handler_env), STR(config_check_env_names), "",
     "environment variables passed on to exec handlers, comma-separated names", {NULL}},
    /* sessions and conversations */
    {FIELD(session_ttl), INT(1, 2592000), "3600",
     "seconds a session lives after its last read or write", {"SESSION_EXPIRE_TIME", NULL}},
    {FIELD(conversation_ttl), INT(1, 2592000), "3600",
     "seconds a conversation lives after its last append or read", {NULL}},
    {FIELD(conversation_max_messages), INT(1, 10000), "50",
     "newest messages kept per conversation", {NULL}},
    /* rate limits */
    {FIELD(ratelimit_chat), INT(0, 1000000), "20",
     "POST /chat a minute per user_id, 0 = off", {NULL}},
    {FIELD(ratelimit_submit), INT(0, 1000000), "60",
     "POST /research, /uploads a minute per client address, 0 = off", {NULL}},
    {FIELD(trusted_proxies), STR(config_check_cidr_list), "",
     "proxies whose X-Forwarded-For is believed: addresses, CIDR blocks", {NULL}},
    /* access */
    {FIELD(api_token), SECRET(config_check_token, KEY_SECRET), "",
     "Bearer token every mutating endpoint needs, \"\" = none", {"API_TOKEN", NULL}},
    {FIELD(admin_token), SECRET(config_check_token, KEY_SECRET), "",
     "Bearer token of the admin endpoints, \"\" = they are off", {NULL}},
    {FIELD(cors_origins), STR(config_check_origins), "",
     "allowed browser origins, or *; \"\" = no CORS headers", {NULL}},
    /* logging */
    {FIELD(log_level), ENUM(level_names), "info", "debug, info, warn or error", {NULL}},
    {FIELD(log_format), ENUM(format_names), "text", "text or json", {NULL}},
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])
_Static_assert(KEY_COUNT <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

/* ---- one key ---- */

size_t config_key_count(void)
{
    return KEY_COUNT;
}

const key_def *config_key_at(size_t i)
{
    return i < KEY_COUNT ? &keys[i] : NULL;
}

const key_def *config_key_find(const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static void choices_join(const char *const *names, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", i ? "|" : "", names[i]);
    }
}

sd_err config_key_set(const key_def *k, sd_config *cfg, const char *value,
                      char *err, size_t errlen)
{
    char *field = (char *)cfg + k->offset;
    char why[CONFIG_WHY_LEN];
    char ex[CONFIG_EXCERPT_LEN];

    if (k->type == KEY_INT) {
        int64_t v;
        if (sd_parse_i64(value, k->min, k->max, &v) != SD_OK) {
            config_errf(err, errlen,
                        "%s: expected an integer in %" PRId64 "..%" PRId64 ", got '%s'",
                        k->name, k->min, k->max, config_excerpt(value, ex));
            return SD_ERR_INVALID;
        }
        memcpy(field, &v, sizeof v);
        return SD_OK;
    }
    if (k->type == KEY_ENUM) {
        for (int i = 0; k->choices[i] != NULL; i++) {
            if (strcmp(k->choices[i], value) == 0) {
                memcpy(field, &i, sizeof i);
                return SD_OK;
            }
        }
        char names[128];
        choices_join(k->choices, names, sizeof names);
        config_errf(err, errlen, "%s: expected one of %s, got '%s'", k->name, names,
                    config_excerpt(value, ex));
        return SD_ERR_INVALID;
    }
    size_t len = strlen(value);
    if (len >= k->size) {
        config_errf(err, errlen, "%s: value is %zu bytes, longer than the limit of %zu",
                    k->name, len, k->size - 1);
        return SD_ERR_INVALID;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f) {
            config_errf(err, errlen, "%s: value contains a control character at byte %zu",
                        k->name, i + 1);
            return SD_ERR_INVALID;
        }
    }
    if (k->check != NULL && k->check(value, why, sizeof why) != SD_OK) {
        config_errf(err, errlen, "%s: %s", k->name, why);
        return SD_ERR_INVALID;
    }
    /* Clear the whole field so equal configs compare equal bytewise. */
    memset(field, 0, k->size);
    memcpy(field, value, len);
    return SD_OK;
}

/* Appends s[0..len) in file syntax, quoted when the file would otherwise
 * read it differently. */
static void str_format(const char *s, size_t len, sd_buf *out)
{
    bool quote = len == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '"' ||
                 s[len - 1] == ' ' || s[len - 1] == '\t' || memchr(s, '#', len) != NULL;
    if (!quote) {
        sd_buf_append(out, s, len);
        return;
    }
    sd_buf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            sd_buf_putc(out, '\\');
        sd_buf_putc(out, s[i]);
    }
    sd_buf_putc(out, '"');
}

/* Appends k's current value in file syntax, a secret masked. */
static void key_format(const key_def *k, const sd_config *cfg, sd_buf *out)
{
    const char *field = (const char *)cfg + k->offset;
    if (k->type == KEY_INT) {
        int64_t v;
        memcpy(&v, field, sizeof v);
        sd_buf_printf(out, "%" PRId64, v);
        return;
    }
    if (k->type == KEY_ENUM) {
        int v;
        memcpy(&v, field, sizeof v);
        int n = 0;
        while (k->choices[n] != NULL)
            n++;
        sd_buf_puts(out, v >= 0 && v < n ? k->choices[v] : "?");
        return;
    }
    size_t len = strnlen(field, k->size);
    if (k->secret == KEY_SECRET && len > 0) {
        sd_buf_puts(out, "***");
    } else if (k->secret == KEY_SECRET_URL) {
        char masked[SD_CONFIG_STR + 8];
        char url[SD_CONFIG_STR];
        snprintf(url, sizeof url, "%.*s", (int)len, field);
        config_url_mask(url, masked, sizeof masked);
        str_format(masked, strlen(masked), out);
        explicit_bzero(url, sizeof url);
    } else {
        str_format(field, len, out);
    }
}

void sd_config_defaults(sd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        /* A default the parser rejects is a broken table; the unit tests
         * load every default, so this cannot pass them. */
        if (config_key_set(&keys[i], cfg, keys[i].def, NULL, 0) != SD_OK)
            abort();
    }
}

sd_err sd_config_set(sd_config *cfg, const char *key, const char *value,
                     char *err, size_t errlen)
{
    const key_def *k = config_key_find(key);
    if (k == NULL) {
        char ex[CONFIG_EXCERPT_LEN];
        config_errf(err, errlen, "%s: unknown key", config_excerpt(key, ex));
        return SD_ERR_NOT_FOUND;
    }
    return config_key_set(k, cfg, value, err, errlen);
}

/* ---- output ---- */

void config_buf_write(const sd_buf *b, int fd)
{
    if (!sd_buf_ok(b) || b->data == NULL)
        return;
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

void sd_config_print(const sd_config *cfg, int fd)
{
    sd_buf b = SD_BUF_INIT;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        sd_buf_printf(&b, "%s = ", keys[i].name);
        key_format(&keys[i], cfg, &b);
        sd_buf_putc(&b, '\n');
    }
    config_buf_write(&b, fd);
    sd_buf_free(&b);
}
