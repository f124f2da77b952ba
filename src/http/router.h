#ifndef STATUSD_HTTP_ROUTER_H
#define STATUSD_HTTP_ROUTER_H

#include <stddef.h>

#include "statusd/error.h"
#include "statusd/http.h"

/* A slice of the request path bound to a ":name" segment. */
typedef struct sd_span {
    const char *p;
    size_t len;
} sd_span;

/*
 * Finds the route for method and path (path without the query string).
 * SD_OK: *out and params[0..*nparams) are set. SD_ERR_NOT_FOUND: no pattern
 * matches the path. SD_ERR_METHOD: some pattern matches but not for this
 * method; allow receives the allowed methods ("GET, HEAD, DELETE").
 * HEAD is served by GET routes; OPTIONS is left to the caller.
 */
sd_err sd_router_match(const sd_route *routes, size_t n, const char *method,
                       const char *path, const sd_route **out,
                       sd_span params[SD_ROUTE_MAX_PARAMS], size_t *nparams,
                       char *allow, size_t allowlen);

/* The name (without ':', NUL-terminated in a static buffer of the
 * caller's thread) of route's parameter whose span in path holds offset
 * at; NULL when at is in no parameter. params as sd_router_match gave
 * them for path. */
const char *sd_route_param_name(const sd_route *route, const char *path,
                                const sd_span *params, size_t nparams, size_t at);

/* True when a Content-Type header value names media_type (parameters such
 * as "; charset=utf-8" allowed, case-insensitive). NULL value: false. */
bool sd_media_type_is(const char *header, const char *media_type);

/* sd_media_type_is for any of the types of list, written
 * "application/json or application/merge-patch+json" (a route's
 * media_type, which reads the same way in the 415 answer). */
bool sd_media_type_in(const char *header, const char *list);

#endif
