/*
 * The load generator behind bench/run's end-to-end figures. It speaks to
 * statusd through its HTTP API only, on 127.0.0.1.
 *
 *   loadgen jobs PORT COUNT CONNS DEADLINE_S [PATH]
 *       POSTs COUNT jobs to PATH (default /research; /jobs/<kind> for a
 *       kind of the app's own), then polls GET /stats until all of them
 *       are finished. The time runs from the first POST to the first
 *       /stats answer that counts every job finished.
 *   loadgen sessions PORT COUNT CONNS BODY_BYTES DEADLINE_S
 *       POSTs COUNT sessions of BODY_BYTES bytes of JSON to /sessions, then
 *       checks with GET /stats that statusd holds them all.
 *
 * Prints one line of key=value figures on stdout. Exits 1 when the run
 * cannot be completed (statusd refuses or drops a connection, answers an
 * unexpected status, the jobs do not finish before DEADLINE_S seconds
 * from the start), 2 on bad usage. A low figure is never an error.
 *
 * Why it is built this way:
 * - One thread and epoll over CONNS keep-alive connections, one request
 *   in flight on each (no pipelining, as wrk): a client thread costs the
 *   server's cores less than a second wrk thread would, and CONNS
 *   connections keep every statusd thread fed.
 * - A 503 (queue full, store unavailable) is counted as a rejection and
 *   the same submission is sent again on that connection after
 *   Retry-After seconds, while the other connections go on; so the jobs
 *   accepted, and the jobs finished, are exactly COUNT.
 * - /stats counts come from the store's indexes (cheap to read), and are
 *   polled on a connection of their own, every POLL_MS, only after the
 *   last submission was accepted: no job can be finished before that.
 *   At most 1000 / POLL_MS requests a second against thousands of jobs
 *   a second barely load statusd, and the end time is late by at most
 *   one interval plus a round trip, so the figure errs low, not high.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define RBUF_SIZE 65536          /* a whole response must fit */
#define POLL_MS 5                /* /stats interval while jobs finish */
#define RETRY_AFTER_MAX_S 10     /* cap on a 503's Retry-After */
#define IO_TIMEOUT_S 10          /* blocking /stats reads */

enum conn_state { CONN_BUSY, CONN_WAITING, CONN_DONE };

typedef struct conn {
    int fd;                      /* -1 while closed */
    enum conn_state state;
    size_t sent;                 /* request bytes written so far */
    size_t rlen;                 /* response bytes in rbuf */
    double wake_at;              /* CONN_WAITING: when to send again */
    char rbuf[RBUF_SIZE];
} conn;

typedef struct http_head {
    int status;
    size_t head_len;             /* through the blank line */
    size_t body_len;             /* Content-Length */
    long retry_after;            /* seconds, -1 when absent */
    bool close;                  /* Connection: close */
} http_head;

typedef struct run {
    unsigned port;
    const char *path;            /* /research or /sessions */
    char *request;               /* the whole POST, sent again and again */
    size_t request_len;
    int expect;                  /* the success status: 202 or 201 */
    long count;                  /* submissions to have accepted */
    long issued;                 /* accepted + in flight or waiting */
    long accepted;
    long rejected;               /* 503 answers */
    double deadline;             /* monotonic seconds */
    int ep;                      /* epoll */
    int nconns;
    conn *conns;
} run;

typedef struct stats {
    long queued, processing, completed, failed, canceled, sessions;
} stats;

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        fail("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long arg_number(const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "loadgen: '%s' is not a number in %ld..%ld\n", s, min, max);
        exit(2);
    }
    return v;
}

/* A TCP connection to 127.0.0.1:port with Nagle off; blocking (with
 * IO_TIMEOUT_S on reads and writes) or non-blocking. Fails the run when
 * statusd does not accept it. */
