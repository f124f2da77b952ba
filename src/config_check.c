/*
 * Checks on the values of string keys, run by config_key_set after the
 * length and control-character checks: addresses, the Redis URL (whose
 * parser, sd_redis_url_parse, lives here), key_prefix, trusted_proxies,
 * the access tokens and the CORS origins.
 *
 * A reason names what is wrong and, where one helps, the fix. It never
 * quotes a secret: not a token, not a password, not a URL that may hold
 * one (only the scheme is quoted, and only when it is one).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_keys.h"
#include "statusd/netaddr.h"
#include "statusd/util.h"

#define URL_SCHEME "redis://"
#define URL_FORM "redis://[[user]:password@]host[:port][/db]"
#define TOKEN_MIN_LEN 16

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

sd_err config_check_ip(const char *value, char *why, size_t whylen)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, value, addr) == 1 || inet_pton(AF_INET6, value, addr) == 1)
        return SD_OK;
    char ex[CONFIG_EXCERPT_LEN];
    return sd_errf(why, whylen, "expected a numeric IPv4 or IPv6 address, got '%s'",
                       config_excerpt(value, ex));
}

sd_err config_check_nonempty(const char *value, char *why, size_t whylen)
{
    return value[0] != '\0' ? SD_OK : sd_errf(why, whylen, "must not be empty");
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
        return sd_errf(why, whylen, "empty host");
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
            return sd_errf(why, whylen,
                               "host contains %s; expected a host name or an IP address",
                               byte_show(s[i], b));
    return SD_OK;
}

sd_err config_check_redis_host(const char *value, char *why, size_t whylen)
{
    unsigned char addr[16];
    char ex[CONFIG_EXCERPT_LEN];
    if (value[0] == '\0')
        return SD_OK;
    if (strchr(value, ':') == NULL)
        return host_name_check(value, strlen(value), why, whylen);
    if (inet_pton(AF_INET6, value, addr) == 1)
        return SD_OK;
    return sd_errf(why, whylen, "'%s' is not an IPv6 address (written without "
                       "brackets here)", config_excerpt(value, ex));
}

sd_err config_check_redis_url(const char *value, char *why, size_t whylen)
{
    if (value[0] == '\0')
        return SD_OK;
    sd_redis_target t;
    sd_err rc = sd_redis_url_parse(value, &t, why, whylen);
    explicit_bzero(&t, sizeof t);
    return rc;
}

/* Only characters that mean nothing to SCAN MATCH's glob syntax. */
sd_err config_check_key_prefix(const char *value, char *why, size_t whylen)
{
    char b[16];
    if (value[0] == '\0')
        return sd_errf(why, whylen, "must not be empty");
    for (size_t i = 0; value[i] != '\0'; i++) {
        char c = value[i];
        if (!is_alnum(c) && c != ':' && c != '.' && c != '_' && c != '-')
            return sd_errf(why, whylen,
                               "%s at byte %zu is not allowed: use A-Z a-z 0-9 : . _ - "
                               "(glob characters such as * ? [ would break SCAN MATCH)",
                               byte_show(c, b), i + 1);
    }
    return SD_OK;
}

/* ---- Redis URLs ---- */

/* Percent-decodes s[0..len) into out (outlen bytes, NUL-terminated). what
 * names the part in messages, which never quote it: it may be a password. */
