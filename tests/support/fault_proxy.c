/* A TCP proxy that loses one answer on purpose (see fault_proxy.h). */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "statusd/util.h"

#define PAIRS_MAX 64
#define PATTERN_MAX 64
#define DROPPED_MAX 65536
#define CHUNK 16384
#define HOLD_POLL_MS 10
#define CONNECT_TIMEOUT_MS 5000

/* A client connection and the proxy's connection to the server for it. */
typedef struct pair {
    int cfd, sfd;                  /* -1 when the slot is free */
    char tail[PATTERN_MAX - 1];    /* the client's last bytes, for a pattern split in two */
    size_t tail_len;
    bool holding;                  /* the pattern went through: the server's bytes are kept */
    int64_t last_ms;               /* holding: when the server last sent, 0 before it did */
    int hold_ms;                   /* holding: how long the server must then stay quiet */
} pair;

struct fault_proxy {
    unsigned server_port, port;
    int lfd;
    int wake[2];                   /* a byte on wake[1] makes the thread look at stop */
    pthread_t thread;
    pthread_mutex_t lock;
    /* under lock */
    bool stop;
    char pattern[PATTERN_MAX];
    size_t pattern_len;            /* 0: disarmed */
    int hold_ms;
    int fired;
    char dropped[DROPPED_MAX];     /* what the last firing kept from the client */
    size_t dropped_len;
    /* the thread's */
    pair pairs[PAIRS_MAX];
};

static void pair_close(pair *c)
{
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->sfd >= 0)
        close(c->sfd);
    *c = (pair){.cfd = -1, .sfd = -1};
}

/* A new client: a connection to the server for it, in a free slot. */
static void accept_client(fault_proxy *p)
{
    int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    for (size_t i = 0; i < PAIRS_MAX; i++) {
        if (p->pairs[i].cfd >= 0)
            continue;
        int sfd = http_connect(p->server_port, CONNECT_TIMEOUT_MS);
        if (sfd < 0)
            break;
        p->pairs[i] = (pair){.cfd = cfd, .sfd = sfd};
        return;
    }
    close(cfd);
}

/* Whether the armed pattern is in the client's bytes buf (after the
 * pair's tail); disarms the proxy when it is. Keeps the new tail. */
static bool pattern_met(fault_proxy *p, pair *c, const char *buf, size_t len)
{
    char scan[sizeof c->tail + CHUNK];
    memcpy(scan, c->tail, c->tail_len);
    memcpy(scan + c->tail_len, buf, len);
    size_t n = c->tail_len + len;
    pthread_mutex_lock(&p->lock);
    bool met = p->pattern_len > 0 && memmem(scan, n, p->pattern, p->pattern_len) != NULL;
    if (met) {
        p->pattern_len = 0;
        p->dropped_len = 0;
        c->hold_ms = p->hold_ms;
    }
    pthread_mutex_unlock(&p->lock);
    c->tail_len = n < sizeof c->tail ? n : sizeof c->tail;
    memcpy(c->tail, scan + n - c->tail_len, c->tail_len);
    return met;
}

/* Client to server: buf, n bytes, forwarded. False when the pair is
 * done. */
static bool from_client(fault_proxy *p, pair *c, const char *buf, size_t n)
{
    bool met = pattern_met(p, c, buf, n);
    if (!http_send_all(c->sfd, buf, n))
        return false;
    c->holding = met;
    return true;
}

/* Server to client: buf, n bytes, forwarded, or kept in dropped while
 * holding. False when the pair is done. */
static bool from_server(fault_proxy *p, pair *c, const char *buf, size_t n)
{
    if (!c->holding)
        return http_send_all(c->cfd, buf, n);
    pthread_mutex_lock(&p->lock);
    size_t room = sizeof p->dropped - p->dropped_len;
    size_t k = n < room ? n : room;
    memcpy(p->dropped + p->dropped_len, buf, k);
    p->dropped_len += k;
    pthread_mutex_unlock(&p->lock);
    c->last_ms = sd_mono_ms();
    return true;
}

/* What one end of the pair (fd) sent. False when the pair is done. */
static bool pair_read(fault_proxy *p, pair *c, int fd)
{
    char buf[CHUNK];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
        return n < 0 && errno == EINTR;
    return fd == c->cfd ? from_client(p, c, buf, (size_t)n) : from_server(p, c, buf, (size_t)n);
}