static int connect_loopback(unsigned port, bool nonblocking)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        fail("TCP_NODELAY: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail("connect to 127.0.0.1:%u: %s", port, strerror(errno));
    if (nonblocking) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            fail("O_NONBLOCK: %s", strerror(errno));
    } else {
        struct timeval tv = {IO_TIMEOUT_S, 0};
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
            fail("socket timeouts: %s", strerror(errno));
    }
    return fd;
}

/* Whether the header line [p, p + len) is "name:"; *value then points
 * past the colon and its spaces, and *vlen counts what is left. */
static bool header_is(const char *p, size_t len, const char *name,
                      const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || p[n] != ':' || strncasecmp(p, name, n) != 0)
        return false;
    size_t i = n + 1;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    *value = p + i;
    *vlen = len - i;
    return true;
}

/* A header value as a non-negative number, or -1. */
static long header_number(const char *v, size_t vlen)
{
    char tmp[24];
    if (vlen == 0 || vlen >= sizeof tmp)
        return -1;
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    char *end = NULL;
    errno = 0;
    long n = strtol(tmp, &end, 10);
    if (errno != 0 || end == tmp || *end != '\0' || n < 0)
        return -1;
    return n;
}

/*
 * Parses the response head at the start of buf. Returns 1 with *h filled
 * when the head is complete, 0 when more bytes are needed, -1 when it is
 * malformed or has no Content-Length (statusd always sends one; chunked
 * bodies are not read here).
 */
static int http_parse_head(const char *buf, size_t len, http_head *h)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    *h = (http_head){.head_len = (size_t)(end - buf) + 4, .retry_after = -1};
    if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    h->status = (int)header_number(buf + 9, 3);
    if (h->status < 100)
        return -1;
    bool have_length = false;
    const char *p = (const char *)memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2) + 2;
    while (p < end + 2) {
        const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        size_t n = (size_t)(eol - p);
        const char *v;
        size_t vlen;
        if (header_is(p, n, "Content-Length", &v, &vlen)) {
            long cl = header_number(v, vlen);
            if (cl < 0)
                return -1;
            h->body_len = (size_t)cl;
            have_length = true;
        } else if (header_is(p, n, "Retry-After", &v, &vlen)) {
            h->retry_after = header_number(v, vlen);
        } else if (header_is(p, n, "Connection", &v, &vlen)) {
            h->close = vlen >= 5 && strncasecmp(v, "close", 5) == 0;
        } else if (header_is(p, n, "Transfer-Encoding", &v, &vlen)) {
            return -1;
        }
        p = eol + 2;
    }
    if (!have_length && h->status != 204 && h->status != 304)
        return -1;
    return 1;
}

/* ---- GET /stats on a blocking connection of its own ---- */

static long json_count(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item) || item->valuedouble < 0)
        fail("GET /stats: no count \"%s\"", name);
    return (long)item->valuedouble;
}

static stats stats_get(int fd, unsigned port)
{
    char req[128];
    int n = snprintf(req, sizeof req, "GET /stats HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", port);
    if (n < 0 || (size_t)n >= sizeof req)
        fail("GET /stats: request too long");
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = write(fd, req + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("GET /stats: write: %s", w < 0 ? strerror(errno) : "nothing written");
        off += (size_t)w;
    }
    static char buf[RBUF_SIZE];
    size_t len = 0;
    http_head h;
    int parsed = 0;
    while (parsed == 0 || len < h.head_len + h.body_len) {
        if (len == sizeof buf)
            fail("GET /stats: response larger than %d bytes", RBUF_SIZE);
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fail("GET /stats: %s", r < 0 ? strerror(errno) : "connection closed");
        len += (size_t)r;
        if (parsed == 0 && (parsed = http_parse_head(buf, len, &h)) < 0)
            fail("GET /stats: malformed response");
    }
    if (h.status != 200)
        fail("GET /stats: status %d", h.status);
    cJSON *root = cJSON_ParseWithLength(buf + h.head_len, h.body_len);
    if (root == NULL)
        fail("GET /stats: body is not JSON");
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
    if (!cJSON_IsObject(jobs))
        fail("GET /stats: no \"jobs\" object");
    stats s = {
        .queued = json_count(jobs, "queued"),
        .processing = json_count(jobs, "processing"),
        .completed = json_count(jobs, "completed"),
        .failed = json_count(jobs, "failed"),
        .canceled = json_count(jobs, "canceled"),
        .sessions = json_count(root, "sessions"),
    };
    cJSON_Delete(root);
    return s;
}

