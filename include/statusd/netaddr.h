#ifndef STATUSD_NETADDR_H
#define STATUSD_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "statusd/error.h"

/*
 * Network addresses as the rate limiter needs them: lists of CIDR blocks
 * (trusted_proxies), addresses as written in X-Forwarded-For, and the
 * client address of a request. Knows nothing of HTTP or the config; keeps
 * no state and allocates nothing, so every function is thread-safe.
 *
 * An IPv4-mapped IPv6 address (::ffff:10.1.2.3, what a dual-stack socket
 * reports for an IPv4 client) counts as its IPv4 address everywhere: it is
 * matched against IPv4 blocks and shown as 10.1.2.3.
 */

#define SD_CIDR_LIST_MAX 32
#define SD_ADDR_TEXT_LEN INET6_ADDRSTRLEN    /* room for any sd_addr_text output */

/* One block: family AF_INET (addr[0..4) used) or AF_INET6; the address
 * bits beyond prefix are zero. */
typedef struct sd_cidr {
    int family;
    unsigned char addr[16];
    unsigned prefix;    /* 0..32 for AF_INET, 0..128 for AF_INET6 */
} sd_cidr;

typedef struct sd_cidr_list {
    sd_cidr items[SD_CIDR_LIST_MAX];
    size_t count;
} sd_cidr_list;

/*
 * Parses a comma-separated list of addresses and CIDR blocks
 * ("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8") into *out. Spaces and tabs
 * around an entry are ignored; text that is empty or only blanks is the
 * empty list. A bare address is a /32 (IPv4) or /128 (IPv6) block; an
 * IPv4-mapped IPv6 entry with a prefix of at least 96 is stored as the
 * IPv4 block it covers. SD_ERR_INVALID, with err (may be NULL) naming the
 * entry and the reason, on an empty entry (",,", a trailing comma), text
 * that is not a numeric address, a prefix out of range, host bits set
 * beyond the prefix (10.0.0.1/8), or more than SD_CIDR_LIST_MAX entries.
 * *out is written only on success.
 */
sd_err sd_cidr_list_parse(const char *text, sd_cidr_list *out, char *err, size_t errlen);

/* True when sa (AF_INET or AF_INET6; a mapped IPv6 address as its IPv4
 * one) is inside a block of l. False for NULL or any other family. */
bool sd_cidr_list_contains(const sd_cidr_list *l, const struct sockaddr *sa);

/*
 * Parses one address as written in an X-Forwarded-For hop, text[0..len)
 * (need not be NUL-terminated; spaces and tabs around it are ignored):
 * "192.0.2.7", "192.0.2.7:5123", "2001:db8::7", "[2001:db8::7]" or
 * "[2001:db8::7]:5123". A port, when present, must be 0..65535 and is
 * dropped; a bare IPv6 address never has one. On success *out holds an
 * AF_INET or AF_INET6 address with port 0; SD_ERR_INVALID on anything
 * else ("unknown", host names, zone ids), leaving *out alone.
 */
sd_err sd_addr_parse(const char *text, size_t len, struct sockaddr_storage *out);

/* sa's address in text form ("10.1.2.3", "2001:db8::7"; a mapped IPv6
 * address as IPv4) into out, truncated to outlen (SD_ADDR_TEXT_LEN always
 * fits). "" when sa is NULL or neither AF_INET nor AF_INET6. */
void sd_addr_text(const struct sockaddr *sa, char *out, size_t outlen);

/*
 * The client address of a request, as text in out (outlen at least
 * SD_ADDR_TEXT_LEN), for keying per-client limits.
 *
 * peer is the TCP peer. When it is not in trusted (or trusted is NULL),
 * the answer is the peer and xff is ignored entirely: anyone can send
 * the header. When the peer is a trusted proxy, xff (may be NULL; the
 * values of several X-Forwarded-For headers joined with ',' are one list)
 * is walked from right to left, each hop being the address the proxy to
 * its right saw:
 *   - empty elements ("a, , b") are skipped;
 *   - the first hop that is not in trusted is the answer;
 *   - when every hop is trusted, the left-most hop is the answer;
 *   - a malformed hop stops the walk: the answer is the last hop that
 *     parsed (the one to its right), or the peer when the right-most hop
 *     is malformed. Whatever is left of garbage came through no proxy we
 *     trust, so it is never believed.
 * SD_ERR_INVALID, with out set to "" when outlen allows, when the peer is
 * NULL or neither AF_INET nor AF_INET6, or outlen < SD_ADDR_TEXT_LEN.
 */
sd_err sd_client_address(const struct sockaddr *peer, const char *xff,
                         const sd_cidr_list *trusted, char *out, size_t outlen);

/*
 * Per-address limits (rate limits, the per-IP connection limit) key an
 * IPv6 client by its leading ipv6_prefix bits: a site or host is given a
 * whole /64 or more, so counting each address on its own would give one
 * client 2^64 budgets. The key is the network in text with its prefix
 * ("2001:db8:1:2::/64"); with ipv6_prefix >= 128, and for IPv4 (an
 * IPv4-mapped address as its IPv4 one), it is the address as
 * sd_addr_text writes it. out gets "" for an address that is neither.
 */
#define SD_ADDR_KEY_LEN (INET6_ADDRSTRLEN + 4)   /* room for any key */

void sd_addr_limit_key(const struct sockaddr *sa, unsigned ipv6_prefix, char *out,
                       size_t outlen);

/* The key of client, an address as sd_client_address writes it; text
 * that is not an address ("unknown") is its own key. */
void sd_client_limit_key(const char *client, unsigned ipv6_prefix, char *out, size_t outlen);

#endif
