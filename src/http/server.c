/*
 * The libmicrohttpd daemon and the request state machine.
 *
 * MHD calls the access handler several times per request: first with the
 * headers only, then once per chunk of body, then once more with no data.
 * statusd routes on the first call (so 404/405/415/413 are known before a
 * body is read), buffers the body up to max_body, and answers on the last
 * call. Answering on the first call would make MHD close the connection
 * after the response (it cannot know the body was consumed), which costs
 * keep-alive and most of the throughput; only a body announced as too large
 * (Content-Length) is refused at once, where closing is what we want. A
 * body that turns out too large while it arrives (chunked) cannot be
 * answered mid-body: it is dropped, up to a bound, and refused at the end.
 *
 * The path and query are decoded here from the raw request target (kept
 * by the URI log callback), not taken from MHD: MHD's decoding lets "%00"
 * cut a value short and matches query keys without regard to case. The
 * same early refusal (answer on the first call, connection closed) covers
 * a request whose length is ambiguous: two Content-Length headers, or one
 * with Transfer-Encoding, which a proxy in front may read otherwise.
 *
 * Slow clients are conn_guard.c's: each connection is registered with it
 * when MHD accepts it and moves through its phases from here.
 *
 * No HTTP thread waits on a store that can stall (Redis: the store says
 * so with sd_store_info.remote). On the last call, a request whose route
 * may call the store has its connection suspended and is handed to a
 * request thread (reqpool.c), which runs the route's synchronous handler
 * and resumes the connection; MHD then calls the access handler once
 * more, which queues the answer. The HTTP thread meanwhile serves its
 * other connections, so routes flagged SD_ROUTE_NO_STORE (/health) and
 * every early refusal (404, 405, 413, ...) are answered at once however
 * long Redis takes. With the memory store, which never waits on I/O,
 * every request is answered inline: a hand-off would only cost time.
 *
 * Routes flagged SD_ROUTE_NO_WAIT (GET /status/<id>, the poll) skip the
 * hand-off: their handler runs on the HTTP thread, starts the store's
 * read without waiting (its commands pipelined with every other
 * request's on one connection), and suspends the request until the
 * answer resumes it; only what must wait (a renewal to write, a held
 * long-poll) goes to a request thread (sd_req_blocking).
 *
 * Stopping ends the store's reads in flight and drains the request
 * threads before the daemon stops, so every suspended connection has
 * been resumed when MHD_stop_daemon runs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/access.h"
#include "http/conn_guard.h"
#include "http/connlimit.h"
#include "http/listener.h"
#include "http/reqpool.h"
#include "http/request.h"
#include "http/router.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/log.h"

struct sd_http {
    struct MHD_Daemon *daemon;
    sd_guard *guard;
    sd_access access;
    sd_app *app;
    const sd_route *routes;
    size_t nroutes;
    size_t max_body;
    unsigned port;
    sd_metrics *metrics;
    sd_connlimit *connlimit;   /* per_ip_connection_limit; NULL when off */
    sd_reqpool *offload;       /* request threads; NULL: all answered inline */
    char *route_names;         /* "GET /status/:id\0..." for the metrics */
    const char **route_name;
};

/*
 * What statusd keeps per connection, as MHD's socket context: the slow
 * client guard's entry and whether per_ip_connection_limit counted it.
 * Made when MHD sets the connection up, freed when it closes it (the
 * notifications come in pairs); a connection whose state could not be
 * allocated goes unguarded and uncounted.
 */
typedef struct http_conn {
    sd_conn *cx;          /* NULL when the guard could not take it */
    bool counted;
} http_conn;

/* The guard's entry of conn, or NULL. */
static sd_conn *conn_guarded(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const http_conn *hc = ci != NULL ? ci->socket_context : NULL;
    return hc != NULL ? hc->cx : NULL;
}

/* ---- request accessors ---- */

