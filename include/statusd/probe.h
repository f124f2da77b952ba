#ifndef STATUSD_PROBE_H
#define STATUSD_PROBE_H

#include <stddef.h>

#include "statusd/config.h"
#include "statusd/error.h"

/*
 * `statusd --probe`: a health check that needs nothing in a container
 * image but statusd itself (no curl). It reads the same configuration as
 * the server, sends GET /health to the server's own port on this host and
 * turns the answer into an exit status, as Docker's HEALTHCHECK wants:
 * 0 healthy, 1 not. One non-blocking socket under one deadline; no
 * threads and no allocation, so it can run every few seconds at no cost.
 */

/* Milliseconds the whole probe may take: connect, request and status line. */
#define SD_PROBE_TIMEOUT_MS 2000

/* Room for any address sd_probe_address writes. */
#define SD_PROBE_ADDR_LEN 64

/*
 * The address a probe of this configuration connects to, into out
 * (SD_PROBE_ADDR_LEN bytes): cfg->bind, except that the wildcard
 * addresses become loopback ones of their family, 0.0.0.0 -> 127.0.0.1
 * and :: -> ::1 (an IPv6 listener is IPv6-only, so 127.0.0.1 would miss
 * it).
 */
void sd_probe_address(const sd_config *cfg, char *out, size_t outlen);

/*
 * Sends "GET /health" to the numeric address addr (IPv4 or IPv6) and
 * port, and reads the status line of the answer, all within timeout_ms.
 * SD_OK with *status set (any status, 200 or not) when a well-formed
 * HTTP/1.x status line came back; SD_ERR_UNAVAILABLE with a one-line
 * reason in err when the connection failed, timed out or the answer was
 * not HTTP; SD_ERR_INVALID for an address that is not numeric.
 */
sd_err sd_probe_health(const char *addr, unsigned port, int timeout_ms, int *status,
                       char *err, size_t errlen);

/*
 * What `statusd --probe` does with a loaded configuration: probes
 * sd_probe_address(cfg):cfg->port with SD_PROBE_TIMEOUT_MS and returns
 * the process exit status, 0 on a 200 answer and 1 otherwise, writing one
 * line saying what it found on stdout (healthy) or stderr (not).
 */
int sd_probe_main(const sd_config *cfg);

#endif
