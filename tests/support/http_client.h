#ifndef SD_TEST_HTTP_CLIENT_H
#define SD_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A small blocking HTTP/1.1 client for tests: keep-alive connections,
 * Content-Length and chunked bodies, a receive timeout so a test never
 * hangs on a silent server. Talks to 127.0.0.1, or to ::1.
 */

#define HTTP_MAX_HEADERS 64

typedef struct http_resp {
    int status;
    size_t nheaders;
    char *names[HTTP_MAX_HEADERS];
    char *values[HTTP_MAX_HEADERS];
    char *body;          /* NUL-terminated */
    size_t body_len;
} http_resp;

/* A connection to 127.0.0.1:port (or [::1]:port, see below), or -1.
 * timeout_ms bounds every read. */
int http_connect(unsigned port, int timeout_ms);

/* The same from a source address on loopback (an IPv4 address such as
 * "127.0.0.2"; NULL: the kernel's choice, 127.0.0.1). */
int http_connect_from(const char *source, unsigned port, int timeout_ms);
/* From now on, every connection of this process goes to ::1 (on) or
 * 127.0.0.1 (off, the default): for a statusd bound to ::1. */
void http_client_use_ipv6(bool on);

/*
 * Sends one request on fd and reads the response. extra_headers: raw
 * "Name: value\r\n" lines or NULL. body may be NULL. For HEAD, no body is
 * read. 0 on success, -1 on a transport error or timeout.
 */
int http_request(int fd, const char *method, const char *path,
                 const char *extra_headers, const char *body, size_t body_len,
                 http_resp *out);

/* Reads one response from fd (for HEAD, no body): 0, or -1 on a
 * transport error or timeout. */
int http_read_response(int fd, bool head, http_resp *out);

/* Connects, sends one request, closes. Body and content type are JSON
 * when body is given unless extra_headers says otherwise. */
int http_do(unsigned port, const char *method, const char *path,
            const char *extra_headers, const char *body, http_resp *out);

/* http_do from a source address, as http_connect_from. */
int http_do_from(const char *source, unsigned port, const char *method, const char *path,
                 const char *extra_headers, const char *body, http_resp *out);

/* The first header with that name (case-insensitive), or NULL. */
const char *http_header(const http_resp *r, const char *name);

void http_resp_free(http_resp *r);

/* Sends all n bytes on the socket fd, without SIGPIPE; false on an
 * error (the peer gone). */
bool http_send_all(int fd, const void *buf, size_t n);

/* Sends raw bytes and reads whatever comes back until the peer closes or
 * timeout_ms passes; returns the bytes read (NUL-terminated in out). */
size_t http_raw(unsigned port, const void *raw, size_t len, char *out,
                size_t outlen, int timeout_ms);

#endif