sd_app *sd_req_app(const sd_req *r) { return r->app; }
const char *sd_req_method(const sd_req *r) { return r->method; }

const char *sd_req_param(const sd_req *r, size_t i, size_t *len)
{
    if (i >= r->nparams) {
        *len = 0;
        return "";
    }
    *len = r->params[i].len;
    return r->params[i].p;
}

bool sd_req_query(sd_req *r, const char *key, const char **value)
{
    char why[200];
    if (sd_query_get(&r->query, key, value, why, sizeof why) == SD_OK)
        return true;
    sd_resp_problem(r, SD_ERR_INVALID, "%s", why);
    return false;
}

const char *sd_req_header(const sd_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sd_req_body(const sd_req *r, size_t *len)
{
    *len = r->body.len;
    return r->body.data != NULL ? r->body.data : "";
}

cJSON *sd_req_json(const sd_req *r) { return r->json; }

const char *sd_req_bearer(sd_req *r, size_t *len)
{
    return sd_access_bearer(sd_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION), len);
}

bool sd_req_is_admin(sd_req *r)
{
    return sd_access_is_admin(r->access, sd_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION));
}

const char *sd_req_client_key(sd_req *r)
{
    if (r->client_key[0] == '\0')
        sd_client_limit_key(sd_req_client(r), (unsigned)r->app->cfg->ipv6_prefix,
                            r->client_key, sizeof r->client_key);
    return r->client_key;
}

const char *sd_req_client(sd_req *r)
{
    if (r->client[0] == '\0')
        sd_access_client(r->access, r->conn, r->client, sizeof r->client);
    return r->client;
}

/* ---- the state machine ---- */

/* How much of a refused or unwanted body is read and dropped so that the
 * answer can still be sent on a kept-alive connection. */
static size_t discard_limit(const sd_req *r)
{
    return r->max_body > 1024 * 1024 ? r->max_body : 1024 * 1024;
}

static void req_free(sd_req *r)
{
    if (r == NULL)
        return;
    cJSON_Delete(r->json);
    free(r->path);
    sd_query_free(&r->query);
    sd_buf_free(&r->body);
    sd_buf_free(&r->resp_headers);
    free(r->resp_body);
    free(r);
}

/* Counts the Content-Length and Transfer-Encoding header lines. */
typedef struct length_headers {
    unsigned content_length, transfer_encoding;
} length_headers;

static enum MHD_Result count_length_headers(void *cls, enum MHD_ValueKind kind,
                                            const char *key, const char *value)
{
    (void)kind;
    (void)value;
    length_headers *n = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        n->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        n->transfer_encoding++;
    return MHD_YES;
}

/* Decodes the path and the query of the raw target into r. SD_OK, or
 * SD_ERR_INVALID with r->early_detail set, or SD_ERR_NOMEM. */
static sd_err req_decode_target(sd_http *h, sd_req *r)
{
    const char *target = sd_conn_target(r->cx);
    const char *q = strchr(target, '?');
    size_t plen = q != NULL ? (size_t)(q - target) : strlen(target);
    r->path = malloc(plen + 1);
    if (r->path == NULL)
        return SD_ERR_NOMEM;
    size_t ctl;
    size_t n = sd_percent_decode(target, plen, r->path, 0, &ctl);
    r->url = r->path;
    if (ctl != SIZE_MAX) {
        /* Named by the route's parameter it falls in, when it does: the
         * path is routed with the control characters masked. */
        for (size_t i = ctl; i < n; i++)
            if ((unsigned char)r->path[i] < 0x20 || r->path[i] == 0x7f)
                r->path[i] = '?';
        const sd_route *route = NULL;
        sd_span params[SD_ROUTE_MAX_PARAMS];
        size_t np = 0;
        char allow[64];
        const char *name = NULL;
        if (sd_router_match(h->routes, h->nroutes, r->method, r->path, &route, params, &np,
                            allow, sizeof allow) == SD_OK)
            name = sd_route_param_name(route, r->path, params, np, ctl);
        if (name != NULL)
            snprintf(r->early_detail, sizeof r->early_detail,
                     "the path parameter %s holds a control character once decoded", name);
        else
            snprintf(r->early_detail, sizeof r->early_detail,
                     "the path holds a control character once decoded");
        return SD_ERR_INVALID;
    }
    if (q == NULL)
        return SD_OK;
    return sd_query_parse(q + 1, strlen(q + 1), &r->query, r->early_detail,
                          sizeof r->early_detail);
}

