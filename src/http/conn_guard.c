/* Header and body deadlines, and the cap on connections waiting for
 * headers (conn_guard.h). */
#include "http/conn_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "statusd/log.h"
#include "statusd/ticker.h"
#include "statusd/util.h"

#define WATCH_PERIOD_MS 100

struct sd_conn {
    sd_conn *prev, *next;
    int fd;
    sd_conn_phase phase;
    int64_t since_ms;            /* when the phase began, monotonic */
    bool shut;                   /* shut down by the guard, closing */
    char *target;                /* owned by the connection's thread */
    size_t target_cap;
};

struct sd_guard {
    pthread_mutex_t lock;
    sd_ticker *watchdog;
    sd_conn *head, *tail;        /* every open connection */
    size_t waiting;              /* waiting (headers or idle) and not shut */
    size_t header_cap;
    int64_t header_ms, idle_ms, body_ms;
};

static bool phase_waits(sd_conn_phase p)
{
    return p == SD_CONN_HEADERS || p == SD_CONN_IDLE;
}

/* Under g->lock. */
static void conn_shut(sd_guard *g, sd_conn *c, const char *why)
{
    if (c->shut)
        return;
    c->shut = true;
    if (phase_waits(c->phase))
        g->waiting--;
    char buf[128];
    if (shutdown(c->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        sd_debug("http: shutdown of a connection (%s): %s", why,
                 strerror_r(errno, buf, sizeof buf));
    else
        sd_debug("http: closed a connection: %s", why);
}

/* Every WATCH_PERIOD_MS: shuts the connections past their phase's time. */
static void watchdog_tick(void *arg, sd_ticker *t)
{
    (void)t;
    sd_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    int64_t now = sd_mono_ms();
    for (sd_conn *c = g->head; c != NULL; c = c->next) {
        if (c->shut)
            continue;
        if (c->phase == SD_CONN_HEADERS && now - c->since_ms >= g->header_ms)
            conn_shut(g, c, "headers not complete within header_timeout");
        else if (c->phase == SD_CONN_IDLE && now - c->since_ms >= g->idle_ms)
            conn_shut(g, c, "no new request within connection_timeout");
        else if (c->phase == SD_CONN_BODY && now - c->since_ms >= g->body_ms)
            conn_shut(g, c, "body not complete within body_timeout");
    }
    pthread_mutex_unlock(&g->lock);
}

sd_err sd_guard_new(int64_t header_ms, int64_t idle_ms, int64_t body_ms, size_t header_cap,
                    sd_guard **out, char *err, size_t errlen)
{
    *out = NULL;
    sd_guard *g = calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    g->header_ms = header_ms;
    g->idle_ms = idle_ms;
    g->body_ms = body_ms;
    g->header_cap = header_cap > 0 ? header_cap : 1;
    int e = pthread_mutex_init(&g->lock, NULL);
    if (e != 0) {
        char buf[128];
        snprintf(err, errlen, "connection guard: %s", strerror_r(e, buf, sizeof buf));
        free(g);
        return SD_ERR_INTERNAL;
    }
    sd_err se = sd_ticker_start(WATCH_PERIOD_MS, false, watchdog_tick, g, &g->watchdog);
    if (se != SD_OK) {
        snprintf(err, errlen, "connection guard: cannot start its watchdog thread: %s",
                 sd_err_name(se));
        pthread_mutex_destroy(&g->lock);
        free(g);
        return se;
    }
    *out = g;
    return SD_OK;
}

void sd_guard_free(sd_guard *g)
{
    if (g == NULL)
        return;
    sd_ticker_stop(g->watchdog);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void sd_guard_admit(sd_guard *g)
{
    pthread_mutex_lock(&g->lock);
    if (g->waiting >= g->header_cap) {
        sd_conn *oldest = NULL;
        for (sd_conn *c = g->head; c != NULL; c = c->next)
            if (!c->shut && phase_waits(c->phase) &&
                (oldest == NULL || c->since_ms < oldest->since_ms))
                oldest = c;
        if (oldest != NULL)
            conn_shut(g, oldest, "too many connections waiting for headers");
    }
    pthread_mutex_unlock(&g->lock);
}

sd_conn *sd_guard_open(sd_guard *g, int fd)
{
    sd_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->phase = SD_CONN_HEADERS;
    c->since_ms = sd_mono_ms();
    pthread_mutex_lock(&g->lock);
    c->prev = g->tail;
    if (g->tail != NULL)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    g->waiting++;
    pthread_mutex_unlock(&g->lock);
    return c;
}

void sd_guard_close(sd_guard *g, sd_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (!c->shut && phase_waits(c->phase))
        g->waiting--;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        g->tail = c->prev;
    pthread_mutex_unlock(&g->lock);
    free(c->target);
    free(c);
}

void sd_guard_phase(sd_guard *g, sd_conn *c, sd_conn_phase p)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (!c->shut) {
        if (phase_waits(c->phase) && !phase_waits(p))
            g->waiting--;
        else if (!phase_waits(c->phase) && phase_waits(p))
            g->waiting++;
    }
    c->phase = p;
    c->since_ms = sd_mono_ms();
    pthread_mutex_unlock(&g->lock);
}

void sd_guard_request_line(sd_guard *g, sd_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->phase == SD_CONN_IDLE) {
        c->phase = SD_CONN_HEADERS;
        c->since_ms = sd_mono_ms();
    }
    pthread_mutex_unlock(&g->lock);
}

sd_err sd_conn_set_target(sd_conn *c, const char *target)
{
    size_t n = strlen(target);
    if (n + 1 > c->target_cap) {
        char *t = realloc(c->target, n + 1);
        if (t == NULL)
            return SD_ERR_NOMEM;
        c->target = t;
        c->target_cap = n + 1;
    }
    memcpy(c->target, target, n + 1);
    return SD_OK;
}

const char *sd_conn_target(const sd_conn *c)
{
    return c != NULL && c->target != NULL ? c->target : "";
}