static sd_err url_decode(const char *s, size_t len, char *out, size_t outlen,
                         const char *what, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = len - i >= 3 ? sd_hex_digit(s[i + 1]) : -1;
            int lo = hi >= 0 ? sd_hex_digit(s[i + 2]) : -1;
            if (lo < 0)
                return sd_errf(err, errlen, "%s: '%%' must be followed by two hex "
                                   "digits (write %%25 for '%%')", what);
            c = hi * 16 + lo;
            i += 2;
            if (c == 0)
                return sd_errf(err, errlen, "%s: %%00 is not allowed", what);
        }
        if (n + 1 >= outlen)
            return sd_errf(err, errlen, "%s is longer than %zu bytes", what,
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
        return sd_errf(err, errlen, "'@' after the host: percent-encode '@' and '/' "
                           "in the user name and password (%%40, %%2F)");
    if (at == NULL)
        return SD_OK;
    const char *colon = memchr(*auth, ':', (size_t)(at - *auth));
    if (colon == NULL)
        return sd_errf(err, errlen, "expected ':' before the password "
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
        return sd_errf(err, errlen, "'[' without a closing ']' around the IPv6 host");
    if (after == NULL)
        after = end;
    else if (!v6 && memchr(after + 1, ':', (size_t)(end - after - 1)) != NULL)
        return sd_errf(err, errlen, "an IPv6 host must be in brackets ([::1])");
    size_t len = (size_t)(after - host) - (v6 ? 1 : 0);
    if (!v6 && host_name_check(host, len, err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    if (len == 0)
        return sd_errf(err, errlen, "empty host");
    if (len >= sizeof t->host)
        return sd_errf(err, errlen, "host is longer than %zu bytes",
                           sizeof t->host - 1);
    memcpy(t->host, host + (v6 ? 1 : 0), len);
    t->host[len] = '\0';
    unsigned char addr[16];
    if (v6 && inet_pton(AF_INET6, t->host, addr) != 1)
        return sd_errf(err, errlen, "'[%s]' is not an IPv6 address",
                           config_excerpt(t->host, ex));
    after += v6 ? 1 : 0;
    if (after == end)
        return SD_OK;
    if (*after != ':')
        return sd_errf(err, errlen, "unexpected %s after the IPv6 host",
                           byte_show(*after, ex));
    char port[64];
    int64_t v;
    size_t plen = (size_t)(end - after - 1);
    snprintf(port, sizeof port, "%.*s", (int)(plen < sizeof port ? plen : sizeof port - 1),
             after + 1);
    if (plen >= sizeof port || sd_parse_i64(port, 1, 65535, &v) != SD_OK)
        return sd_errf(err, errlen, "port: expected an integer in 1..65535, got '%s'",
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
        return sd_errf(err, errlen, "unexpected text '%s' after the db number",
                           config_excerpt(db + digits, ex));
    if (sd_parse_i64(db, 0, 255, &v) != SD_OK)
        return sd_errf(err, errlen, "db: expected an integer in 0..255, got '%s'",
                           config_excerpt(db, ex));
    t->db = (int)v;
    return SD_OK;
}

static sd_err url_parse(const char *url, sd_redis_target *t, char *err, size_t errlen)
{
    for (size_t i = 0; url[i] != '\0'; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f)
            return sd_errf(err, errlen, "contains %s at byte %zu (percent-encode it)",
                               c == ' ' ? "a space" : "a control character", i + 1);
    }
    if (strncasecmp(url, "rediss://", 9) == 0)
        return sd_errf(err, errlen, "TLS (rediss://) is not supported; use redis://");
    if (strncasecmp(url, URL_SCHEME, strlen(URL_SCHEME)) != 0) {
        /* The scheme is quoted only when it is one: never a password. */
        size_t slen = strcspn(url, ":/@");
        if (slen > 0 && slen <= 16 && strncmp(url + slen, "://", 3) == 0)
            return sd_errf(err, errlen, "unsupported scheme '%.*s://' (expected "
                               URL_FORM ")", (int)slen, url);
        return sd_errf(err, errlen, "must start with redis:// (" URL_FORM ")");
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
void config_url_mask(const char *url, char *out, size_t outlen)
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

/* ---- access: trusted proxies, tokens, CORS origins ---- */

sd_err config_check_cidr_list(const char *value, char *why, size_t whylen)
{
    sd_cidr_list l;
    return sd_cidr_list_parse(value, &l, why, whylen);
}

/* Never quotes the token, not even one byte of it. */
sd_err config_check_token(const char *value, char *why, size_t whylen)
{
    size_t len = strlen(value);
    if (len == 0)
        return SD_OK;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c >= 0x7f)
            return sd_errf(why, whylen, "contains %s at byte %zu; a token is "
                               "printable ASCII without spaces",
                               c == ' ' ? "a space" : "a byte that is not printable ASCII",
                               i + 1);
    }
    if (len < TOKEN_MIN_LEN)
        return sd_errf(why, whylen, "too short (%zu character%s); use at least %d "
                           "(short tokens are guessable; openssl rand -hex 32 makes a "
                           "good one)", len, len == 1 ? "" : "s", TOKEN_MIN_LEN);
    return SD_OK;
}

/* True when name[0..len) is a variable statusd reads a secret from:
 * STATUSD_<KEY> or a legacy name of a secret key. */
static bool env_name_is_secret(const char *name, size_t len)
{
    for (size_t i = 0; i < config_key_count(); i++) {
        const key_def *k = config_key_at(i);
        if (k->type != KEY_STR || k->secret == KEY_PLAIN)
            continue;
        char upper[96];
        int n = snprintf(upper, sizeof upper, "STATUSD_%s", k->name);
        for (int c = 0; c < n; c++)
            upper[c] = (char)toupper((unsigned char)upper[c]);
        if ((size_t)n == len && memcmp(upper, name, len) == 0)
            return true;
        for (size_t l = 0; l < 3 && k->legacy[l] != NULL; l++)
            if (strlen(k->legacy[l]) == len && memcmp(k->legacy[l], name, len) == 0)
                return true;
    }
    return false;
}

sd_err config_check_env_names(const char *value, char *why, size_t whylen)
{
    const char *cur = value, *name;
    size_t len;
    char ex[CONFIG_EXCERPT_LEN];
    while (sd_list_next(&cur, &name, &len)) {
        char one[CONFIG_EXCERPT_LEN];
        snprintf(one, sizeof one, "%.*s", (int)(len < 60 ? len : 60), name);
        if (!sd_env_name_valid(name, len))
            return sd_errf(why, whylen, "'%s' is not a variable name "
                               "(letters, digits and _, not starting with a digit)",
                               config_excerpt(one, ex));
        if (env_name_is_secret(name, len))
            return sd_errf(why, whylen, "%s holds one of statusd's secrets and is "
                               "never passed to handlers", one);
    }
    return SD_OK;
}

/* Host of an origin, s[0..len): lower-case name or IPv4 [a-z0-9.-], or an
 * IPv6 address in brackets. show is the whole entry, for messages. */
static sd_err origin_host_check(const char *s, size_t len, const char *show, char *why,
                                size_t whylen)
{
    char b[16];
    if (len == 0)
        return sd_errf(why, whylen, "'%s': no host (expected scheme://host[:port])",
                           show);
    if (s[0] == '[') {
        char text[INET6_ADDRSTRLEN + 1];
        unsigned char addr[16];
        if (len < 3 || s[len - 1] != ']')
            return sd_errf(why, whylen, "'%s': '[' without a matching ']'", show);
        size_t alen = len - 2;
        if (alen >= sizeof text)
            return sd_errf(why, whylen, "'%s': the host in brackets is not an IPv6 "
                               "address", show);
        memcpy(text, s + 1, alen);
        text[alen] = '\0';
        if (inet_pton(AF_INET6, text, addr) != 1)
            return sd_errf(why, whylen, "'%s': '[%s]' is not an IPv6 address", show,
                               text);
        return SD_OK;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            return sd_errf(why, whylen, "'%s': write the host in lower case (browsers "
                               "send it so, and origins are compared exactly)", show);
        if (!is_alnum(c) && c != '.' && c != '-')
            return sd_errf(why, whylen, "'%s': the host contains %s", show,
                               byte_show(c, b));
    }
    return SD_OK;
}

/* One origin, s[0..len) trimmed and not "*": http(s)://host[:port] as a
 * browser sends it in an Origin header. */
static sd_err origin_check(const char *s, size_t len, char *why, size_t whylen)
{
    char show[CONFIG_EXCERPT_LEN], entry[SD_CONFIG_STR];
    snprintf(entry, sizeof entry, "%.*s", (int)len, s);
    config_excerpt(entry, show);
    const char *scheme_end = strstr(entry, "://");
    int default_port = 0;
    if (strncmp(entry, "https://", 8) == 0)
        default_port = 443;
    else if (strncmp(entry, "http://", 7) == 0)
        default_port = 80;
    else if (scheme_end != NULL)
        return sd_errf(why, whylen, "'%s': the scheme must be http:// or https:// "
                           "(lower case)", show);
    else
        return sd_errf(why, whylen, "'%s': expected scheme://host[:port], such as "
                           "https://app.example.com", show);
    const char *host = scheme_end + 3;
    const char *host_end = host[0] == '[' ? strchr(host, ']') : NULL;
    host_end = host_end != NULL ? host_end + 1 : host + strcspn(host, ":/?#@");
    if (origin_host_check(host, (size_t)(host_end - host), show, why, whylen) != SD_OK)
        return SD_ERR_INVALID;
    const char *rest = host_end;
    if (rest[0] == ':') {
        size_t plen = strspn(rest + 1, "0123456789");
        char port[8];
        int64_t v;
        snprintf(port, sizeof port, "%.*s", (int)(plen < 7 ? plen : 7), rest + 1);
        if (plen == 0 || plen > 5 || sd_parse_i64(port, 1, 65535, &v) != SD_OK)
            return sd_errf(why, whylen, "'%s': the port must be an integer in 1..65535",
                               show);
        if (v == default_port)
            return sd_errf(why, whylen, "'%s': :%d is the default port of %.*s; leave "
                               "it out (browsers do)", show, default_port,
                               (int)(scheme_end - entry), entry);
        rest += 1 + plen;
    }
    if (rest[0] == '/')
        return sd_errf(why, whylen, "'%s': an origin has no path, not even a trailing "
                           "'/' (scheme://host[:port])", show);
    if (rest[0] != '\0') {
        char b[16];
        return sd_errf(why, whylen, "'%s': unexpected %s after the host (an origin is "
                           "scheme://host[:port])", show, byte_show(rest[0], b));
    }
    return SD_OK;
}

sd_err config_check_origins(const char *value, char *why, size_t whylen)
{
    size_t count = 0;
    bool any = false;
    for (const char *p = value;; p++) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        const char *next = p + len;
        while (s < next && *s == ' ')
            s++;
        size_t slen = (size_t)(next - s);
        while (slen > 0 && s[slen - 1] == ' ')
            slen--;
        count++;
        if (slen == 0 && !(count == 1 && *next == '\0'))
            return sd_errf(why, whylen, "entry %zu is empty (two commas in a row, or a "
                               "comma at an end)", count);
        if (slen == 1 && s[0] == '*')
            any = true;
        else if (slen > 0 && origin_check(s, slen, why, whylen) != SD_OK)
            return SD_ERR_INVALID;
        if (*next == '\0')
            break;
        p = next;
    }
    if (any && count > 1)
        return sd_errf(why, whylen, "'*' allows any origin and must be the only entry");
    return SD_OK;
}
