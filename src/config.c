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
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_keys.h"
#include "statusd/util.h"

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

/* handler_<kind>: keys of any job kind, beside the table's. */
#define HANDLER_PREFIX "handler_"

/* Names in enum order: the index is the stored value. */
static const char *const store_names[] = {"auto", "memory", "redis", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_names[] = {"text", "json", NULL};
static const char *const switch_names[] = {"off", "on", NULL};

_Static_assert(SD_STORE_AUTO == 0 && SD_STORE_MEMORY == 1 && SD_STORE_REDIS == 2,
               "store_names follows sd_store_kind");
_Static_assert(SD_LOG_DEBUG == 0 && SD_LOG_INFO == 1 && SD_LOG_WARN == 2 &&
               SD_LOG_ERROR == 3, "level_names follows sd_log_level");
_Static_assert(SD_LOG_TEXT == 0 && SD_LOG_JSON == 1, "format_names follows sd_log_format");
_Static_assert(SD_OFF == 0 && SD_ON == 1 && sizeof(sd_switch) == sizeof(int),
               "switch_names follows sd_switch");
_Static_assert(sizeof(sd_store_kind) == sizeof(int) && sizeof(sd_log_level) == sizeof(int) &&
               sizeof(sd_log_format) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(((sd_config *)0)->redis_password) <=
               sizeof(((sd_redis_target *)0)->password), "redis_password fits a target");

#define FIELD(f) #f, offsetof(sd_config, f), sizeof(((sd_config *)0)->f)
#define INT(lo, hi) KEY_INT, lo, hi, false, NULL, NULL, KEY_PLAIN
#define INT_OR_AUTO(lo, hi) KEY_INT, lo, hi, true, NULL, NULL, KEY_PLAIN
#define STR(check) KEY_STR, 0, 0, false, NULL, check, KEY_PLAIN
#define SECRET(check, how) KEY_STR, 0, 0, false, NULL, check, how
#define ENUM(names) KEY_ENUM, 0, 0, false, names, NULL, KEY_PLAIN

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
    {FIELD(max_wait), INT(0, 3600), "30",
     "seconds a long-poll may wait for a change at most", {NULL}},
    {FIELD(max_waiters), INT(0, 1000000), "4096",
     "long-polls and event streams held at once, 0 = none", {NULL}},
    /* store */
    {FIELD(store), ENUM(store_names), "auto", "auto, memory or redis", {NULL}},
    {FIELD(memory_max_bytes), INT_OR_AUTO(0, INT64_MAX), "auto",
     "bytes the memory store may hold, auto = 1/4 of RAM, 0 = no cap", {NULL}},
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
     "Redis connections every request shares, 0 = 2", {"REDIS_CONNECTION_POOL_SIZE", NULL}},
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
    {FIELD(progress_interval_ms), INT(0, 60000), "250",
     "least milliseconds between a job's progress writes, 0 = every report", {NULL}},
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
    {FIELD(ratelimit_create), INT(0, 1000000), "120",
     "new sessions, conversations a minute per client address, 0 = off", {NULL}},
    {FIELD(ipv6_prefix), INT(1, 128), "64",
     "leading bits of an IPv6 client address its limits are kept by", {NULL}},
    {FIELD(trusted_proxies), STR(config_check_cidr_list), "",
     "proxies whose X-Forwarded-For is believed: addresses, CIDR blocks", {NULL}},
    /* access */
    {FIELD(api_token), SECRET(config_check_token, KEY_SECRET), "",
     "Bearer token every mutating endpoint needs, \"\" = none", {"API_TOKEN", NULL}},
    {FIELD(admin_token), SECRET(config_check_token, KEY_SECRET), "",
     "Bearer token of the admin endpoints, \"\" = they are off", {NULL}},
    {FIELD(cors_origins), STR(config_check_origins), "",
     "allowed browser origins, or *; \"\" = no CORS headers", {NULL}},
    /* console */
    {FIELD(console), ENUM(switch_names), "on",
     "the operations console page at /console: on or off", {NULL}},
    /* logging */
    {FIELD(log_level), ENUM(level_names), "info", "debug, info, warn or error", {NULL}},
    {FIELD(log_format), ENUM(format_names), "text", "text or json", {NULL}},
    {FIELD(access_log), ENUM(switch_names), "on",
     "a log line at info for every request answered: on or off", {NULL}},
    /* the browser kit */
    {FIELD(web_ui), ENUM(switch_names), "on", "the demo page at /: on or off", {NULL}},
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

