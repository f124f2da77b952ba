/* The tests' web app for http:// handlers; see app_server.h. */
#include "app_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

#define MAX_CONNS 64
#define MAX_REQUESTS 256
#define HEAD_MAX 8192

typedef struct conn {
    app_server *app;
    int fd;
    pthread_t thread;
} conn;

struct app_server {
    int listen_fd;
    unsigned port;
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool stopping;
    bool gate;
    int slow_dropped;
    conn conns[MAX_CONNS];
    int nconns;
    app_request *requests;        /* MAX_REQUESTS */
    int nrequests;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool send_answer(int fd, int status, const char *reason, const char *headers,
                        const char *body)
{
    char head[512];
    size_t len = body != NULL ? strlen(body) : 0;
    snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n\r\n", status,
             reason, headers, len);
    return http_send_all(fd, head, strlen(head)) && (len == 0 || http_send_all(fd, body, len));
}

static bool send_chunk(int fd, const char *data)
{
    char size[32];
    snprintf(size, sizeof size, "%zx\r\n", strlen(data));
    return http_send_all(fd, size, strlen(size)) && http_send_all(fd, data, strlen(data)) &&
           http_send_all(fd, "\r\n", 2);
}

/* Waits for the gate; false when the client went away (or the app
 * stops) first. */
static bool wait_gate(app_server *a, int fd)
{
    for (;;) {
        pthread_mutex_lock(&a->lock);
        bool open = a->gate, stop = a->stopping;
        pthread_mutex_unlock(&a->lock);
        if (open)
            return true;
        if (stop)
            return false;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) > 0) {
            char c;
            if (recv(fd, &c, 1, MSG_PEEK) <= 0)
                return false;
        }
    }
}

static int count_locked(app_server *a, const char *path)
{
    int n = 0;
    for (int i = 0; i < a->nrequests; i++)
        n += strcmp(a->requests[i].path, path) == 0;
    return n;
}

/* Answers one request by its path. False to close the connection. */
static bool answer(app_server *a, int fd, const app_request *rq)
{
    const char *json = "Content-Type: application/json\r\n";
    if (strcmp(rq->path, "/json") == 0 ||
        (strcmp(rq->path, "/flaky") == 0 && app_server_count(a, "/flaky") > 1)) {
        char body[8192];
        snprintf(body, sizeof body, "{\"echo\":%s,\"token\":\"%s\",\"job\":\"%s\"}",
                 rq->body[0] != '\0' ? rq->body : "null", rq->token, rq->job_id);
        return send_answer(fd, 200, "OK", json, body);
    }
    if (strcmp(rq->path, "/flaky-accept") == 0 && app_server_count(a, "/flaky-accept") > 1)
        return send_answer(fd, 202, "Accepted", "", NULL);
    if (strcmp(rq->path, "/flaky") == 0 || strcmp(rq->path, "/flaky-accept") == 0)
        return send_answer(fd, 503, "Service Unavailable",
                           "Content-Type: text/plain\r\nRetry-After: 1\r\n", "warming up");
    if (strcmp(rq->path, "/no-content") == 0)
        return send_answer(fd, 204, "No Content", "", NULL);
    if (strcmp(rq->path, "/html") == 0)
        return send_answer(fd, 200, "OK", "Content-Type: text/html\r\n", "<p>done</p>");
    if (strcmp(rq->path, "/accept") == 0)
        return send_answer(fd, 202, "Accepted", "", NULL);
    if (strcmp(rq->path, "/reject") == 0)
        return send_answer(fd, 400, "Bad Request", json, "{\"detail\":\"input refused\"}");
    if (strcmp(rq->path, "/ndjson") == 0 || strcmp(rq->path, "/ndjson-error") == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";
        if (!http_send_all(fd, head, sizeof head - 1) ||
            !send_chunk(fd, "{\"progress\":30,\"stage\":\"analyzing\"}\n"))
            return false;
        if (strcmp(rq->path, "/ndjson-error") == 0)
            return send_chunk(fd, "{\"error\":{\"code\":\"quota\",\"message\":\"out of "
                                  "credits\"}}\n") &&
                   http_send_all(fd, "0\r\n\r\n", 5);
        if (!wait_gate(a, fd))
            return false;
        return send_chunk(fd, "not a report, the app's own output\n") &&
               send_chunk(fd, "{\"progress\":90}\n{\"result\":") &&
               send_chunk(fd, "{\"lines\":3}}") && http_send_all(fd, "0\r\n\r\n", 5);
    }
    if (strcmp(rq->path, "/slow") == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 100\r\n\r\n";
        if (!http_send_all(fd, head, sizeof head - 1))
            return false;
        if (!wait_gate(a, fd)) {
            pthread_mutex_lock(&a->lock);
            a->slow_dropped++;
            pthread_cond_broadcast(&a->changed);
            pthread_mutex_unlock(&a->lock);
        }
        return false;
    }
    return send_answer(fd, 404, "Not Found", "", "no such path");
}

/* The value of header name in head (lines after the first), into out. */
static void header_value(const char *head, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
            snprintf(out, outlen, "%.*s", (int)len, v);
            return;
        }
    }
}

