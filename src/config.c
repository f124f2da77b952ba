/*
 * Configuration: the keys, their values and how they are printed.
 *
 * The keys[] table below is the single list of keys. Defaults are the
 * table's default texts run through the same parser as the file, so the
 * code, config/statusd.conf (whose test loads it and compares) and --help
 * cannot drift apart. The file, the environment and the command line are
 * config_cli.c's; both halves share config_keys.h.
 *
 * Secrets (redis_password, the password in redis_url) are never printed
 * and never quoted in an error message.
 */
#include "statusd/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_keys.h"
#include "statusd/util.h"

#define URL_SCHEME "redis://"
#define URL_FORM "redis://[[user]:password@]host[:port][/db]"

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

/* A byte for a message: "'*'", or "byte 0xc3" when it is not printable ASCII. */
static const char *byte_show(char c, char out[16])
{
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", u);
    return out;
}

/* ---- checks on string values ---- */

static sd_err check_ip(const char *value, char *why, size_t whylen)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, value, addr) == 1 || inet_pton(AF_INET6, value, addr) == 1)
        return SD_OK;
    char ex[CONFIG_EXCERPT_LEN];
    return config_errf(why, whylen, "expected a numeric IPv4 or IPv6 address, got '%s'",
                       config_excerpt(value, ex));
}