static long stats_finished(const stats *s) { return s->completed + s->failed + s->canceled; }

/* ---- the submissions: CONNS non-blocking connections on epoll ---- */

static void conn_watch(run *rn, conn *c, int op, bool want_write)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(rn->ep, op, c->fd, &ev) != 0)
        fail("epoll_ctl: %s", strerror(errno));
}

/* Writes what the kernel takes of the request; asks for EPOLLOUT while
 * some is left. */
static void conn_send(run *rn, conn *c)
{
    bool was_partial = c->sent > 0;
    while (c->sent < rn->request_len) {
        ssize_t w = write(c->fd, rn->request + c->sent, rn->request_len - c->sent);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!was_partial)
                conn_watch(rn, c, EPOLL_CTL_MOD, true);
            return;
        }
        if (w <= 0)
            fail("POST %s: write: %s", rn->path, w < 0 ? strerror(errno) : "nothing written");
        c->sent += (size_t)w;
    }
    if (was_partial)
        conn_watch(rn, c, EPOLL_CTL_MOD, false);
}

/* Sends the connection's submission (a new one or a retry), reconnecting
 * first when statusd closed the connection after the last answer. */
static void conn_start(run *rn, conn *c)
{
    if (c->fd < 0) {
        c->fd = connect_loopback(rn->port, true);
        conn_watch(rn, c, EPOLL_CTL_ADD, false);
    }
    c->state = CONN_BUSY;
    c->sent = 0;
    c->rlen = 0;
    conn_send(rn, c);
}

static void conn_next(run *rn, conn *c)
{
    if (rn->issued < rn->count) {
        rn->issued++;
        conn_start(rn, c);
    } else {
        c->state = CONN_DONE;
    }
}

static void conn_close(conn *c)
{
    if (c->fd >= 0 && close(c->fd) != 0)
        fail("close: %s", strerror(errno));
    c->fd = -1;
}

/* Acts on one complete response to a submission. */
static void conn_answered(run *rn, conn *c, const http_head *h)
{
    if (h->close)
        conn_close(c);
    if (h->status == rn->expect) {
        rn->accepted++;
        conn_next(rn, c);
    } else if (h->status == 503) {
        rn->rejected++;
        long wait = h->retry_after > 0 ? h->retry_after : 1;
        if (wait > RETRY_AFTER_MAX_S)
            wait = RETRY_AFTER_MAX_S;
        c->state = CONN_WAITING;
        c->wake_at = now_s() + (double)wait;
    } else {
        size_t shown = h->body_len < 300 ? h->body_len : 300;
        fail("POST %s: status %d, expected %d or 503: %.*s", rn->path, h->status,
             rn->expect, (int)shown, c->rbuf + h->head_len);
    }
}

static void conn_readable(run *rn, conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0)
            fail("POST %s: read: %s", rn->path, strerror(errno));
        if (r == 0) {
            if (c->state == CONN_BUSY)
                fail("POST %s: statusd closed a connection before answering", rn->path);
            conn_close(c);          /* an idle connection timed out */
            return;
        }
        if (c->state != CONN_BUSY)
            fail("POST %s: bytes from statusd with no request pending", rn->path);
        c->rlen += (size_t)r;
        http_head h;
        int parsed = http_parse_head(c->rbuf, c->rlen, &h);
        if (parsed < 0)
            fail("POST %s: malformed response", rn->path);
        if (parsed == 0 || c->rlen < h.head_len + h.body_len) {
            if (c->rlen == sizeof c->rbuf)
                fail("POST %s: response larger than %d bytes", rn->path, RBUF_SIZE);
            continue;
        }
        if (c->rlen > h.head_len + h.body_len)
            fail("POST %s: bytes after the response", rn->path);
        conn_answered(rn, c, &h);
        return;
    }
}

