#ifndef STATUSD_HTTP_LISTENER_H
#define STATUSD_HTTP_LISTENER_H

#include <stddef.h>

/*
 * The listening socket, made here rather than by libmicrohttpd so that a
 * port already in use is an error with its cause: SO_REUSEADDR only,
 * never SO_REUSEPORT, which would let a second instance share the port
 * and the kernel split clients between two processes that do not share
 * their state.
 */

/* A listening TCP socket on bind:port (numeric IPv4 or IPv6; port 0 picks
 * one), close-on-exec. The descriptor, or -1 with a reason naming the
 * address in err ("127.0.0.1:8080 is already in use ..."). */
int sd_listen_open(const char *bind, unsigned port, char *err, size_t errlen);

/* Raises the soft open-file limit to the hard one as far as allowed; the
 * limit in force afterwards, or -1 when it cannot be read. */
int sd_listen_raise_nofile(void);

#endif