static sd_err check_nonempty(const char *value, char *why, size_t whylen)
{
    return value[0] != '\0' ? SD_OK : config_errf(why, whylen, "must not be empty");
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A host name or IPv4 address, s[0..len): [A-Za-z0-9._-], not empty. */
static sd_err host_name_check(const char *s, size_t len, char *why, size_t whylen)
{
    char b[16];
    if (len == 0)
        return config_errf(why, whylen, "empty host");
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
            return config_errf(why, whylen,
                               "host contains %s; expected a host name or an IP address",
                               byte_show(s[i], b));
    return SD_OK;
}

static sd_err check_redis_host(const char *value, char *why, size_t whylen)
{
    unsigned char addr[16];
    char ex[CONFIG_EXCERPT_LEN];
    if (value[0] == '\0')
        return SD_OK;
    if (strchr(value, ':') == NULL)
        return host_name_check(value, strlen(value), why, whylen);
    if (inet_pton(AF_INET6, value, addr) == 1)
        return SD_OK;
    return config_errf(why, whylen, "'%s' is not an IPv6 address (written without "
                       "brackets here)", config_excerpt(value, ex));
}

static sd_err check_redis_url(const char *value, char *why, size_t whylen)
{
    if (value[0] == '\0')
        return SD_OK;
    sd_redis_target t;
    sd_err rc = sd_redis_url_parse(value, &t, why, whylen);
    explicit_bzero(&t, sizeof t);
    return rc;
}

/* Only characters that mean nothing to SCAN MATCH's glob syntax. */
static sd_err check_key_prefix(const char *value, char *why, size_t whylen)
{
    char b[16];
    if (value[0] == '\0')
        return config_errf(why, whylen, "must not be empty");
    for (size_t i = 0; value[i] != '\0'; i++) {
        char c = value[i];
        if (!is_alnum(c) && c != ':' && c != '.' && c != '_' && c != '-')
            return config_errf(why, whylen,
                               "%s at byte %zu is not allowed: use A-Z a-z 0-9 : . _ - "
                               "(glob characters such as * ? [ would break SCAN MATCH)",
                               byte_show(c, b), i + 1);
    }
    return SD_OK;
}

/* ---- Redis URLs ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out (outlen bytes, NUL-terminated). what
 * names the part in messages, which never quote it: it may be a password. */
static sd_err url_decode(const char *s, size_t len, char *out, size_t outlen,
                         const char *what, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = len - i >= 3 ? hex_digit(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
            if (lo < 0)
                return config_errf(err, errlen, "%s: '%%' must be followed by two hex "
                                   "digits (write %%25 for '%%')", what);
            c = hi * 16 + lo;
            i += 2;
            if (c == 0)
                return config_errf(err, errlen, "%s: %%00 is not allowed", what);
        }
        if (n + 1 >= outlen)
            return config_errf(err, errlen, "%s is longer than %zu bytes", what,
                               outlen - 1);
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return SD_OK;
}

/* Takes "[user]:password@" off the front of the authority [*auth, end),
 * splitting at its last '@'; moves *auth to the host. */
static sd_err url_userinfo(const char **auth, const char *end, sd_redis_target *t,
                           char *err, size_t errlen)
{
    const char *at = NULL;
    for (const char *p = *auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL && strchr(end, '@') != NULL)
        return config_errf(err, errlen, "'@' after the host: percent-encode '@' and '/' "
                           "in the user name and password (%%40, %%2F)");
    if (at == NULL)
        return SD_OK;
    const char *colon = memchr(*auth, ':', (size_t)(at - *auth));
    if (colon == NULL)
        return config_errf(err, errlen, "expected ':' before the password "
                           "(user:password@host or :password@host)");
    if (url_decode(*auth, (size_t)(colon - *auth), t->username, sizeof t->username,
                   "user name", err, errlen) != SD_OK ||
        url_decode(colon + 1, (size_t)(at - colon - 1), t->password, sizeof t->password,
                   "password", err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    *auth = at + 1;
    return SD_OK;
}

/* Parses host[:port] in [host, end): a name, an IPv4 address or an IPv6
 * address in brackets. */
static sd_err url_host_port(const char *host, const char *end, sd_redis_target *t,
                            char *err, size_t errlen)
{
    char ex[CONFIG_EXCERPT_LEN];
    bool v6 = host[0] == '[';
    const char *after = memchr(host, v6 ? ']' : ':', (size_t)(end - host));
    if (v6 && after == NULL)
        return config_errf(err, errlen, "'[' without a closing ']' around the IPv6 host");
    if (after == NULL)
        after = end;
    else if (!v6 && memchr(after + 1, ':', (size_t)(end - after - 1)) != NULL)
        return config_errf(err, errlen, "an IPv6 host must be in brackets ([::1])");
    size_t len = (size_t)(after - host) - (v6 ? 1 : 0);
    if (!v6 && host_name_check(host, len, err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    if (len == 0)
        return config_errf(err, errlen, "empty host");
    if (len >= sizeof t->host)
        return config_errf(err, errlen, "host is longer than %zu bytes",
                           sizeof t->host - 1);
    memcpy(t->host, host + (v6 ? 1 : 0), len);
    t->host[len] = '\0';
    unsigned char addr[16];
    if (v6 && inet_pton(AF_INET6, t->host, addr) != 1)
        return config_errf(err, errlen, "'[%s]' is not an IPv6 address",
                           config_excerpt(t->host, ex));
    after += v6 ? 1 : 0;
    if (after == end)
        return SD_OK;
    if (*after != ':')
        return config_errf(err, errlen, "unexpected %s after the IPv6 host",
                           byte_show(*after, ex));
    char port[64];
    int64_t v;
    size_t plen = (size_t)(end - after - 1);
    snprintf(port, sizeof port, "%.*s", (int)(plen < sizeof port ? plen : sizeof port - 1),
             after + 1);
    if (plen >= sizeof port || sd_parse_i64(port, 1, 65535, &v) != SD_OK)
        return config_errf(err, errlen, "port: expected an integer in 1..65535, got '%s'",
                           config_excerpt(port, ex));
    t->port = (int)v;
    return SD_OK;
}

/* Parses the path: "", "/" or "/<db>". */
static sd_err url_db(const char *path, sd_redis_target *t, char *err, size_t errlen)
{
    if (path[0] == '\0' || path[1] == '\0')
        return SD_OK;
    const char *db = path + 1;
    size_t digits = strspn(db, "0123456789");
    char ex[CONFIG_EXCERPT_LEN];
    int64_t v;
    if (digits > 0 && db[digits] != '\0')
        return config_errf(err, errlen, "unexpected text '%s' after the db number",
                           config_excerpt(db + digits, ex));
    if (sd_parse_i64(db, 0, 255, &v) != SD_OK)
        return config_errf(err, errlen, "db: expected an integer in 0..255, got '%s'",
                           config_excerpt(db, ex));
    t->db = (int)v;
    return SD_OK;
}

static sd_err url_parse(const char *url, sd_redis_target *t, char *err, size_t errlen)
{
    for (size_t i = 0; url[i] != '\0'; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f)
            return config_errf(err, errlen, "contains %s at byte %zu (percent-encode it)",
                               c == ' ' ? "a space" : "a control character", i + 1);
    }
    if (strncasecmp(url, "rediss://", 9) == 0)
        return config_errf(err, errlen, "TLS (rediss://) is not supported; use redis://");
    if (strncasecmp(url, URL_SCHEME, strlen(URL_SCHEME)) != 0) {
        /* The scheme is quoted only when it is one: never a password. */
        size_t slen = strcspn(url, ":/@");
        if (slen > 0 && slen <= 16 && strncmp(url + slen, "://", 3) == 0)
            return config_errf(err, errlen, "unsupported scheme '%.*s://' (expected "
                               URL_FORM ")", (int)slen, url);
        return config_errf(err, errlen, "must start with redis:// (" URL_FORM ")");
    }
    const char *auth = url + strlen(URL_SCHEME);
    const char *end = auth + strcspn(auth, "/");
    if (url_userinfo(&auth, end, t, err, errlen) != SD_OK ||
        url_host_port(auth, end, t, err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    return url_db(end, t, err, errlen);
}

sd_err sd_redis_url_parse(const char *url, sd_redis_target *out, char *err, size_t errlen)
{
    sd_redis_target t;
    memset(&t, 0, sizeof t);
    t.port = 6379;
    sd_err rc = url_parse(url, &t, err, errlen);
    if (rc == SD_OK)
        *out = t;
    explicit_bzero(&t, sizeof t);
    return rc;
}

/* url with the password of its user part as "***" (redis://u:***@h). The
 * last '@' ends the user part, as in the parser, so even a URL the parser
 * would reject keeps its secret. */
static void url_mask(const char *url, char *out, size_t outlen)
{
    const char *sep = strstr(url, "://");
    const char *user = sep != NULL ? sep + 3 : url;
    const char *at = strrchr(user, '@');
    const char *colon = at != NULL ? memchr(user, ':', (size_t)(at - user)) : NULL;
    const char *keep = colon != NULL ? colon + 1 : user;
    if (at == NULL)
        snprintf(out, outlen, "%s", url);
    else
        snprintf(out, outlen, "%.*s***%s", (int)(keep - url), url, at);
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
    {FIELD(bind), STR(check_ip), "0.0.0.0",
     "listen address, numeric IPv4 or IPv6", {NULL}},
    {FIELD(port), INT(1, 65535), "8080", "TCP port to listen on", {"PORT", NULL}},
    {FIELD(threads), INT(1, 256), "2", "HTTP threads", {NULL}},
    {FIELD(max_connections), INT(1, 100000), "1024",
     "open connections accepted at once", {NULL}},
    {FIELD(connection_timeout), INT(1, 3600), "30",
     "seconds a connection may stay idle", {NULL}},
    {FIELD(per_ip_connection_limit), INT(0, 100000), "64",
     "connections per client address, 0 = off", {NULL}},
    {FIELD(connection_memory_limit), INT(16384, 16777216), "131072",
     "bytes of buffer per connection", {NULL}},
    {FIELD(max_body), INT(1024, 16777216), "65536", "largest request body, bytes", {NULL}},
    /* store */
    {FIELD(store), ENUM(store_names), "auto", "auto, memory or redis", {NULL}},
    /* Redis */
    {FIELD(redis_url), SECRET(check_redis_url, KEY_SECRET_URL), "",
     "redis://[[user]:password@]host[:port][/db]", {"REDIS_URL", NULL}},
    {FIELD(redis_host), STR(check_redis_host), "",
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
    {FIELD(key_prefix), STR(check_key_prefix), "statusd:",
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
     "seconds without a heartbeat before a running job is lost", {NULL}},
    {FIELD(job_kill_grace), INT(0, 60000), "2000",
     "milliseconds between SIGTERM and SIGKILL", {NULL}},
    {FIELD(drain_timeout), INT(0, 3600), "30",
     "seconds running jobs get to finish at shutdown", {NULL}},
    {FIELD(demo_step_ms), INT(0, 60000), "300",
     "milliseconds between the demo handler's stages", {NULL}},
    {FIELD(handler_research), STR(check_nonempty), "builtin:demo",
     "builtin:demo or exec:/path [args]", {NULL}},
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
        url_mask(url, masked, sizeof masked);
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
