#ifndef SD_TEST_FAULT_PROXY_H
#define SD_TEST_FAULT_PROXY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A TCP proxy on a free port of 127.0.0.1 in front of a server on
 * loopback (Redis), that loses one answer on purpose: a thread of its own
 * forwards bytes both ways between each client connection and a fresh
 * connection to the server, until it is armed with a byte pattern. Then
 * the first connection whose client-to-server bytes hold the pattern (in
 * one read, or across two) has them forwarded, and from there on what the
 * server sends back is kept, not forwarded: once the server has answered
 * and then stayed quiet for the armed hold time, both ends of that
 * connection are closed. The server has run the command, the client never
 * hears of it. The proxy is then disarmed and forwards every connection,
 * new ones too, as before.
 *
 *     fault_proxy *p = fault_proxy_start(redis_port);
 *     fault_proxy_arm(p, ":n0\r\n", 5, 100);
 *     ... point the client at fault_proxy_port(p) ...
 *     assert_int_equal(fault_proxy_fired(p), 1);
 *     fault_proxy_stop(p);
 */

typedef struct fault_proxy fault_proxy;

/* Starts the proxy to 127.0.0.1:server_port; NULL on failure (reason on
 * stderr). */
fault_proxy *fault_proxy_start(unsigned server_port);

/* Where the proxy listens, on 127.0.0.1. */
unsigned fault_proxy_port(const fault_proxy *p);

/* Arms the proxy with pattern (len bytes, 1..64, copied) and the time
 * the server must stay quiet after answering before the connection is
 * closed, hold_ms (at least 1; it must stay below the client's command
 * timeout); replaces an earlier pattern not yet met. */
void fault_proxy_arm(fault_proxy *p, const void *pattern, size_t len, int hold_ms);

/* How many connections the proxy has closed on a pattern. */
int fault_proxy_fired(fault_proxy *p);

/* Whether the answer the last firing kept from the client holds text. */
bool fault_proxy_dropped_has(fault_proxy *p, const char *text);

/* Closes every connection, joins the thread and frees p. NULL is fine. */
void fault_proxy_stop(fault_proxy *p);

#endif
