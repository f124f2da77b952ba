#ifndef STATUSD_HTTP_CONN_GUARD_H
#define STATUSD_HTTP_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * Deadlines for slow clients, which libmicrohttpd's idle timeout cannot
 * give (every byte resets it).
 *
 * Every open connection is in one phase: waiting for a request's headers
 * (from its accept, or on a kept-alive connection from the end of its
 * request line), idle between two requests of a kept-alive connection,
 * reading the body (from the end of the headers), or being answered. A
 * watchdog thread shuts down the socket of a connection that has been
 * waiting for headers longer than header_ms, idle longer than idle_ms
 * (connection_timeout: a proxy's pooled connections wait there), or
 * reading a body longer than body_ms, however many bytes trickled in
 * meanwhile; libmicrohttpd then sees the end of the stream and closes it.
 *
 * Connections still waiting for headers (idle ones included) cost a
 * client nothing, so they are also capped: when header_cap of them are open, a new connection makes
 * room by closing the one that has waited longest. A client that sends
 * its request promptly is served in milliseconds and is never the oldest,
 * whatever number of slow connections keeps arriving from however many
 * addresses.
 *
 * shutdown() is called only under the guard's lock, and a connection
 * leaves the guard (sd_guard_close, from MHD's closed notice) before MHD
 * closes its descriptor, so the descriptor shut down is always the
 * connection's own.
 */

typedef struct sd_guard sd_guard;
typedef struct sd_conn sd_conn;

typedef enum sd_conn_phase {
    SD_CONN_HEADERS = 0,
    SD_CONN_IDLE,
    SD_CONN_BODY,
    SD_CONN_ANSWER
} sd_conn_phase;

/* Starts the watchdog of the guard put in *out. SD_ERR_NOMEM, or
 * SD_ERR_INTERNAL when a lock or its thread cannot be made: *out is then
 * NULL and err has the reason. */
sd_err sd_guard_new(int64_t header_ms, int64_t idle_ms, int64_t body_ms, size_t header_cap,
                    sd_guard **out, char *err, size_t errlen);
/* Stops the watchdog and frees g; every connection must have left it. */
void sd_guard_free(sd_guard *g);

/* Makes room for a new connection (see above). */
void sd_guard_admit(sd_guard *g);
/* A connection on fd, waiting for headers; NULL when out of memory (the
 * connection is then not guarded). */
sd_conn *sd_guard_open(sd_guard *g, int fd);
/* The connection leaves the guard and is freed; c may be NULL. */
void sd_guard_close(sd_guard *g, sd_conn *c);
/* The connection moves to phase p, whose clock starts now. */
void sd_guard_phase(sd_guard *g, sd_conn *c, sd_conn_phase p);
/* A request line arrived: an idle connection starts waiting for headers
 * (a new connection has been waiting since its accept). */
void sd_guard_request_line(sd_guard *g, sd_conn *c);

/* The raw request target of the connection's current request (path and
 * query, before any decoding), kept by sd_conn_set_target; "" if none. */
sd_err sd_conn_set_target(sd_conn *c, const char *target);
const char *sd_conn_target(const sd_conn *c);

#endif