/* Opens the connections (before the clock starts) and runs until COUNT
 * submissions were accepted. */
static void run_submissions(run *rn)
{
    rn->ep = epoll_create1(EPOLL_CLOEXEC);
    if (rn->ep < 0)
        fail("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < rn->nconns; i++) {
        rn->conns[i].fd = connect_loopback(rn->port, true);
        conn_watch(rn, &rn->conns[i], EPOLL_CTL_ADD, false);
    }
    for (int i = 0; i < rn->nconns; i++)
        conn_next(rn, &rn->conns[i]);
    struct epoll_event events[64];
    while (rn->accepted < rn->count) {
        double now = now_s();
        if (now > rn->deadline)
            fail("POST %s: deadline passed with %ld of %ld accepted (%ld answers were 503)",
                 rn->path, rn->accepted, rn->count, rn->rejected);
        double wake = rn->deadline;
        for (int i = 0; i < rn->nconns; i++) {
            conn *c = &rn->conns[i];
            if (c->state == CONN_WAITING && c->wake_at <= now)
                conn_start(rn, c);
            else if (c->state == CONN_WAITING && c->wake_at < wake)
                wake = c->wake_at;
        }
        int timeout = (int)((wake - now) * 1000.0) + 1;
        int n = epoll_wait(rn->ep, events, 64, timeout);
        if (n < 0 && errno != EINTR)
            fail("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if ((events[i].events & EPOLLOUT) && c->state == CONN_BUSY && c->fd >= 0)
                conn_send(rn, c);
            if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->fd >= 0)
                conn_readable(rn, c);
        }
    }
    for (int i = 0; i < rn->nconns; i++)
        conn_close(&rn->conns[i]);
    if (close(rn->ep) != 0)
        fail("close: %s", strerror(errno));
}

static void run_init(run *rn, unsigned port, const char *path, const char *body,
                     int expect, long count, int nconns, long deadline_s)
{
    size_t body_len = strlen(body);
    size_t cap = body_len + 256;
    *rn = (run){.port = port, .path = path, .expect = expect, .count = count,
                .nconns = nconns, .request = malloc(cap),
                .conns = calloc((size_t)nconns, sizeof(conn))};
    if (rn->request == NULL || rn->conns == NULL)
        fail("out of memory");
    int n = snprintf(rn->request, cap,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, port, body_len, body);
    if (n < 0 || (size_t)n >= cap)
        fail("request too long");
    rn->request_len = (size_t)n;
    rn->deadline = now_s() + (double)deadline_s;
}

static void run_free(run *rn)
{
    free(rn->request);
    free(rn->conns);
}

/* ---- the two modes ---- */

