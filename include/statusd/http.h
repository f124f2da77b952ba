#ifndef STATUSD_HTTP_H
#define STATUSD_HTTP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "statusd/error.h"
#include "statusd/util.h"

/*
 * The HTTP layer: a libmicrohttpd daemon, a request state machine and one
 * route table. Checks that apply to every route (method, path, body size,
 * content type, JSON well-formedness) run once, in the router, before a
 * route handler sees the request. A handler reads the request through the
 * sd_req_* accessors and answers exactly once through sd_resp_*.
 */

typedef struct sd_app sd_app;
typedef struct sd_req sd_req;
typedef struct sd_http sd_http;

typedef void (*sd_route_fn)(sd_req *req);

/* Route flags. */
enum {
    SD_ROUTE_BODY = 1u << 0,   /* takes a body of media_type, parsed as JSON */
    SD_ROUTE_AUTH = 1u << 1,   /* mutating: needs api_token when one is set */
    SD_ROUTE_ADMIN = 1u << 2,  /* needs admin_token; disabled without one */
    SD_ROUTE_LIMIT_SUBMIT = 1u << 3, /* ratelimit_submit per client address */
    SD_ROUTE_OPS = 1u << 4,    /* operations: admin_token, or api_token when one is
                                * set; open only when neither is set */
    SD_ROUTE_NO_STORE = 1u << 5, /* never calls the store: answered on the
                                  * HTTP thread, whatever the store does */
    SD_ROUTE_NO_WAIT = 1u << 6,  /* the handler never waits on the store
                                  * itself: it runs on the HTTP thread, asks
                                  * the store without waiting (suspending
                                  * the request until the answer), and hands
                                  * what must wait on with sd_req_blocking */
};

typedef struct sd_route {
    const char *method;        /* "GET", "POST", ... (GET also serves HEAD) */
    const char *pattern;       /* "/status/:id": ":name" matches one segment */
    sd_route_fn fn;
    unsigned flags;
    const char *media_type;    /* for SD_ROUTE_BODY: "application/json", or several
                                * as "application/json or application/..." */
} sd_route;

#define SD_ROUTE_MAX_PARAMS 4

/* The application's route table (api/routes.c). */
const sd_route *sd_api_routes(size_t *count);

/* Starts the daemon on cfg's address with the given table, in *out
 * (stopped and freed with sd_http_stop). On failure *out is NULL, err
 * has the reason and the result says what failed: SD_ERR_INVALID (a bad
 * access setting), SD_ERR_NOMEM, SD_ERR_INTERNAL (port in use, bad
 * address, a thread that cannot start). */
