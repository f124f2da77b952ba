/*
 * statusd --probe: GET /health on this host's statusd, as a container
 * health check. One non-blocking socket; every step (connect, send, read
 * the status line) waits in poll(2) for what is left of one deadline, so
 * a server that accepts and never answers costs the timeout, not a hang.
 * Only the status line is read: the body does not change the verdict.
 */
#include "statusd/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "statusd/util.h"

/* Enough for "HTTP/1.1 200 OK\r\n" and a long reason phrase. */
#define STATUS_LINE_MAX 256

void sd_probe_address(const sd_config *cfg, char *out, size_t outlen)
{
    const char *addr = cfg->bind;
    if (strcmp(addr, "0.0.0.0") == 0)
        addr = "127.0.0.1";
    else if (strchr(addr, ':') != NULL) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6))
            addr = "::1";
    }
    snprintf(out, outlen, "%s", addr);
}

/* Waits until fd is ready for events or the deadline passes. SD_OK when
 * ready; SD_ERR_UNAVAILABLE with err set on a timeout or a poll failure. */
static sd_err wait_ready(int fd, short events, int64_t deadline_ms, const char *doing,
                         char *err, size_t errlen)
{
    for (;;) {
        int64_t left = deadline_ms - sd_mono_ms();
        if (left <= 0) {
            snprintf(err, errlen, "timed out %s", doing);
            return SD_ERR_UNAVAILABLE;
        }
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return SD_OK;
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return SD_ERR_UNAVAILABLE;
        }
    }
}

/* Fills *ss from a numeric address; the length through *sslen. */
static sd_err address_parse(const char *addr, unsigned port, struct sockaddr_storage *ss,
                            socklen_t *sslen)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1)
            return SD_ERR_INVALID;
        *sslen = sizeof *a6;
        return SD_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
        return SD_ERR_INVALID;
    *sslen = sizeof *a4;
    return SD_OK;
}

static sd_err connect_by(int fd, const struct sockaddr_storage *ss, socklen_t sslen,
                         int64_t deadline_ms, char *err, size_t errlen)
{
    if (connect(fd, (const struct sockaddr *)ss, sslen) == 0)
        return SD_OK;
    if (errno != EINPROGRESS && errno != EINTR) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        return SD_ERR_UNAVAILABLE;
    }
    sd_err rc = wait_ready(fd, POLLOUT, deadline_ms, "connecting", err, errlen);
    if (rc != SD_OK)
        return rc;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        soerr = errno;
    if (soerr != 0) {
        snprintf(err, errlen, "connect: %s", strerror(soerr));
        return SD_ERR_UNAVAILABLE;
    }
    return SD_OK;
}

static sd_err send_all(int fd, const char *data, size_t len, int64_t deadline_ms,
                       char *err, size_t errlen)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sd_err rc = wait_ready(fd, POLLOUT, deadline_ms, "sending the request", err,
                                   errlen);
            if (rc != SD_OK)
                return rc;
            continue;
        }
        snprintf(err, errlen, "send: %s", n < 0 ? strerror(errno) : "nothing sent");
        return SD_ERR_UNAVAILABLE;
    }
    return SD_OK;
}

/* Reads until the first line is complete (or the buffer is full, or the
 * peer closes); line gets it NUL-terminated, without its end. */
static sd_err read_first_line(int fd, char *line, size_t cap, int64_t deadline_ms,
                              char *err, size_t errlen)
{
    size_t got = 0;
    for (;;) {
        line[got] = '\0';
        char *end = strstr(line, "\r\n");
        if (end != NULL) {
            *end = '\0';
            return SD_OK;
        }
        if (got == cap - 1) {
            snprintf(err, errlen, "no HTTP status line in the first %zu bytes", got);
            return SD_ERR_UNAVAILABLE;
        }
        ssize_t n = recv(fd, line + got, cap - 1 - got, 0);
        if (n > 0) {
            got += (size_t)n;
            if (memchr(line, '\0', got) != NULL) {
                snprintf(err, errlen, "the answer is not HTTP (a NUL byte)");
                return SD_ERR_UNAVAILABLE;
            }
            continue;
        }
        if (n == 0) {
            snprintf(err, errlen, got == 0 ? "connection closed without an answer"
                                           : "connection closed inside the status line");
            return SD_ERR_UNAVAILABLE;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(err, errlen, "recv: %s", strerror(errno));
            return SD_ERR_UNAVAILABLE;
        }
        sd_err rc = wait_ready(fd, POLLIN, deadline_ms, "waiting for the answer", err,
                               errlen);
        if (rc != SD_OK)
            return rc;
    }
}

/* "HTTP/1.x NNN[ reason]" -> NNN; -1 for anything else. */
static int status_parse(const char *line)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' ||
        line[8] != ' ')
        return -1;
    const char *d = line + 9;
    for (int i = 0; i < 3; i++)
        if (d[i] < '0' || d[i] > '9')
            return -1;
    if (d[3] != '\0' && d[3] != ' ')
        return -1;
    return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

sd_err sd_probe_health(const char *addr, unsigned port, int timeout_ms, int *status,
                       char *err, size_t errlen)
{
    int64_t deadline_ms = sd_mono_ms() + timeout_ms;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (port == 0 || port > 65535 || address_parse(addr, port, &ss, &sslen) != SD_OK) {
        snprintf(err, errlen, "not a numeric address and port: %s port %u", addr, port);
        return SD_ERR_INVALID;
    }
    char request[160];
    bool v6 = ss.ss_family == AF_INET6;
    int n = snprintf(request, sizeof request,
                     "GET /health HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
                     "User-Agent: statusd-probe\r\nConnection: close\r\n\r\n",
                     v6 ? "[" : "", addr, v6 ? "]" : "", port);
    if (n < 0 || (size_t)n >= sizeof request) {
        snprintf(err, errlen, "address too long: %s", addr);
        return SD_ERR_INVALID;
    }

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return SD_ERR_UNAVAILABLE;
    }
    char line[STATUS_LINE_MAX];
    sd_err rc = connect_by(fd, &ss, sslen, deadline_ms, err, errlen);
    if (rc == SD_OK)
        rc = send_all(fd, request, (size_t)n, deadline_ms, err, errlen);
    if (rc == SD_OK)
        rc = read_first_line(fd, line, sizeof line, deadline_ms, err, errlen);
    close(fd);
    if (rc != SD_OK)
        return rc;
    int code = status_parse(line);
    if (code < 0) {
        snprintf(err, errlen, "not an HTTP status line: %.60s", line);
        return SD_ERR_UNAVAILABLE;
    }
    *status = code;
    return SD_OK;
}

int sd_probe_main(const sd_config *cfg)
{
    char addr[SD_PROBE_ADDR_LEN];
    sd_probe_address(cfg, addr, sizeof addr);
    bool v6 = strchr(addr, ':') != NULL;
    char where[SD_PROBE_ADDR_LEN + 32];
    snprintf(where, sizeof where, "http://%s%s%s:%lld/health", v6 ? "[" : "", addr,
             v6 ? "]" : "", (long long)cfg->port);
    char err[256] = "";
    int status = 0;
    if (sd_probe_health(addr, (unsigned)cfg->port, SD_PROBE_TIMEOUT_MS, &status, err,
                        sizeof err) != SD_OK) {
        fprintf(stderr, "statusd --probe: GET %s: %s\n", where, err);
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "statusd --probe: GET %s: answered %d\n", where, status);
        return 1;
    }
    printf("statusd --probe: GET %s: 200\n", where);
    return 0;
}