static int mode_jobs(unsigned port, long count, int nconns, long deadline_s,
                     const char *path)
{
    run rn;
    run_init(&rn, port, path, "{\"query\":\"benchmark\"}", 202, count, nconns,
             deadline_s);
    int sfd = connect_loopback(port, false);
    /* Jobs still running from before would finish during the run and be
     * counted as ours. */
    stats base = stats_get(sfd, port);
    while (base.queued + base.processing > 0) {
        if (now_s() > rn.deadline)
            fail("jobs: statusd never became idle before the run");
        sleep_ms(POLL_MS);
        base = stats_get(sfd, port);
    }
    /* statusd closes a connection idle for connection_timeout seconds,
     * and the submissions may take longer. */
    if (close(sfd) != 0)
        fail("close: %s", strerror(errno));
    double t0 = now_s();
    run_submissions(&rn);
    double t_submitted = now_s();
    sfd = connect_loopback(port, false);
    long polls = 0;
    stats s;
    for (;;) {
        s = stats_get(sfd, port);
        polls++;
        if (stats_finished(&s) - stats_finished(&base) >= count)
            break;
        if (now_s() > rn.deadline)
            fail("jobs: deadline passed with %ld of %ld finished (%ld queued, %ld processing)",
                 stats_finished(&s) - stats_finished(&base), count, s.queued, s.processing);
        sleep_ms(POLL_MS);
    }
    double t_end = now_s();
    if (close(sfd) != 0)
        fail("close: %s", strerror(errno));
    long failed = (s.failed - base.failed) + (s.canceled - base.canceled);
    if (failed > 0)
        fail("jobs: %ld of %ld jobs failed or were canceled", failed, count);
    printf("jobs=%ld conns=%d seconds=%.4f jobs_per_s=%.0f submit_seconds=%.4f "
           "submit_per_s=%.0f rejected=%ld polls=%ld poll_ms=%d\n",
           count, nconns, t_end - t0, (double)count / (t_end - t0), t_submitted - t0,
           (double)count / (t_submitted - t0), rn.rejected, polls, POLL_MS);
    run_free(&rn);
    return 0;
}

static int mode_sessions(unsigned port, long count, int nconns, long body_bytes,
                         long deadline_s)
{
    /* {"pad":"xxx...x"}: exactly body_bytes bytes */
    char *body = malloc((size_t)body_bytes + 1);
    if (body == NULL)
        fail("out of memory");
    size_t pad = (size_t)body_bytes - 10;
    memcpy(body, "{\"pad\":\"", 8);
    memset(body + 8, 'x', pad);
    memcpy(body + 8 + pad, "\"}", 3);
    run rn;
    run_init(&rn, port, "/sessions", body, 201, count, nconns, deadline_s);
    int sfd = connect_loopback(port, false);
    stats base = stats_get(sfd, port);
    if (close(sfd) != 0)
        fail("close: %s", strerror(errno));
    double t0 = now_s();
    run_submissions(&rn);
    double t_end = now_s();
    sfd = connect_loopback(port, false);
    stats s = stats_get(sfd, port);
    if (close(sfd) != 0)
        fail("close: %s", strerror(errno));
    if (s.sessions - base.sessions < count)
        fail("sessions: statusd holds %ld new sessions, %ld were created",
             s.sessions - base.sessions, count);
    printf("sessions=%ld conns=%d body_bytes=%ld seconds=%.4f sessions_per_s=%.0f "
           "rejected=%ld\n",
           count, nconns, body_bytes, t_end - t0, (double)count / (t_end - t0),
           rn.rejected);
    run_free(&rn);
    free(body);
    return 0;
}

static int usage(void)
{
    fputs("usage: loadgen jobs PORT COUNT CONNS DEADLINE_S [PATH]\n"
          "       loadgen sessions PORT COUNT CONNS BODY_BYTES DEADLINE_S\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal: %s", strerror(errno));
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "jobs") == 0)
        return mode_jobs((unsigned)arg_number(argv[2], 1, 65535),
                         arg_number(argv[3], 1, 100000000),
                         (int)arg_number(argv[4], 1, 1000),
                         arg_number(argv[5], 1, 86400),
                         argc == 7 && argv[6][0] == '/' ? argv[6] : "/research");
    if (argc == 7 && strcmp(argv[1], "sessions") == 0)
        return mode_sessions((unsigned)arg_number(argv[2], 1, 65535),
                             arg_number(argv[3], 1, 100000000),
                             (int)arg_number(argv[4], 1, 1000),
                             arg_number(argv[5], 10, 16777216),
                             arg_number(argv[6], 1, 86400));
    return usage();
}