/* Closes the holding pairs whose server answered and went quiet. */
static void fire_quiet(fault_proxy *p)
{
    int64_t now = sd_mono_ms();
    for (size_t i = 0; i < PAIRS_MAX; i++) {
        pair *c = &p->pairs[i];
        if (c->cfd < 0 || !c->holding || c->last_ms == 0 ||
            now - c->last_ms < c->hold_ms)
            continue;
        pair_close(c);
        pthread_mutex_lock(&p->lock);
        p->fired++;
        pthread_mutex_unlock(&p->lock);
    }
}

static bool stopping(fault_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/* The proxy's thread: one poll over the wake pipe, the listener and
 * every pair. A holding pair's client is not read: what it sends after
 * the pattern never reaches the server, as on a connection that broke. */
static void *proxy_main(void *arg)
{
    fault_proxy *p = arg;
    struct pollfd fds[2 + 2 * PAIRS_MAX];
    size_t owner[2 + 2 * PAIRS_MAX];
    while (!stopping(p)) {
        size_t n = 0;
        bool holding = false;
        fds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        for (size_t i = 0; i < PAIRS_MAX; i++) {
            pair *c = &p->pairs[i];
            if (c->cfd < 0)
                continue;
            holding = holding || c->holding;
            if (!c->holding) {
                owner[n] = i;
                fds[n++] = (struct pollfd){.fd = c->cfd, .events = POLLIN};
            }
            owner[n] = i;
            fds[n++] = (struct pollfd){.fd = c->sfd, .events = POLLIN};
        }
        int rc = poll(fds, (nfds_t)n, holding ? HOLD_POLL_MS : -1);
        if (rc < 0 && errno != EINTR) {
            perror("fault_proxy: poll");
            break;
        }
        if (rc > 0) {
            if (fds[0].revents != 0) {
                char b[16];
                if (read(p->wake[0], b, sizeof b) < 0 && errno != EINTR && errno != EAGAIN)
                    break;
            }
            if (fds[1].revents != 0)
                accept_client(p);
            for (size_t k = 2; k < n; k++) {
                pair *c = &p->pairs[owner[k]];
                if (fds[k].revents == 0 || c->cfd < 0)
                    continue;
                if (!pair_read(p, c, fds[k].fd))
                    pair_close(c);
            }
        }
        fire_quiet(p);
    }
    return NULL;
}

static int listen_any(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

fault_proxy *fault_proxy_start(unsigned server_port)
{
    fault_proxy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "fault_proxy: out of memory\n");
        return NULL;
    }
    p->server_port = server_port;
    for (size_t i = 0; i < PAIRS_MAX; i++)
        p->pairs[i] = (pair){.cfd = -1, .sfd = -1};
    p->lfd = listen_any(&p->port);
    if (p->lfd < 0) {
        perror("fault_proxy: listen");
        free(p);
        return NULL;
    }
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("fault_proxy: pipe");
        close(p->lfd);
        free(p);
        return NULL;
    }
    int rc = pthread_mutex_init(&p->lock, NULL);
    if (rc == 0) {
        rc = pthread_create(&p->thread, NULL, proxy_main, p);
        if (rc != 0)
            pthread_mutex_destroy(&p->lock);
    }
    if (rc != 0) {
        fprintf(stderr, "fault_proxy: %s\n", strerror(rc));
        close(p->wake[0]);
        close(p->wake[1]);
        close(p->lfd);
        free(p);
        return NULL;
    }
    return p;
}

unsigned fault_proxy_port(const fault_proxy *p)
{
    return p->port;
}

void fault_proxy_arm(fault_proxy *p, const void *pattern, size_t len, int hold_ms)
{
    if (len == 0 || len > PATTERN_MAX || hold_ms < 1)
        return;
    pthread_mutex_lock(&p->lock);
    memcpy(p->pattern, pattern, len);
    p->pattern_len = len;
    p->hold_ms = hold_ms;
    pthread_mutex_unlock(&p->lock);
}

int fault_proxy_fired(fault_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    int fired = p->fired;
    pthread_mutex_unlock(&p->lock);
    return fired;
}

bool fault_proxy_dropped_has(fault_proxy *p, const char *text)
{
    pthread_mutex_lock(&p->lock);
    bool has = memmem(p->dropped, p->dropped_len, text, strlen(text)) != NULL;
    pthread_mutex_unlock(&p->lock);
    return has;
}

void fault_proxy_stop(fault_proxy *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_mutex_unlock(&p->lock);
    while (write(p->wake[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < PAIRS_MAX; i++)
        pair_close(&p->pairs[i]);
    pthread_mutex_destroy(&p->lock);
    close(p->wake[0]);
    close(p->wake[1]);
    close(p->lfd);
    free(p);
}
