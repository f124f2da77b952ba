/* The tests' HTTP client. */
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static bool use_ipv6;

void http_client_use_ipv6(bool on) { use_ipv6 = on; }

int http_connect(unsigned port, int timeout_ms)
{
    return http_connect_from(NULL, port, timeout_ms);
}

int http_connect_from(const char *source, unsigned port, int timeout_ms)
{
    int fd = socket(use_ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (source != NULL && use_ipv6) {
        close(fd);
        return -1;
    }
    if (source != NULL) {
        struct sockaddr_in from;
        memset(&from, 0, sizeof from);
        from.sin_family = AF_INET;
        if (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&from, sizeof from) != 0) {
            close(fd);
            return -1;
        }
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (use_ipv6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        a6->sin6_addr = in6addr_loopback;
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool http_send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A read buffer over the socket. */
typedef struct rbuf {
    int fd;
    char *data;
    size_t len, cap, pos;
} rbuf;

static int rbuf_fill(rbuf *b)
{
    if (b->pos > 0 && b->pos == b->len)
        b->pos = b->len = 0;
    if (b->len + 4096 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16384;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    for (;;) {
        ssize_t r = recv(b->fd, b->data + b->len, b->cap - b->len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b->len += (size_t)r;
        b->data[b->len] = '\0';
        return 0;
    }
}

/* A line ending in CRLF, without it; NULL on error. Points into the buffer
 * until the next fill. */
static char *rbuf_line(rbuf *b)
{
    for (;;) {
        char *start = b->data != NULL ? b->data + b->pos : NULL;
        char *eol = start != NULL ? memmem(start, b->len - b->pos, "\r\n", 2) : NULL;
        if (eol != NULL) {
            *eol = '\0';
            b->pos = (size_t)(eol - b->data) + 2;
            return start;
        }
        if (b->pos > 0) {
            memmove(b->data, b->data + b->pos, b->len - b->pos);
            b->len -= b->pos;
            b->pos = 0;
        }
        if (rbuf_fill(b) != 0)
            return NULL;
    }
}

static int rbuf_take(rbuf *b, size_t n, char **out_body, size_t *out_len)
{
    char *body = realloc(*out_body, *out_len + n + 1);
    if (body == NULL)
        return -1;
    *out_body = body;
    while (n > 0) {
        if (b->pos == b->len && rbuf_fill(b) != 0)
            return -1;
        size_t have = b->len - b->pos;
        size_t k = have < n ? have : n;
        memcpy(body + *out_len, b->data + b->pos, k);
        *out_len += k;
        b->pos += k;
        n -= k;
    }
    body[*out_len] = '\0';
    return 0;
}

int http_read_response(int fd, bool head, http_resp *out)
{
    rbuf b = {fd, NULL, 0, 0, 0};
    int rc = -1;
    memset(out, 0, sizeof *out);
    char *line = rbuf_line(&b);
    if (line == NULL || strncmp(line, "HTTP/1.", 7) != 0)
        goto done;
    char *end = NULL;
    long status = strtol(line + 9, &end, 10);
    if (end == line + 9 || status < 100 || status > 999)
        goto done;
    out->status = (int)status;
    long long clen = -1;
    bool chunked = false;
    while ((line = rbuf_line(&b)) != NULL && *line != '\0') {
        char *colon = strchr(line, ':');
        if (colon == NULL || out->nheaders == HTTP_MAX_HEADERS)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        out->names[out->nheaders] = strdup(line);
        out->values[out->nheaders] = strdup(v);
        out->nheaders++;
        if (strcasecmp(line, "Content-Length") == 0) {
            errno = 0;
            clen = strtoll(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || clen < 0)
                goto done;
        }
        if (strcasecmp(line, "Transfer-Encoding") == 0 && strstr(v, "chunked") != NULL)
            chunked = true;
    }
    if (line == NULL)
        goto done;
    out->body = calloc(1, 1);
    if (out->body == NULL)
        goto done;
    if (head || out->status == 204 || out->status == 304 || (out->status >= 100 && out->status < 200)) {
        rc = 0;
    } else if (chunked) {
        for (;;) {
            line = rbuf_line(&b);
            if (line == NULL)
                goto done;
            size_t n = (size_t)strtoul(line, NULL, 16);
            if (n == 0) {
                while ((line = rbuf_line(&b)) != NULL && *line != '\0')
                    ;
                rc = line != NULL ? 0 : -1;
                break;
            }
            if (rbuf_take(&b, n, &out->body, &out->body_len) != 0 || rbuf_line(&b) == NULL)
                goto done;
        }
    } else if (clen >= 0) {
        rc = rbuf_take(&b, (size_t)clen, &out->body, &out->body_len);
    } else {
        /* until close */
        for (;;) {
            if (b.pos < b.len && rbuf_take(&b, b.len - b.pos, &out->body, &out->body_len) != 0)
                goto done;
            if (rbuf_fill(&b) != 0)
                break;
        }
        rc = 0;
    }
done:
    free(b.data);
    return rc;
}

int http_request(int fd, const char *method, const char *path,
                 const char *extra_headers, const char *body, size_t body_len,
                 http_resp *out)
{
    memset(out, 0, sizeof *out);
    char head[8192];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path,
                     extra_headers != NULL ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (body != NULL) {
        int m = snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", body_len);
        if (m < 0)
            return -1;
        n += m;
    }
    if ((size_t)n + 2 >= sizeof head)
        return -1;
    memcpy(head + n, "\r\n", 3);
    n += 2;
    if (!http_send_all(fd, head, (size_t)n))
        return -1;
    if (body != NULL && body_len > 0 && !http_send_all(fd, body, body_len))
        return -1;
    return http_read_response(fd, strcmp(method, "HEAD") == 0, out);
}

int http_do(unsigned port, const char *method, const char *path,
            const char *extra_headers, const char *body, http_resp *out)
{
    return http_do_from(NULL, port, method, path, extra_headers, body, out);
}

int http_do_from(const char *source, unsigned port, const char *method, const char *path,
                 const char *extra_headers, const char *body, http_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = http_connect_from(source, port, 10000);
    if (fd < 0)
        return -1;
    char headers[4096];
    const char *h = extra_headers;
    if (body != NULL && (extra_headers == NULL || strcasestr(extra_headers, "Content-Type:") == NULL)) {
        snprintf(headers, sizeof headers, "Content-Type: application/json\r\n%s",
                 extra_headers != NULL ? extra_headers : "");
        h = headers;
    }
    int rc = http_request(fd, method, path, h, body, body != NULL ? strlen(body) : 0, out);
    close(fd);
    return rc;
}

const char *http_header(const http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

void http_resp_free(http_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
    memset(r, 0, sizeof *r);
}

size_t http_raw(unsigned port, const void *raw, size_t len, char *out,
                size_t outlen, int timeout_ms)
{
    size_t got = 0;
    if (outlen > 0)
        out[0] = '\0';
    int fd = http_connect(port, timeout_ms);
    if (fd < 0)
        return 0;
    /* A server may answer and close before taking all of the bytes (a
     * request line too long, say): what it sent is read even then. */
    (void)http_send_all(fd, raw, len);
    while (got + 1 < outlen) {
        ssize_t r = recv(fd, out + got, outlen - got - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (outlen > 0)
        out[got] = '\0';
    close(fd);
    return got;
}
