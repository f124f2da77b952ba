/*
 * The load generator of the push figures (long-polls), on 127.0.0.1.
 *
 *   pushload PORT REPORT_PORT WAITERS POLLERS JOBS PID
 *
 * Creates JOBS jobs of the external kind "ext" (handler_ext = external)
 * on REPORT_PORT, holds WAITERS long-polls on PORT (GET /status/<id>
 * with Prefer: wait=120 and the job's ETag, WAITERS / JOBS on each job,
 * one connection each), and once they are held reads the RSS of statusd
 * (process PID, /proc/PID/status VmRSS) with them held. Then POLLERS
 * threads poll GET /status/<id> on keep-alive connections of PORT
 * without a wait, as fast as answers come, while the jobs are reported
 * on one at a time (PATCH on REPORT_PORT, 20 ms apart): the wake-up
 * latency of each held poll is from just before its job's report is sent
 * to the first byte of its answer. REPORT_PORT another instance on the
 * same Redis measures the wake-ups across instances.
 *
 * Prints one line of key=value figures. Exits 1 when the run cannot be
 * completed (a refused connection, an unexpected status, a held poll not
 * answered within 10 s of its report), 2 on bad usage. Figures are never
 * judged here.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>

#define WAIT_S 120
#define ANSWER_DEADLINE_MS 10000
#define REPORT_GAP_MS 20

typedef struct job {
    char id[64], token[64], etag[40];
} job;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
    fprintf(stderr, "pushload: %s\n", what);
    exit(1);
}

static int dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket failed (raise the open-file limit)");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect failed");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            die("write failed");
        p += w;
        n -= (size_t)w;
    }
}

/* One request on a blocking keep-alive connection: the status, the body
 * (NUL-terminated, in body) and the ETag (when etag is given). */
static int call(int fd, const char *req, char *body, size_t cap, char *etag)
{
    send_all(fd, req, strlen(req));
    static _Thread_local char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while ((end = strstr(buf, "\r\n\r\n")) == NULL || len == 0) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            die("connection closed");
        len += (size_t)r;
        buf[len] = '\0';
    }
    int status = (int)strtol(buf + 9, NULL, 10);
    size_t clen = 0;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl != NULL)
        clen = strtoul(cl + 17, NULL, 10);
    if (etag != NULL) {
        const char *e = strcasestr(buf, "\r\nETag: ");
        etag[0] = '\0';
        if (e != NULL)
            snprintf(etag, 40, "%.*s", (int)strcspn(e + 8, "\r"), e + 8);
    }
    size_t head = (size_t)(end + 4 - buf);
    while (len < head + clen) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            die("connection closed in a body");
        len += (size_t)r;
    }
    buf[head + clen] = '\0';
    if (body != NULL)
        snprintf(body, cap, "%s", buf + head);
    size_t rest = len - head - clen;   /* nothing is pipelined */
    (void)rest;
    buf[0] = '\0';
    return status;
}

/* ---- pollers ---- */

typedef struct poller {
    pthread_t thread;
    unsigned port;
    const char *id;
    int64_t *lat;      /* microseconds */
    size_t n, cap;
} poller;

static atomic_bool polling;