size_t config_key_index(const key_def *k)
{
    return (size_t)(k - keys);
}

void config_origin_set(sd_config *cfg, const char *key, sd_config_source source,
                       int line, const char *name)
{
    const key_def *k = config_key_find(key);
    sd_config_origin *o = k != NULL ? &cfg->origin[config_key_index(k)] : NULL;
    for (size_t i = 0; o == NULL && i < cfg->kind_count; i++)
        if (strncmp(key, HANDLER_PREFIX, sizeof HANDLER_PREFIX - 1) == 0 &&
            strcmp(cfg->kinds[i].kind, key + sizeof HANDLER_PREFIX - 1) == 0)
            o = &cfg->kinds[i].origin;
    if (o == NULL)
        return;
    o->source = source;
    o->line = line;
    snprintf(o->name, sizeof o->name, "%s", name != NULL ? name : "");
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
        int64_t v = SD_CONFIG_AUTO;
        if (!(k->takes_auto && strcmp(value, "auto") == 0) &&
            sd_parse_i64(value, k->min, k->max, &v) != SD_OK) {
            sd_errf(err, errlen,
                        "%s: expected %san integer in %" PRId64 "..%" PRId64 ", got '%s'",
                        k->name, k->takes_auto ? "auto or " : "", k->min, k->max,
                        config_excerpt(value, ex));
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
        sd_errf(err, errlen, "%s: expected one of %s, got '%s'", k->name, names,
                    config_excerpt(value, ex));
        return SD_ERR_INVALID;
    }
    size_t len = strlen(value);
    if (len >= k->size) {
        sd_errf(err, errlen, "%s: value is %zu bytes, longer than the limit of %zu",
                    k->name, len, k->size - 1);
        return SD_ERR_INVALID;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f) {
            sd_errf(err, errlen, "%s: value contains a control character at byte %zu",
                        k->name, i + 1);
            return SD_ERR_INVALID;
        }
    }
    if (k->check != NULL && k->check(value, why, sizeof why) != SD_OK) {
        sd_errf(err, errlen, "%s: %s", k->name, why);
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
        if (k->takes_auto && v == SD_CONFIG_AUTO)
            sd_buf_puts(out, "auto");
        else
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

bool sd_kind_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SD_KIND_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/*
 * handler_<kind> for a kind of the app's own: checked as handler_research
 * is (the same table entry, pointed at the kind's slot), then kept in
 * cfg->kinds, replacing an earlier value of the same kind.
 */
static sd_err kind_handler_set(sd_config *cfg, const char *key, const char *value,
                               char *err, size_t errlen)
{
    const char *kind = key + sizeof HANDLER_PREFIX - 1;
    char ex[CONFIG_EXCERPT_LEN];
    if (!sd_kind_name_valid(kind, strlen(kind)))
        return sd_errf(err, errlen, "%s: unknown key (a job kind is [a-z][a-z0-9_-] "
                           "of at most %d characters)", config_excerpt(key, ex), SD_KIND_MAX);
    size_t slot = 0;
    while (slot < cfg->kind_count && strcmp(cfg->kinds[slot].kind, kind) != 0)
        slot++;
    if (slot == SD_KINDS_MAX)
        return sd_errf(err, errlen, "%s: at most %d handler_<kind> keys besides "
                           "handler_research and handler_upload", key, SD_KINDS_MAX);
    const key_def *model = config_key_find("handler_research");
    if (model == NULL)
        return sd_errf(err, errlen, "%s: no handler_research key to check it by", key);
    key_def k = *model;
    k.name = key;
    k.offset = offsetof(sd_config, kinds) + slot * sizeof cfg->kinds[0] +
               offsetof(sd_kind_handler, spec);
    sd_err rc = config_key_set(&k, cfg, value, err, errlen);
    if (rc != SD_OK)
        return rc;
    if (slot == cfg->kind_count) {
        snprintf(cfg->kinds[slot].kind, sizeof cfg->kinds[slot].kind, "%s", kind);
        cfg->kind_count++;
    }
    return SD_OK;
}

sd_err sd_config_set(sd_config *cfg, const char *key, const char *value,
                     char *err, size_t errlen)
{
    const key_def *k = config_key_find(key);
    if (k == NULL && strncmp(key, HANDLER_PREFIX, sizeof HANDLER_PREFIX - 1) == 0)
        return kind_handler_set(cfg, key, value, err, errlen);
    if (k == NULL) {
        char ex[CONFIG_EXCERPT_LEN];
        sd_errf(err, errlen, "%s: unknown key", config_excerpt(key, ex));
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

/* Appends where the value came from, as a comment ending the line. */
static void origin_format(const sd_config_origin *o, sd_buf *out)
{
    switch (o->source) {
    case SD_SOURCE_DEFAULT:
        sd_buf_puts(out, "# default");
        return;
    case SD_SOURCE_FILE:
        sd_buf_printf(out, "# file, line %d", o->line);
        return;
    case SD_SOURCE_ENV:
        sd_buf_printf(out, "# environment %s", o->name);
        return;
    case SD_SOURCE_FLAG:
        sd_buf_printf(out, "# flag %s", o->name);
        return;
    }
    sd_buf_puts(out, "# ?");
}

#define REPORT_COMMENT_COLUMN 40

static void config_write(const sd_config *cfg, bool origins, int fd)
{
    sd_buf b = SD_BUF_INIT;
    if (origins) {
        if (cfg->config_path[0] == '\0') {
            sd_buf_puts(&b, "# config file: none (built-in defaults, environment, flags)\n");
        } else {
            char *abs = cfg->config_path[0] != '/' ? realpath(cfg->config_path, NULL) : NULL;
            sd_buf_printf(&b, "# config file: %s", cfg->config_path);
            if (abs != NULL)
                sd_buf_printf(&b, " (%s)", abs);
            sd_buf_putc(&b, '\n');
            free(abs);
        }
    }
    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t start = b.len;
        sd_buf_printf(&b, "%s = ", keys[i].name);
        key_format(&keys[i], cfg, &b);
        if (origins) {
            size_t width = b.len - start;
            do
                sd_buf_putc(&b, ' ');
            while (++width < REPORT_COMMENT_COLUMN);
            origin_format(&cfg->origin[i], &b);
        }
        sd_buf_putc(&b, '\n');
    }
    for (size_t i = 0; i < cfg->kind_count; i++) {
        size_t start = b.len;
        sd_buf_printf(&b, "%s%s = ", HANDLER_PREFIX, cfg->kinds[i].kind);
        str_format(cfg->kinds[i].spec, strlen(cfg->kinds[i].spec), &b);
        if (origins) {
            size_t width = b.len - start;
            do
                sd_buf_putc(&b, ' ');
            while (++width < REPORT_COMMENT_COLUMN);
            origin_format(&cfg->kinds[i].origin, &b);
        }
        sd_buf_putc(&b, '\n');
    }
    config_buf_write(&b, fd);
    sd_buf_free(&b);
}

void sd_config_print(const sd_config *cfg, int fd)
{
    config_write(cfg, false, fd);
}

void sd_config_report(const sd_config *cfg, int fd)
{
    config_write(cfg, true, fd);
}
