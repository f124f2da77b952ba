#ifndef STATUSD_HTTP_REQUEST_H
#define STATUSD_HTTP_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "http/access.h"
#include "http/conn_guard.h"
#include "http/query.h"
#include "http/reqpool.h"
#include "http/router.h"
#include "statusd/http.h"

/* The request id length: a client's own (1..128 safe characters) or a
 * generated one of 32 hex digits. */
#define SD_REQUEST_ID_MAX 128

/*
 * One request, from the first call of the access handler to MHD's
 * completion notice. Owned by the connection (req_cls) and freed in the
 * completion callback.
 */
struct sd_req {
    sd_app *app;
    const sd_access *access;
    struct MHD_Connection *conn;
    sd_conn *cx;                    /* the connection's guard entry, or NULL */
    const char *method;
    const char *url;                /* decoded path, without the query string */
    char *path;                     /* malloc'd; url points here */
    sd_query query;                 /* decoded query string */
    char early_detail[256];         /* detail of an SD_ERR_INVALID early_err */
    bool ambiguous;                 /* the body's length is: refused, closed */
    int64_t start_us;               /* monotonic, at the first call */

    const sd_route *route;          /* NULL when early_err is set */
    sd_err early_err;               /* decided before the body was read */
    char allow[64];                 /* for SD_ERR_METHOD */
    sd_span params[SD_ROUTE_MAX_PARAMS];
    size_t nparams;

    sd_buf body;
    size_t max_body;
    size_t discarded;               /* body bytes read and dropped */
    cJSON *json;

    char request_id[SD_REQUEST_ID_MAX + 1];
    char client[SD_ADDR_TEXT_LEN];  /* sd_req_client, filled on first use */
    char client_key[SD_ADDR_KEY_LEN];   /* sd_req_client_key, likewise */
    bool cors_on;                   /* cors_origins is set: Vary: Origin */
    const char *cors_origin;        /* the request's Origin when allowed */

    /* handed to a request thread while the connection is suspended */
    sd_task task;
    bool offloaded;                 /* set before the hand-off */
    bool may_block;                 /* what runs now may wait on the store */
    bool blocking;                  /* sd_req_blocking: runs on request threads */
    bool handoff;                   /* sd_req_blocking left again to hand off */
    atomic_uint oflags;             /* SD_REQ_RUNNING, SD_REQ_WOKEN */

    /* the response, built by a handler, queued by the server */
    bool responded;
    bool queued;
    unsigned status;
    const char *content_type;
    char *resp_body;                /* malloc'd, handed to MHD */
    size_t resp_len;
    sd_buf resp_headers;            /* "name\0value\0" pairs */
    sd_stream_fn stream;            /* a streamed body's reader, or NULL */
    void *stream_arg;

    /* held (http/hold.c): what runs once it is resumed, and at its end */
    sd_req_again_fn again;          /* set while suspended by a handler */
    void *again_arg;
    void (*on_end)(void *arg);
    void *on_end_arg;
};

/* r->oflags: a request thread runs the request (from the hand-off until
 * it is done with it), and a wake came for it meanwhile (hold.c). */
#define SD_REQ_RUNNING 1u
#define SD_REQ_WOKEN 2u

/* Sets r->request_id from the client's X-Request-Id when well-formed,
 * else a new one. */
void sd_req_assign_id(sd_req *r);

/* The MHD response of a streamed body (sd_resp_stream), or NULL. */
struct MHD_Response *sd_req_stream_response(sd_req *r);

/* Builds the MHD response of r and queues it. */
enum MHD_Result sd_req_queue(sd_req *r);

#endif