static void *poller_main(void *arg)
{
    poller *p = arg;
    int fd = dial(p->port);
    char req[256];
    snprintf(req, sizeof req, "GET /status/%s HTTP/1.1\r\nHost: b\r\n\r\n", p->id);
    while (atomic_load(&polling)) {
        int64_t t0 = now_us();
        if (call(fd, req, NULL, 0, NULL) != 200)
            die("a poll did not answer 200");
        if (p->n < p->cap)
            p->lat[p->n++] = now_us() - t0;
    }
    close(fd);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static unsigned arg_u(const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0 || v > 1000000) {
        fprintf(stderr, "pushload: bad number '%s'\n", s);
        exit(2);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: pushload PORT REPORT_PORT WAITERS POLLERS JOBS PID\n");
        return 2;
    }
    unsigned port = arg_u(argv[1]), rport = arg_u(argv[2]), nwait = arg_u(argv[3]),
             npoll = arg_u(argv[4]), njobs = arg_u(argv[5]);
    long pid = (long)arg_u(argv[6]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* the jobs */
    job *jobs = calloc(njobs, sizeof *jobs);
    if (jobs == NULL)
        die("out of memory");
    int rfd = dial(rport);
    static char body[65536];
    for (unsigned i = 0; i < njobs; i++) {
        const char *post = "POST /jobs/ext HTTP/1.1\r\nHost: a\r\nContent-Type: "
                           "application/json\r\nContent-Length: 2\r\n\r\n{}";
        if (call(rfd, post, body, sizeof body, jobs[i].etag) != 202)
            die("POST /jobs/ext did not answer 202 (handler_ext = external?)");
        cJSON *v = cJSON_Parse(body);
        const cJSON *id = cJSON_GetObjectItem(v, "id"), *tok = cJSON_GetObjectItem(v, "run_token");
        if (!cJSON_IsString(id) || !cJSON_IsString(tok))
            die("no id or run_token in a 202");
        snprintf(jobs[i].id, sizeof jobs[i].id, "%s", id->valuestring);
        snprintf(jobs[i].token, sizeof jobs[i].token, "%s", tok->valuestring);
        cJSON_Delete(v);
    }

    /* the held polls */
    long rss_idle = rss_kb(pid);
    int ep = epoll_create1(0);
    int *fds = calloc(nwait, sizeof *fds);
    int64_t *woken_at = calloc(nwait, sizeof *woken_at);
    if (ep < 0 || fds == NULL || woken_at == NULL)
        die("out of memory");
    for (unsigned i = 0; i < nwait; i++) {
        const job *j = &jobs[i % njobs];
        char req[256];
        int n = snprintf(req, sizeof req, "GET /status/%s HTTP/1.1\r\nHost: b\r\n"
                         "Prefer: wait=%d\r\nIf-None-Match: %s\r\n\r\n", j->id, WAIT_S, j->etag);
        fds[i] = dial(port);
        send_all(fds[i], req, (size_t)n);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            die("epoll_ctl failed");
    }
    struct timespec settle = {2, 0};
    nanosleep(&settle, NULL);
    struct epoll_event evs[256];
    if (epoll_wait(ep, evs, 256, 0) != 0)
        die("a poll was answered before its job changed (max_waiters, max_wait?)");
    long rss_held = rss_kb(pid);

    /* the pollers, then the reports */
    poller *ps = calloc(npoll, sizeof *ps);
    if (ps == NULL)
        die("out of memory");
    atomic_store(&polling, true);
    for (unsigned i = 0; i < npoll; i++) {
        ps[i] = (poller){.port = port, .id = jobs[0].id, .cap = 1 << 20};
        ps[i].lat = malloc(ps[i].cap * sizeof *ps[i].lat);
        if (ps[i].lat == NULL || pthread_create(&ps[i].thread, NULL, poller_main, &ps[i]) != 0)
            die("cannot start a poller");
    }
    int64_t *lat = calloc(nwait, sizeof *lat);
    size_t nlat = 0;
    for (unsigned k = 0; k < njobs; k++) {
        char req[512];
        snprintf(req, sizeof req, "PATCH /status/%s HTTP/1.1\r\nHost: a\r\nAuthorization: "
                 "Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
                 "{\"progress\":1}", jobs[k].id, jobs[k].token);
        int64_t t0 = now_us();
        if (call(rfd, req, NULL, 0, NULL) != 200)
            die("a report did not answer 200");
        unsigned want = nwait / njobs + (k < nwait % njobs ? 1 : 0), got = 0;
        while (got < want) {
            int n = epoll_wait(ep, evs, 256, ANSWER_DEADLINE_MS);
            if (n <= 0)
                die("held polls not answered within 10 s of their job's report");
            int64_t t = now_us();
            for (int e = 0; e < n; e++) {
                unsigned i = evs[e].data.u32;
                char buf[4096];
                ssize_t r = read(fds[i], buf, sizeof buf - 1);
                if (r <= 0 || woken_at[i] != 0)
                    continue;
                buf[r] = '\0';
                if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
                    die("a held poll answered other than 200");
                woken_at[i] = t;
                lat[nlat++] = t - t0;
                got++;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
            }
        }
        struct timespec gap = {0, REPORT_GAP_MS * 1000000L};
        nanosleep(&gap, NULL);
    }
    atomic_store(&polling, false);
    int64_t *all = NULL;
    size_t nall = 0;
    for (unsigned i = 0; i < npoll; i++) {
        pthread_join(ps[i].thread, NULL);
        all = realloc(all, (nall + ps[i].n) * sizeof *all);
        if (all == NULL)
            die("out of memory");
        memcpy(all + nall, ps[i].lat, ps[i].n * sizeof *all);
        nall += ps[i].n;
    }
    double p50 = pct_ms(lat, nlat, 0.50), p99 = pct_ms(lat, nlat, 0.99),
           mx = pct_ms(lat, nlat, 1.0);
    double poll50 = pct_ms(all, nall, 0.50), poll99 = pct_ms(all, nall, 0.99);
    printf("waiters=%u jobs=%u rss_idle_kb=%ld rss_held_kb=%ld woken=%zu wake_p50_ms=%.2f "
           "wake_p99_ms=%.2f wake_max_ms=%.2f pollers=%u polls=%zu poll_p50_ms=%.3f "
           "poll_p99_ms=%.3f\n", nwait, njobs, rss_idle, rss_held, nlat, p50, p99, mx, npoll,
           nall, poll50, poll99);
    for (unsigned i = 0; i < nwait; i++)
        close(fds[i]);
    return 0;
}