/* First call: route, and check what can be checked from headers alone. */
static void req_route(sd_http *h, sd_req *r)
{
    const char *origin = sd_req_header(r, "Origin");
    r->cors_on = h->access.cors_on;
    if (sd_access_origin_allowed(&h->access, origin))
        r->cors_origin = origin;
    length_headers lh = {0, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_length_headers, &lh);
    if (lh.content_length > 1 || (lh.content_length > 0 && lh.transfer_encoding > 0)) {
        snprintf(r->early_detail, sizeof r->early_detail, "%s",
                 lh.content_length > 1
                     ? "more than one Content-Length header"
                     : "Content-Length and Transfer-Encoding together");
        r->early_err = SD_ERR_INVALID;
        r->ambiguous = true;
        return;
    }
    r->early_err = req_decode_target(h, r);
    if (r->early_err != SD_OK)
        return;
    r->early_err = sd_router_match(h->routes, h->nroutes, r->method, r->url,
                                   &r->route, r->params, &r->nparams,
                                   r->allow, sizeof r->allow);
    if (r->early_err == SD_ERR_METHOD && strcmp(r->method, "OPTIONS") == 0)
        return; /* answered with the Allow list, see req_dispatch */
    if (r->early_err != SD_OK)
        return;
    r->early_err = sd_access_check(&h->access, r->route->flags,
                                   sd_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION));
    if (r->early_err != SD_OK || !(r->route->flags & SD_ROUTE_BODY))
        return;
    const char *ctype = sd_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!sd_media_type_in(ctype, r->route->media_type)) {
        r->early_err = SD_ERR_MEDIA_TYPE;
        return;
    }
    const char *clen = sd_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n = 0;
    if (clen != NULL && sd_parse_i64(clen, 0, INT64_MAX, &n) == SD_OK &&
        (uint64_t)n > r->max_body)
        r->early_err = SD_ERR_TOO_LARGE;
}

