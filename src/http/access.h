#ifndef STATUSD_HTTP_ACCESS_H
#define STATUSD_HTTP_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "statusd/config.h"
#include "statusd/error.h"
#include "statusd/netaddr.h"

/*
 * Who may call what, decided once per request in the router: bearer
 * tokens (api_token for mutating routes, admin_token for admin ones), the
 * CORS origin allow-list, and the client address behind trusted proxies.
 * Built once at start-up from the config, read-only after.
 */

#define SD_ACCESS_MAX_ORIGINS 32

typedef struct sd_access {
    const char *api_token;          /* "" = mutating routes are open */
    const char *admin_token;        /* "" = admin routes are disabled */
    bool cors_on;
    bool cors_any;                  /* cors_origins = * */
    char origins[SD_ACCESS_MAX_ORIGINS][160];
    size_t norigins;
    sd_cidr_list trusted;
} sd_access;

/* SD_ERR_INVALID with a reason for a list the config check let through
 * but that does not fit here (too many origins). */
sd_err sd_access_init(sd_access *a, const sd_config *cfg, char *err, size_t errlen);

/* Checks the Authorization header against the token route_flags ask for.
 * SD_OK, SD_ERR_UNAUTHORIZED (missing or wrong), SD_ERR_FORBIDDEN (admin
 * route with admin endpoints disabled). Tokens are compared in time that
 * does not depend on where they differ. */
sd_err sd_access_check(const sd_access *a, unsigned route_flags,
                       const char *authorization);

/* The token of "Bearer <token>" (blanks around it trimmed) and its
 * length, or NULL when authorization is NULL or another scheme. */
const char *sd_access_bearer(const char *authorization, size_t *len);

/* True when authorization presents the admin token (false when none is
 * set). */
bool sd_access_is_admin(const sd_access *a, const char *authorization);

/* True when origin (an Origin header value) may read responses. */
bool sd_access_origin_allowed(const sd_access *a, const char *origin);

/* The client address of a connection (the peer, or the right-most
 * untrusted X-Forwarded-For hop when the peer is a trusted proxy), as
 * text; "unknown" when the peer address is not IP. */
void sd_access_client(const sd_access *a, struct MHD_Connection *conn,
                      char *out, size_t outlen);

#endif
