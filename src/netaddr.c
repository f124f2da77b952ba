/*
 * CIDR lists, X-Forwarded-For hops and the client address of a request.
 *
 * Addresses are handled as (family, 16 bytes) pairs; an IPv4-mapped IPv6
 * address is folded to its IPv4 form before any comparison or output, so
 * a dual-stack listener and an IPv4 one key the same client the same way.
 * sockaddrs are read through memcpy into the concrete type, never through
 * a cast pointer, so callers may pass any correctly sized sockaddr.
 */
#include "statusd/netaddr.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"

#define ENTRY_SHOW_LEN 72    /* see entry_show() */
#define ADDR_TEXT_MAX 64     /* longer text is no address (INET6_ADDRSTRLEN is 46) */

static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* s[0..len) for a message: at most 60 bytes then "...", control bytes as
 * '?'. Returns out. */
static const char *entry_show(const char *s, size_t len, char out[ENTRY_SHOW_LEN])
{
    size_t n = 0;
    for (; n < len && n < 60; n++) {
        unsigned char c = (unsigned char)s[n];
        out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    strcpy(out + n, n < len ? "..." : "");
    return out;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Narrows [*s, *s + *len) to drop blanks at both ends. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

/* Folds ::ffff:a.b.c.d to AF_INET in place. */
static void unmap(int *family, unsigned char addr[16])
{
    if (*family == AF_INET6 && memcmp(addr, mapped_prefix, sizeof mapped_prefix) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
    }
}

/* sa's family and address bytes, folded; false for NULL or another family. */
static bool addr_bytes(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
    if (sa == NULL)
        return false;
    memset(addr, 0, 16);
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        memcpy(addr, &in.sin_addr, 4);
        *family = AF_INET;
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        memcpy(addr, &in6.sin6_addr, 16);
        *family = AF_INET6;
        unmap(family, addr);
        return true;
    }
    return false;
}

/* Numeric address text (NUL-terminated) into family and bytes. */
static bool addr_from_text(const char *text, bool v4, bool v6, int *family,
                           unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (v4 && inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (v6 && inet_pton(AF_INET6, text, addr) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

/* True when the first prefix bits of a and net agree. */
static bool prefix_match(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

/* ---- CIDR lists ---- */

/* True when s[0..len) are all decimal digits; reads nothing past len
 * (s need not be NUL-terminated). */
static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Parses the prefix digits s[0..len) into *out, at most max. */
static bool prefix_parse(const char *s, size_t len, unsigned max, unsigned *out)
{
    char digits[8];
    int64_t v;
    if (len == 0 || len > 3 || !all_digits(s, len))
        return false;
    memcpy(digits, s, len);
    digits[len] = '\0';
    if (sd_parse_i64(digits, 0, max, &v) != SD_OK)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Parses one trimmed, non-empty entry s[0..len) into *c. */
static sd_err cidr_parse(const char *s, size_t len, sd_cidr *c, char *err, size_t errlen)
{
    char show[ENTRY_SHOW_LEN], text[ADDR_TEXT_MAX];
    const char *slash = memchr(s, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    entry_show(s, len, show);
    if (alen >= sizeof text)
        return sd_errf(err, errlen, "'%s' is not an IPv4 or IPv6 address", show);
    memcpy(text, s, alen);
    text[alen] = '\0';
    if (!addr_from_text(text, true, true, &c->family, c->addr))
        return sd_errf(err, errlen, "'%s' is not an IPv4 or IPv6 address%s", show,
                    s[0] == '[' ? " (write IPv6 addresses without brackets)" : "");
    unsigned max = c->family == AF_INET ? 32 : 128;
    c->prefix = max;
    if (slash != NULL &&
        !prefix_parse(slash + 1, len - alen - 1, max, &c->prefix))
        return sd_errf(err, errlen, "'%s': the prefix length must be an integer in 0..%u",
                    show, max);
    if (c->family == AF_INET6 && c->prefix >= 96 &&
        memcmp(c->addr, mapped_prefix, sizeof mapped_prefix) == 0) {
        unmap(&c->family, c->addr);
        c->prefix -= 96;
    }
    unsigned char net[16] = {0};
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    memcpy(net, c->addr, full);
    if (rest != 0)
        net[full] = (unsigned char)(c->addr[full] & (0xffu << (8 - rest)));
    if (memcmp(net, c->addr, sizeof net) != 0) {
        char block[INET6_ADDRSTRLEN];
        if (inet_ntop(c->family, net, block, sizeof block) == NULL)
            snprintf(block, sizeof block, "?");
        return sd_errf(err, errlen, "'%s': address bits are set beyond the /%u prefix "
                    "(the block is %s/%u)", show, c->prefix, block, c->prefix);
    }
    return SD_OK;
}

sd_err sd_cidr_list_parse(const char *text, sd_cidr_list *out, char *err, size_t errlen)
{
    sd_cidr_list l;
    memset(&l, 0, sizeof l);
    const char *p = text;
    size_t total = strlen(text);
    trim(&p, &total);
    for (size_t n = 1; total > 0; n++) {
        const char *comma = memchr(p, ',', total);
        size_t len = comma != NULL ? (size_t)(comma - p) : total;
        const char *s = p;
        size_t slen = len;
        trim(&s, &slen);
        if (slen == 0)
            return sd_errf(err, errlen, "entry %zu is empty (two commas in a row, or a comma "
                        "at an end)", n);
        if (l.count == SD_CIDR_LIST_MAX)
            return sd_errf(err, errlen, "more than %d entries", SD_CIDR_LIST_MAX);
        if (cidr_parse(s, slen, &l.items[l.count], err, errlen) != SD_OK)
            return SD_ERR_INVALID;
        l.count++;
        if (comma == NULL)
            break;
        p = comma + 1;
        total -= len + 1;
        if (total == 0)
            return sd_errf(err, errlen, "entry %zu is empty (two commas in a row, or a comma "
                        "at an end)", n + 1);
    }
    *out = l;
    return SD_OK;
}

bool sd_cidr_list_contains(const sd_cidr_list *l, const struct sockaddr *sa)
{
    int family;
    unsigned char addr[16];
    if (l == NULL || !addr_bytes(sa, &family, addr))
        return false;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].family == family &&
            prefix_match(addr, l->items[i].addr, l->items[i].prefix))
            return true;
    return false;
}

/* ---- addresses ---- */

/* A port as written after an address, s[0..len) (not NUL-terminated):
 * 1..5 digits, at most 65535. */
static bool port_valid(const char *s, size_t len)
{
    char digits[8];
    int64_t v;
    if (len == 0 || len > 5 || !all_digits(s, len))
        return false;
    memcpy(digits, s, len);
    digits[len] = '\0';
    return sd_parse_i64(digits, 0, 65535, &v) == SD_OK;
}

sd_err sd_addr_parse(const char *text, size_t len, struct sockaddr_storage *out)
{
    if (text == NULL)
        return SD_ERR_INVALID;
    trim(&text, &len);
    if (len == 0 || len >= ADDR_TEXT_MAX || memchr(text, '\0', len) != NULL)
        return SD_ERR_INVALID;
    const char *end = text + len;
    const char *host = text, *host_end = end, *port = NULL;
    bool v4 = true, v6 = true;
    if (text[0] == '[') {
        /* [v6] or [v6]:port */
        const char *close = memchr(text, ']', len);
        if (close == NULL)
            return SD_ERR_INVALID;
        host = text + 1;
        host_end = close;
        v4 = false;
        if (close + 1 < end) {
            if (close[1] != ':')
                return SD_ERR_INVALID;
            port = close + 2;
        }
    } else {
        /* One ':' is IPv4 with a port; more is a bare IPv6 address. */
        const char *colon = memchr(text, ':', len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
            host_end = colon;
            port = colon + 1;
            v6 = false;
        } else if (colon == NULL) {
            v6 = false;
        } else {
            v4 = false;
        }
    }
    if (port != NULL && !port_valid(port, (size_t)(end - port)))
        return SD_ERR_INVALID;
    char buf[ADDR_TEXT_MAX];
    size_t hlen = (size_t)(host_end - host);
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    int family;
    unsigned char addr[16];
    if (!addr_from_text(buf, v4, v6, &family, addr))
        return SD_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (family == AF_INET) {
        struct sockaddr_in in;
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        memcpy(&in.sin_addr, addr, 4);
        memcpy(out, &in, sizeof in);
    } else {
        struct sockaddr_in6 in6;
        memset(&in6, 0, sizeof in6);
        in6.sin6_family = AF_INET6;
        memcpy(&in6.sin6_addr, addr, 16);
        memcpy(out, &in6, sizeof in6);
    }
    return SD_OK;
}

void sd_addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    int family;
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    if (!addr_bytes(sa, &family, addr) ||
        inet_ntop(family, addr, text, sizeof text) == NULL)
        text[0] = '\0';
    snprintf(out, outlen, "%s", text);
}

/* ---- the client address ---- */

sd_err sd_client_address(const struct sockaddr *peer, const char *xff,
                         const sd_cidr_list *trusted, char *out, size_t outlen)
{
    int family;
    unsigned char addr[16];
    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (out == NULL || outlen < SD_ADDR_TEXT_LEN || !addr_bytes(peer, &family, addr))
        return SD_ERR_INVALID;

    const struct sockaddr *answer = peer;
    struct sockaddr_storage good;
    if (xff != NULL && sd_cidr_list_contains(trusted, peer)) {
        /* Each hop is [start, end); the walk goes from the right. */
        for (size_t end = strlen(xff);;) {
            size_t start = end;
            while (start > 0 && xff[start - 1] != ',')
                start--;
            const char *hop = xff + start;
            size_t len = end - start;
            trim(&hop, &len);
            if (len > 0) {
                struct sockaddr_storage parsed;
                if (sd_addr_parse(hop, len, &parsed) != SD_OK)
                    break;
                good = parsed;
                answer = (const struct sockaddr *)&good;
                if (!sd_cidr_list_contains(trusted, answer))
                    break;
            }
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    sd_addr_text(answer, out, outlen);
    return SD_OK;
}

/* ---- keys of per-address limits ---- */

void sd_addr_limit_key(const struct sockaddr *sa, unsigned ipv6_prefix, char *out,
                       size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    int family;
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    if (!addr_bytes(sa, &family, addr)) {
        out[0] = '\0';
        return;
    }
    if (family == AF_INET6 && ipv6_prefix < 128) {
        for (unsigned bit = ipv6_prefix; bit < 128; bit++)
            addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    }
    if (inet_ntop(family, addr, text, sizeof text) == NULL) {
        out[0] = '\0';
        return;
    }
    if (family == AF_INET6 && ipv6_prefix < 128)
        snprintf(out, outlen, "%s/%u", text, ipv6_prefix);
    else
        snprintf(out, outlen, "%s", text);
}

void sd_client_limit_key(const char *client, unsigned ipv6_prefix, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    struct sockaddr_storage ss;
    if (client == NULL || sd_addr_parse(client, strlen(client), &ss) != SD_OK) {
        snprintf(out, outlen, "%s", client != NULL ? client : "");
        return;
    }
    sd_addr_limit_key((const struct sockaddr *)&ss, ipv6_prefix, out, outlen);
}