static void req_dispatch(sd_req *r)
{
    if (r->early_err == SD_ERR_METHOD && strcmp(r->method, "OPTIONS") == 0) {
        sd_resp_header(r, "Allow", r->allow);
        if (r->cors_origin != NULL &&
            sd_req_header(r, "Access-Control-Request-Method") != NULL) {
            sd_resp_header(r, "Access-Control-Allow-Methods", r->allow);
            sd_resp_header(r, "Access-Control-Allow-Headers",
                           "Authorization, Content-Type, Idempotency-Key, "
                           "If-None-Match, Last-Event-ID, Prefer, X-Request-Id");
            sd_resp_header(r, "Access-Control-Max-Age", "600");
        }
        sd_resp_empty(r, 204);
        return;
    }
    switch (r->early_err) {
    case SD_OK:
        break;
    case SD_ERR_NOT_FOUND:
        sd_resp_problem(r, SD_ERR_NOT_FOUND, "no resource at %s", r->url);
        return;
    case SD_ERR_METHOD:
        sd_resp_problem(r, SD_ERR_METHOD, "%s is not allowed on %s; allowed: %s",
                        r->method, r->url, r->allow);
        return;
    case SD_ERR_MEDIA_TYPE:
        sd_resp_problem(r, SD_ERR_MEDIA_TYPE, "Content-Type must be %s",
                        r->route != NULL ? r->route->media_type : "application/json");
        return;
    case SD_ERR_TOO_LARGE:
        sd_resp_problem(r, SD_ERR_TOO_LARGE, "body is larger than %zu bytes",
                        r->max_body);
        return;
    case SD_ERR_UNAUTHORIZED:
        sd_resp_problem(r, SD_ERR_UNAUTHORIZED,
                        "this endpoint needs Authorization: Bearer <token>");
        return;
    case SD_ERR_FORBIDDEN:
        sd_resp_problem(r, SD_ERR_FORBIDDEN,
                        "admin endpoints are disabled: admin_token is not set");
        return;
    case SD_ERR_INVALID:
        if (r->ambiguous) {
            sd_resp_header(r, "Connection", "close");
            sd_resp_problem(r, SD_ERR_INVALID, "the body's length is ambiguous: %s",
                            r->early_detail);
            return;
        }
        sd_resp_problem(r, SD_ERR_INVALID, "%s", r->early_detail);
        return;
    default:
        sd_resp_problem(r, r->early_err, "request refused");
        return;
    }
    if (r->route->flags & SD_ROUTE_BODY) {
        if (!sd_buf_ok(&r->body)) {
            sd_resp_problem(r, SD_ERR_NOMEM, "could not buffer the body");
            return;
        }
        if (r->body.len == 0) {
            sd_resp_problem(r, SD_ERR_BAD_JSON, "a JSON body is required");
            return;
        }
        char where[128];
        sd_err err = sd_json_parse_at(r->body.data, r->body.len, SD_JSON_MAX_DEPTH, &r->json,
                                      where, sizeof where);
        if (err == SD_ERR_TOO_DEEP) {
            sd_resp_problem(r, err, "JSON is nested deeper than %d levels",
                            SD_JSON_MAX_DEPTH);
            return;
        }
        if (err == SD_ERR_INVALID) {
            sd_resp_problem(r, err, "the number at '%s' is out of range (finite double "
                                    "precision numbers only)", where[0] != '\0' ? where : "(body)");
            return;
        }
        if (err != SD_OK) {
            sd_resp_problem(r, err, err == SD_ERR_BAD_JSON
                                        ? "body is not valid UTF-8 JSON"
                                        : "could not parse the body");
            return;
        }
    }
    if ((r->route->flags & SD_ROUTE_LIMIT_SUBMIT) &&
        !sd_req_ratelimit(r, "submit", sd_req_client_key(r), r->app->cfg->ratelimit_submit))
        return;
    r->route->fn(r);
}

/* Runs r's handler, or for a request resumed after a hold what its
 * holder asked to run then (which may hold it again). */
static void req_run(sd_req *r)
{
    sd_req_again_fn again = r->again;
    if (again == NULL) {
        req_dispatch(r);
        return;
    }
    r->again = NULL;
    again(r, r->again_arg);
}

/*
 * A request thread runs req_run for a suspended connection's request.
 * An answered request is resumed at once, and the access handler queues
 * the answer on its next call. A held one (its handler called
 * sd_req_suspend, which left the connection suspended) is resumed only
 * when it was woken meanwhile (hold.c's sd_req_resume saw it running and
 * left the resume to this thread); else its wake resumes it later.
 */
static void req_run_offloaded(void *arg, sd_task *t)
{
    (void)arg;
    sd_req *r = (sd_req *)(void *)((char *)t - offsetof(sd_req, task));
    r->may_block = true;
    req_run(r);
    bool held = r->again != NULL;
    unsigned was = atomic_fetch_and(&r->oflags, ~(unsigned)SD_REQ_RUNNING);
    if (!held || (was & SD_REQ_WOKEN))
        MHD_resume_connection(r->conn);
}

/* True when what runs next for r goes to a request thread: anything
 * that may wait on the store, on a server that has them. That is every
 * request that passed the early checks, except routes flagged
 * SD_ROUTE_NO_STORE, and routes flagged SD_ROUTE_NO_WAIT until their
 * handler asks for it (sd_req_blocking). */