sd_err sd_http_start(sd_app *app, const sd_route *routes, size_t nroutes, sd_http **out,
                     char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned sd_http_port(const sd_http *h);
/* Stops accepting new connections; existing ones are served. */
void sd_http_quiesce(sd_http *h);
/* Closes every connection and frees the daemon. */
void sd_http_stop(sd_http *h);

/*
 * The API's held requests (long-polls, event streams): started before the
 * daemon, wired to the store's change notices (app->watch); drained at
 * shutdown (every held request answered, every stream ended, later waits
 * answered at once) before sd_http_stop; freed after it.
 */
sd_err sd_api_watch_start(sd_app *app, char *err, size_t errlen);
void sd_api_watch_drain(sd_app *app);
void sd_api_watch_stop(sd_app *app);

/* ---- the request, for route handlers ---- */

sd_app *sd_req_app(const sd_req *r);
const char *sd_req_method(const sd_req *r);
/* Path parameter i (in pattern order), not NUL-terminated; *len its length. */
const char *sd_req_param(const sd_req *r, size_t i, size_t *len);
/*
 * A query-string argument: *value, or NULL when absent. Keys match
 * exactly; false when the key is given twice or in another case (?CONFIRM
 * for confirm), after a 400 naming it was answered: the handler returns.
 */
bool sd_req_query(sd_req *r, const char *key, const char **value);
/* A request header (case-insensitive name), or NULL. */
const char *sd_req_header(const sd_req *r, const char *name);
/* The raw body (NUL-terminated), and its parsed JSON for SD_ROUTE_BODY
 * routes (owned by the request). */
const char *sd_req_body(const sd_req *r, size_t *len);
cJSON *sd_req_json(const sd_req *r);

/* ---- the response: exactly one of json/empty/problem per request ---- */

/* Adds a header (name and value are copied). */
void sd_resp_header(sd_req *r, const char *name, const char *value);
/* A JSON body; the buffer's data is taken (the buffer is left empty). A
 * failed buffer turns into a 500. */
void sd_resp_json(sd_req *r, unsigned status, sd_buf *body);
/* A body of another media type ("text/plain; version=0.0.4"); the
 * buffer's data is taken as for sd_resp_json. content_type must be a
 * string constant. */
void sd_resp_body(sd_req *r, unsigned status, const char *content_type, sd_buf *body);
/* No body (204, 304). */
void sd_resp_empty(sd_req *r, unsigned status);
/* The token of an "Authorization: Bearer <token>" header, trimmed, or
 * NULL without one. Points into the request. */
const char *sd_req_bearer(sd_req *r, size_t *len);
/* True when the request presents the admin token (never when none is
 * set). */
bool sd_req_is_admin(sd_req *r);

/* The client address (peer, or X-Forwarded-For behind a trusted proxy). */
const char *sd_req_client(sd_req *r);
/* The key per-address limits count the client under: its address, for
 * IPv6 its network of ipv6_prefix bits (statusd/netaddr.h). */
const char *sd_req_client_key(sd_req *r);

/*
 * Takes one request of the rate-limit class cls ("chat", "submit") for key
 * at per_minute, adds the RateLimit-Policy and RateLimit headers, and when
 * the key is over its limit answers 429 (with Retry-After) itself. True
 * when the handler may go on; false when an answer was given (429, or 503
 * when the store cannot count).
 */
bool sd_req_ratelimit(sd_req *r, const char *cls, const char *key, int64_t per_minute);

/* ---- holding a request (long-polls, event streams) ----
 *
 * A request that cannot be answered yet is suspended: its connection
 * holds no HTTP thread until it is resumed, from any thread. */

typedef void (*sd_req_again_fn)(sd_req *r, void *arg);

/*
 * Suspends r. From a route handler (or an again function) that has not
 * answered, with again set: once resumed, the server calls again(r, arg)
 * on an HTTP thread, which answers or suspends again. From a stream's
 * reader, with again NULL: once resumed the reader is called again.
 */
void sd_req_suspend(sd_req *r, sd_req_again_fn again, void *arg);
/* Resumes a suspended r: from any thread, exactly once per suspend. */
void sd_req_resume(sd_req *r);
/* Runs fn(r, arg) where it may wait on the store: at once when r is
 * there already (sd_req_may_block), else on a request thread once the
 * calling handler (or again function) returns, which must then do
 * nothing more with r. For SD_ROUTE_NO_WAIT handlers. */
void sd_req_blocking(sd_req *r, sd_req_again_fn fn, void *arg);
/* True when the code running for r may wait on the store: on a request
 * thread, or on a server that has none (a store that never waits). */
bool sd_req_may_block(const sd_req *r);
/* fn(arg) once when the request ends, however it ends (answered, the
 * client gone, the server stopping), on an HTTP thread: frees what a held
 * request owns. One per request. */
void sd_req_on_end(sd_req *r, void (*fn)(void *arg), void *arg);

/* A streamed body's reader: up to max bytes into buf (> 0), 0 when there
 * is nothing now and it suspended the request (sd_req_suspend, again
 * NULL), -1 at the end of the stream. */
typedef long (*sd_stream_fn)(void *arg, char *buf, size_t max);
/* A 200 answer whose body read() streams, of content_type (a constant),
 * with the headers added before, chunked. arg lives until the request
 * ends (sd_req_on_end frees it). */
void sd_resp_stream(sd_req *r, const char *content_type, sd_stream_fn read, void *arg);

/* An application/problem+json answer for err (status and type from the one
 * mapping in problem.c) with a detail line. */
void sd_resp_problem(sd_req *r, sd_err err, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