/* Reads one request (head and Content-Length body) into rq. */
static bool read_request(int fd, char *buf, size_t *have, app_request *rq)
{
    char *end;
    while ((end = memmem(buf, *have, "\r\n\r\n", 4)) == NULL) {
        if (*have >= HEAD_MAX)
            return false;
        ssize_t n = recv(fd, buf + *have, HEAD_MAX - *have, 0);
        if (n <= 0)
            return false;
        *have += (size_t)n;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char head[HEAD_MAX + 1];
    memcpy(head, buf, head_len);
    head[head_len] = '\0';
    memset(rq, 0, sizeof *rq);
    char method[16];
    if (sscanf(head, "%15s %63s", method, rq->path) != 2)
        return false;
    char clen[32];
    header_value(head, "Content-Length", clen, sizeof clen);
    header_value(head, "Statusd-Run-Token", rq->token, sizeof rq->token);
    header_value(head, "Statusd-Job-Id", rq->job_id, sizeof rq->job_id);
    header_value(head, "Content-Type", rq->content_type, sizeof rq->content_type);
    size_t body_len = clen[0] != '\0' ? strtoul(clen, NULL, 10) : 0;
    if (body_len >= sizeof rq->body)
        return false;
    memmove(buf, buf + head_len, *have - head_len);
    *have -= head_len;
    while (*have < body_len) {
        ssize_t n = recv(fd, buf + *have, HEAD_MAX - *have, 0);
        if (n <= 0)
            return false;
        *have += (size_t)n;
    }
    memcpy(rq->body, buf, body_len);
    rq->body[body_len] = '\0';
    memmove(buf, buf + body_len, *have - body_len);
    *have -= body_len;
    return true;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    app_server *a = c->app;
    char buf[HEAD_MAX];
    size_t have = 0;
    app_request rq;
    while (read_request(c->fd, buf, &have, &rq)) {
        rq.at_ms = now_ms();
        pthread_mutex_lock(&a->lock);
        if (a->nrequests < MAX_REQUESTS)
            a->requests[a->nrequests++] = rq;
        pthread_cond_broadcast(&a->changed);
        pthread_mutex_unlock(&a->lock);
        if (!answer(a, c->fd, &rq))
            break;
    }
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    app_server *a = arg;
    for (;;) {
        int fd = accept(a->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        pthread_mutex_lock(&a->lock);
        if (a->stopping || a->nconns == MAX_CONNS) {
            pthread_mutex_unlock(&a->lock);
            close(fd);
            continue;
        }
        conn *c = &a->conns[a->nconns];
        c->app = a;
        c->fd = fd;
        if (pthread_create(&c->thread, NULL, conn_main, c) == 0)
            a->nconns++;
        else
            close(fd);
        pthread_mutex_unlock(&a->lock);
    }
}

app_server *app_server_start(void)
{
    app_server *a = calloc(1, sizeof *a);
    if (a == NULL || (a->requests = calloc(MAX_REQUESTS, sizeof *a->requests)) == NULL) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->changed, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    a->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->listen_fd < 0 || bind(a->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(a->listen_fd, 64) != 0 ||
        getsockname(a->listen_fd, (struct sockaddr *)&sa, &len) != 0 ||
        pthread_create(&a->acceptor, NULL, accept_main, a) != 0) {
        if (a->listen_fd >= 0)
            close(a->listen_fd);
        free(a->requests);
        free(a);
        return NULL;
    }
    a->port = ntohs(sa.sin_port);
    return a;
}

unsigned app_server_port(const app_server *a) { return a->port; }

void app_server_url(const app_server *a, const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "http://127.0.0.1:%u%s", a->port, path);
}

void app_server_open_gate(app_server *a)
{
    pthread_mutex_lock(&a->lock);
    a->gate = true;
    pthread_mutex_unlock(&a->lock);
}

int app_server_count(app_server *a, const char *path)
{
    pthread_mutex_lock(&a->lock);
    int n = count_locked(a, path);
    pthread_mutex_unlock(&a->lock);
    return n;
}

/* Waits on the condition until done(a, arg) or the deadline. */
static bool wait_until(app_server *a, bool (*done)(app_server *, const void *),
                       const void *arg, int deadline_ms)
{
    long long end = now_ms() + deadline_ms;
    pthread_mutex_lock(&a->lock);
    bool ok;
    while (!(ok = done(a, arg)) && now_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->changed, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

typedef struct nth_request {
    const char *path;
    int nth;
} nth_request;

static bool has_nth(app_server *a, const void *arg)
{
    const nth_request *q = arg;
    return count_locked(a, q->path) >= q->nth;
}

bool app_server_wait_request(app_server *a, const char *path, int nth, app_request *out,
                             int deadline_ms)
{
    nth_request q = {path, nth};
    if (!wait_until(a, has_nth, &q, deadline_ms))
        return false;
    pthread_mutex_lock(&a->lock);
    int seen = 0;
    for (int i = 0; i < a->nrequests; i++) {
        if (strcmp(a->requests[i].path, path) == 0 && ++seen == nth) {
            *out = a->requests[i];
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return true;
}

static bool slow_dropped(app_server *a, const void *arg)
{
    (void)arg;
    return a->slow_dropped > 0;
}

bool app_server_wait_slow_dropped(app_server *a, int deadline_ms)
{
    return wait_until(a, slow_dropped, NULL, deadline_ms);
}

void app_server_stop(app_server *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_mutex_unlock(&a->lock);
    shutdown(a->listen_fd, SHUT_RDWR);
    pthread_join(a->acceptor, NULL);
    close(a->listen_fd);
    for (int i = 0; i < a->nconns; i++) {
        shutdown(a->conns[i].fd, SHUT_RDWR);
        pthread_join(a->conns[i].thread, NULL);
        close(a->conns[i].fd);
    }
    pthread_cond_destroy(&a->changed);
    pthread_mutex_destroy(&a->lock);
    free(a->requests);
    free(a);
}