static bool req_to_thread(const sd_http *h, const sd_req *r)
{
    if (h->offload == NULL || r->early_err != SD_OK || r->route == NULL ||
        (r->route->flags & SD_ROUTE_NO_STORE))
        return false;
    return !(r->route->flags & SD_ROUTE_NO_WAIT) || r->blocking;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)url;
    sd_http *h = cls;
    sd_req *r = *req_cls;

    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        r->app = h->app;
        r->access = &h->access;
        r->conn = conn;
        r->method = method;
        r->url = "";
        r->max_body = h->max_body;
        r->start_us = sd_mono_us();
        r->cx = conn_guarded(conn);
        *req_cls = r;
        sd_req_assign_id(r);
        req_route(h, r);
        if (r->early_err == SD_ERR_TOO_LARGE || r->ambiguous) {
            /* Refuse before reading; MHD closes the connection after. */
            sd_guard_phase(h->guard, r->cx, SD_CONN_ANSWER);
            req_dispatch(r);
            return sd_req_queue(r);
        }
        atomic_init(&r->oflags, 0);
        sd_guard_phase(h->guard, r->cx, SD_CONN_BODY);
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        bool wanted = r->early_err == SD_OK && r->route != NULL &&
                      (r->route->flags & SD_ROUTE_BODY);
        if (wanted && n <= r->max_body - r->body.len) {
            sd_buf_append(&r->body, upload_data, n);
            return MHD_YES;
        }
        if (wanted) {
            /* Too large without saying so up front (chunked): MHD cannot
             * queue an answer mid-body, so the rest is read and dropped
             * and the 413 goes out on the last call. */
            r->early_err = SD_ERR_TOO_LARGE;
            sd_buf_free(&r->body);
        }
        /* A body nobody reads is dropped, but only up to a bound: past
         * it the connection is closed without an answer rather than
         * read forever. */
        r->discarded += n;
        return r->discarded > discard_limit(r) ? MHD_NO : MHD_YES;
    }

    if (r->queued)
        return MHD_YES;
    if (r->offloaded) {
        /* Resumed by its request thread: answered, or held and woken. */
        r->offloaded = false;
        if (r->again == NULL)
            return sd_req_queue(r);
    } else {
        sd_guard_phase(h->guard, r->cx, SD_CONN_ANSWER);
    }
    /* The handler (r->again == NULL) or, for a request resumed after a
     * hold (hold.c), what runs then: on a request thread when it may wait
     * on the store and there are some, else here. What runs here may hand
     * itself on to a request thread (sd_req_blocking), once. */
    for (;;) {
        if (req_to_thread(h, r)) {
            r->offloaded = true;
            r->handoff = false;
            atomic_store(&r->oflags, SD_REQ_RUNNING);
            MHD_suspend_connection(conn);
            if (sd_reqpool_push(h->offload, &r->task))
                return MHD_YES;
            /* Stopping: the request threads are gone; run it here, as a
             * request thread would (the connection stays suspended). */
            atomic_store(&r->oflags, 0);
            r->may_block = true;
            req_run(r);
            if (r->again == NULL)
                MHD_resume_connection(conn);
            return MHD_YES;
        }
        r->may_block = h->offload == NULL;
        r->handoff = false;
        req_run(r);
        if (r->again == NULL)
            return sd_req_queue(r);
        if (!r->handoff)
            return MHD_YES; /* held: suspended by what ran */
        /* handed on: req_to_thread is now true */
    }
}

