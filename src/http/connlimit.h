#ifndef STATUSD_HTTP_CONNLIMIT_H
#define STATUSD_HTTP_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "statusd/error.h"
#include "statusd/netaddr.h"

/*
 * per_ip_connection_limit: open connections counted per client key
 * (sd_addr_limit_key: an IPv4 address, or the ipv6_prefix network of an
 * IPv6 one), so the addresses of one /64 share one limit. libmicrohttpd's
 * own per-IP limit counts whole addresses, hence this one.
 *
 * The server asks before it accepts (sd_connlimit_allows, from the accept
 * policy callback) and counts once the connection is set up
 * (sd_connlimit_enter / _leave, from the connection notifications, which
 * come in pairs). Threads that accept at the same instant may each let one
 * connection of a key through past the limit: at most one per HTTP thread.
 * Thread-safe; one mutex, held for a hash lookup.
 */

typedef struct sd_connlimit sd_connlimit;

/* A counter for limit connections per key (limit >= 1), in *out.
 * SD_ERR_NOMEM, or SD_ERR_INTERNAL when its lock cannot be made; *out is
 * then NULL. */
sd_err sd_connlimit_new(unsigned limit, unsigned ipv6_prefix, sd_connlimit **out);
void sd_connlimit_free(sd_connlimit *c);

/* Whether one more connection from sa is under the limit. */
bool sd_connlimit_allows(sd_connlimit *c, const struct sockaddr *sa);

/* Counts a connection from sa; false when it could not be counted (out
 * of memory, or sa is not IP): then leave must not be called for it. */
bool sd_connlimit_enter(sd_connlimit *c, const struct sockaddr *sa);
/* The connection from sa that enter counted has closed. */
void sd_connlimit_leave(sd_connlimit *c, const struct sockaddr *sa);

/* Connections counted under sa's key now. */
unsigned sd_connlimit_count(sd_connlimit *c, const struct sockaddr *sa);

#endif