/* The raw request target, before MHD decodes it in place. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    sd_http *h = cls;
    sd_conn *cx = conn_guarded(conn);
    sd_guard_request_line(h->guard, cx);
    if (cx != NULL && sd_conn_set_target(cx, uri) != SD_OK)
        sd_conn_set_target(cx, "");
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    sd_http *h = cls;
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn *hc = calloc(1, sizeof *hc);
        *socket_context = hc;
        if (hc == NULL)
            return;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc->cx = ci != NULL ? sd_guard_open(h->guard, ci->connect_fd) : NULL;
        hc->counted = h->connlimit != NULL && addr != NULL && addr->client_addr != NULL &&
                      sd_connlimit_enter(h->connlimit, addr->client_addr);
        return;
    }
    http_conn *hc = *socket_context;
    *socket_context = NULL;
    if (hc == NULL)
        return;
    sd_guard_close(h->guard, hc->cx);
    if (hc->counted && addr != NULL && addr->client_addr != NULL)
        sd_connlimit_leave(h->connlimit, addr->client_addr);
    free(hc);
}

/* The accept policy: per_ip_connection_limit first, then room among the
 * connections waiting for headers (conn_guard.h). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    sd_http *h = cls;
    if (h->connlimit != NULL && !sd_connlimit_allows(h->connlimit, addr))
        return MHD_NO;
    sd_guard_admit(h->guard);
    return MHD_YES;
}

/* The access line of an answered request: at info with access_log on,
 * else at debug. Its route is the pattern that served it, "unmatched"
 * when none did. */
static void access_line(sd_http *h, sd_req *r, int64_t micros, bool completed)
{
    sd_log_level level = h->app->cfg->access_log == SD_ON ? SD_LOG_INFO : SD_LOG_DEBUG;
    if (!sd_log_enabled(level))
        return;
    const char *method = r->method != NULL ? r->method : "";
    const char *route = r->route != NULL ? r->route->pattern : "unmatched";
    sd_log_fields f = {.request_id = r->request_id, .method = method, .route = route,
                       .status = r->status, .timed = true,
                       .duration_ms = (double)micros / 1000.0, .client = sd_req_client(r)};
    sd_log_with(level, &f, "%s %s %u%s", method, r->url != NULL ? r->url : "", r->status,
                completed ? "" : " (aborted)");
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    sd_req *r = *req_cls;
    if (r == NULL)
        return;
    sd_http *h = cls;
    sd_guard_phase(h->guard, r->cx, SD_CONN_IDLE);
    int64_t micros = sd_mono_us() - r->start_us;
    if (r->queued)
        sd_metrics_request(h->metrics, r->route != NULL ? (size_t)(r->route - h->routes)
                                                        : h->nroutes,
                           r->status, micros);
    access_line(h, r, micros, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (r->on_end != NULL)
        r->on_end(r->on_end_arg);
    req_free(r);
    *req_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sd_debug("http: %s", msg);
}

static void http_free(sd_http *h)
{
    sd_connlimit_free(h->connlimit);
    sd_guard_free(h->guard);
    sd_metrics_free(h->metrics);
    free(h->route_names);
    free(h->route_name);
    free(h);
}

/* The metrics, with each route named "METHOD pattern". */
static sd_err http_metrics_new(sd_http *h, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < h->nroutes; i++)
        total += strlen(h->routes[i].method) + strlen(h->routes[i].pattern) + 2;
    h->route_names = malloc(total + 1);
    h->route_name = calloc(h->nroutes + 1, sizeof *h->route_name);
    if (h->route_names == NULL || h->route_name == NULL) {
        snprintf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    char *p = h->route_names;
    for (size_t i = 0; i < h->nroutes; i++) {
        h->route_name[i] = p;
        p += sprintf(p, "%s %s", h->routes[i].method, h->routes[i].pattern) + 1;
    }
    sd_err e = sd_metrics_new(h->route_name, h->nroutes, &h->metrics);
    if (e != SD_OK)
        snprintf(err, errlen, "out of memory");
    return e;
}

sd_err sd_http_start(sd_app *app, const sd_route *routes, size_t nroutes, sd_http **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    const sd_config *cfg = app->cfg;
    sd_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    h->app = app;
    h->routes = routes;
    h->nroutes = nroutes;
    h->max_body = (size_t)cfg->max_body;
    sd_err e = sd_access_init(&h->access, cfg, err, errlen);
    if (e == SD_OK)
        e = http_metrics_new(h, err, errlen);
    if (e != SD_OK) {
        http_free(h);
        return e;
    }
    app->metrics = h->metrics;
    if (cfg->per_ip_connection_limit > 0) {
        e = sd_connlimit_new((unsigned)cfg->per_ip_connection_limit,
                             (unsigned)cfg->ipv6_prefix, &h->connlimit);
        if (e != SD_OK) {
            snprintf(err, errlen, "out of memory");
            app->metrics = NULL;
            http_free(h);
            return e;
        }
    }

    int nofile = sd_listen_raise_nofile();
    size_t limit = (size_t)cfg->max_connections;
    if (nofile > 0 && limit > (size_t)nofile / 2) {
        /* Each connection needs a descriptor, and statusd its others
         * (Redis, job pipes, logs): half of them are kept back. */
        sd_warn("max_connections %zu lowered to %d: the open-file limit is %d",
                limit, nofile / 2, nofile);
        limit = (size_t)nofile / 2;
    }
    sd_info("open-file limit %d, at most %zu connections, %zu of them waiting for "
            "headers", nofile, limit, limit / 2 > 0 ? limit / 2 : 1);
    e = sd_guard_new(cfg->header_timeout * 1000, cfg->connection_timeout * 1000,
                     cfg->body_timeout * 1000, limit / 2, &h->guard, err, errlen);
    int fd = -1;
    if (e == SD_OK) {
        fd = sd_listen_open(cfg->bind, (unsigned)cfg->port, err, errlen);
        if (fd < 0)
            e = SD_ERR_INTERNAL;
    }
    if (e != SD_OK) {
        app->metrics = NULL;
        http_free(h);
        return e;
    }
    sd_store_info store;
    sd_store_info_get(app->store, &store);
    if (store.remote) {
        /* Several request threads per HTTP thread (statusd/config.h),
         * sharing the store's connections. */
        e = sd_reqpool_new((size_t)sd_config_request_threads(cfg), req_run_offloaded, h,
                           &h->offload, err, errlen);
        if (e != SD_OK) {
            close(fd);
            app->metrics = NULL;
            http_free(h);
            return e;
        }
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (strchr(cfg->bind, ':') != NULL)
        flags |= MHD_USE_IPv6;

    h->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, on_accept, h, on_access, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->connection_memory_limit,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        sd_reqpool_free(h->offload);
        h->offload = NULL;
        close(fd);
        snprintf(err, errlen, "cannot start the HTTP server on %s:%lld", cfg->bind,
                 (long long)cfg->port);
        app->metrics = NULL;
        http_free(h);
        return SD_ERR_INTERNAL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : (unsigned)cfg->port;
    *out = h;
    return SD_OK;
}

unsigned sd_http_port(const sd_http *h) { return h->port; }

void sd_http_quiesce(sd_http *h)
{
    if (h == NULL || h->daemon == NULL)
        return;
    MHD_socket s = MHD_quiesce_daemon(h->daemon);
    if (s != MHD_INVALID_SOCKET)
        close(s);
}

void sd_http_stop(sd_http *h)
{
    if (h == NULL)
        return;
    /* The store's reads in flight end first (each resumes its request),
     * then every request handed off runs and its connection is resumed before
     * the daemon stops (MHD refuses to stop with suspended ones); one
     * that comes meanwhile is refused by the stopped pool and answered on
     * its HTTP thread. The pool is freed once no HTTP thread is left to
     * push to it. */
    sd_store_poll_stop(h->app->store);
    sd_reqpool_stop(h->offload);
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    sd_reqpool_free(h->offload);
    h->offload = NULL;
    h->app->metrics = NULL;
    http_free(h);
}
