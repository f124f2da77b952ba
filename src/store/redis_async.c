/*
 * Commands sent without waiting (see redis_async.h).
 *
 * Threads. Any thread hands over a send: its commands are formatted
 * there (redisFormatCommandArgv), linked into a queue under a mutex,
 * and the loop is woken through an eventfd, written only when no wake is
 * pending already, so a burst of sends costs the loop one wake-up. Only
 * the loop's thread touches the hiredis context and libevent: it takes
 * the whole queue at once and appends every command to the context's
 * output buffer, which goes out in one write; replies are read in
 * batches and handed to the callbacks in order, each built in an arena
 * (redis_arena.h) and used up in its callback.
 *
 * Timeout. Redis answers in order, so "no reply for timeout while
 * commands are due" is a stall: a tick (a tenth of the timeout, 5 ms to
 * 100 ms) checks the time of the last reply (or of the first send after
 * an idle spell), and that nothing waits unread on the socket (replies
 * that came in time while this thread was not scheduled are no stall). A stall marks the pool stalled (redis_conn.c), whose
 * calls then fail at once and probe; the context is freed, its commands
 * get RD_ASYNC_TIMEOUT, and sends are refused until a new connection is
 * up. A connection that the server closed gives RD_ASYNC_LOST to the
 * commands it carried: a caller may send a read again the waiting way,
 * on a connection that redis_conn.c checks before use.
 *
 * Connecting. In the background: a non-blocking connect, then the pool's
 * AUTH and SELECT and a PING, pipelined; sends are accepted once the PING
 * is answered. A failed attempt is retried after a backoff (50 ms,
 * doubling up to 2 s); a connection that was up and dropped is replaced
 * at once.
 */
#include "redis_async.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_arena.h"

#define RA_BACKOFF_FIRST_MS 50
#define RA_BACKOFF_MAX_MS 2000
#define RA_TICK_MIN_MS 5
#define RA_TICK_MAX_MS 100

typedef struct ra_job ra_job;

/* One command of a job, the privdata of its hiredis callback. */
typedef struct ra_slot {
    ra_job *job;
    size_t i;
} ra_slot;

struct ra_job {
    ra_job *next;                   /* the queue's */
    rd_async_fn fn;
    rd_async_done_fn done;
    void *arg;
    size_t n;
    size_t left;                    /* commands without an outcome yet */
    char *cmd[RD_PIPELINE_MAX];     /* formatted; freed once appended */
    size_t len[RD_PIPELINE_MAX];
    ra_slot slot[RD_PIPELINE_MAX];
};

/* What a set-up command is, as its callback's privdata. */
static const char ra_setup_auth[] = "AUTH";
static const char ra_setup_select[] = "SELECT";
static const char ra_setup_ping[] = "PING";

struct rd_async {
    rd_pool *pool;
    int64_t timeout_ms;
    int wake_fd;

    pthread_mutex_t lock;
    ra_job *head, *tail;            /* under lock */
    bool signaled;                  /* under lock: a wake is pending */
    bool ready;                     /* under lock: sends are taken */
    bool stopping;                  /* under lock */
    bool tried;                     /* under lock: the first attempt ended */
    pthread_cond_t first;           /* signalled when tried is set */
    int64_t stop_by_ms;             /* under lock: replies waited for until then */

    /* the loop's thread only, once started */
    struct event_base *base;
    struct event *wake_ev;
    struct event *tick_ev;
    redisAsyncContext *ac;          /* NULL between connections */
    rd_arena *arena;                /* where ac's replies are built */
    bool up;                        /* ac answered its PING */
    bool was_up;                    /* a connection was up before this attempt */
    bool failing;                   /* a streak of failed attempts, warned once */
    bool backed_off;                /* this attempt's failure set the backoff */
    int64_t attempt_ms;             /* when ac's connect began */
    int64_t retry_at_ms;            /* the next connect, when ac is NULL */
    int64_t backoff_ms;
    size_t inflight;                /* commands sent, without a reply */
    int64_t progress_ms;            /* last reply, or first send after idle */
    rd_async_status dropped;        /* what commands freed with ac get */

    pthread_t thread;
    bool started;
    bool joined;
};

static void ra_job_free(ra_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        redisFreeCommand(j->cmd[i]);
    free(j);
}

/* Hands every command of j that has none yet the outcome st. */
static void ra_job_fail(ra_job *j, rd_async_status st)
{
    for (size_t i = j->n - j->left; i < j->n; i++)
        j->fn(j->arg, i, st, NULL);
    j->left = 0;
    j->done(j->arg);
    ra_job_free(j);
}

/* Sends are taken (ready) or not; either ends the first attempt. */
static void ra_set_ready(rd_async *a, bool ready)
{
    pthread_mutex_lock(&a->lock);
    a->ready = ready && !a->stopping;
    if (!a->tried) {
        a->tried = true;
        pthread_cond_broadcast(&a->first);
    }
    pthread_mutex_unlock(&a->lock);
}

/* ---- the connection ---- */

/* The next attempt after a failed one: the backoff grows. */
static void ra_backoff(rd_async *a, const char *why)
{
    if (a->backed_off)
        return;
    a->backed_off = true;
    if (!a->failing)
        sd_warn("redis store: pipelined connection: %s; retrying with backoff", why);
    a->failing = true;
    a->backoff_ms = a->backoff_ms == 0 ? RA_BACKOFF_FIRST_MS
                    : a->backoff_ms * 2 > RA_BACKOFF_MAX_MS ? RA_BACKOFF_MAX_MS
                    : a->backoff_ms * 2;
    a->retry_at_ms = sd_mono_ms() + a->backoff_ms;
    ra_set_ready(a, false);
}

/* ac is gone (freed by hiredis or by ra_drop): a connection that was up
 * is replaced at once, a failed attempt after the backoff. */
static void ra_gone(rd_async *a, const char *why)
{
    bool was_up = a->up;
    a->ac = NULL;
    a->up = false;
    a->inflight = 0;
    ra_set_ready(a, false);
    pthread_mutex_lock(&a->lock);
    bool stopping = a->stopping;
    pthread_mutex_unlock(&a->lock);
    if (stopping)
        return;
    if (was_up) {
        sd_info("redis store: pipelined connection closed (%s); opening a new one", why);
        a->retry_at_ms = sd_mono_ms();
    } else {
        ra_backoff(a, why);
    }
}

static void ra_on_connect(const redisAsyncContext *ac, int status)
{
    rd_async *a = ac->data;
    if (status != REDIS_OK)
        ra_gone(a, ac->errstr[0] != '\0' ? ac->errstr : "cannot connect");
}

static void ra_on_disconnect(const redisAsyncContext *ac, int status)
{
    rd_async *a = ac->data;
    if (a->ac == ac)
        ra_gone(a, status == REDIS_OK ? "closed" : ac->errstr);
}

/* Frees ac on purpose (a timeout, stopping): its commands get st. */
static void ra_drop(rd_async *a, rd_async_status st, const char *why)
{
    redisAsyncContext *ac = a->ac;
    if (ac == NULL)
        return;
    a->dropped = st;
    ra_set_ready(a, false);
    ra_gone(a, why);
    redisAsyncFree(ac);
    a->dropped = RD_ASYNC_LOST;
}

static void ra_on_setup(redisAsyncContext *ac, void *reply, void *privdata)
{
    rd_async *a = ac->data;
    const redisReply *r = reply;
    if (r == NULL || a->ac != ac)
        return; /* the connection went: ra_gone said so */
    if (r->type == REDIS_REPLY_ERROR) {
        char why[96];
        snprintf(why, sizeof why, "%s refused (%.40s)", (const char *)privdata, r->str);
        a->up = false;
        ra_backoff(a, why);
        redisAsyncDisconnect(ac);
        return;
    }
    if (privdata != ra_setup_ping)
        return;
    a->up = true;
    if (a->failing || a->was_up)
        sd_info("redis store: pipelined connection to %s:%d up", rd_pool_host(a->pool),
                rd_pool_port(a->pool));
    a->failing = false;
    a->was_up = true;
    a->backoff_ms = 0;
    ra_set_ready(a, true);
}

static void ra_connect(rd_async *a)
{
    a->backed_off = false;
    redisAsyncContext *ac = redisAsyncConnect(rd_pool_host(a->pool), rd_pool_port(a->pool));
    if (ac == NULL) {
        ra_backoff(a, "out of memory");
        return;
    }
    if (ac->err != 0) {
        char why[128];
        snprintf(why, sizeof why, "cannot connect: %s", ac->errstr);
        redisAsyncFree(ac);
        ra_backoff(a, why);
        return;
    }
    ac->data = a;
    rd_arena_attach(a->arena, ac->c.reader);
    if (redisLibeventAttach(ac, a->base) != REDIS_OK) {
        redisAsyncFree(ac);
        ra_backoff(a, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, ra_on_connect);
    redisAsyncSetDisconnectCallback(ac, ra_on_disconnect);
    a->ac = ac;
    a->up = false;
    a->backed_off = false;
    a->attempt_ms = sd_mono_ms();
    const char *argv[3];
    size_t lens[3];
    int argc = rd_pool_auth(a->pool, argv, lens);
    if (argc > 0)
        redisAsyncCommandArgv(ac, ra_on_setup, (void *)ra_setup_auth, argc, argv, lens);
    if (rd_pool_db(a->pool) != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", rd_pool_db(a->pool));
        const char *sel[2] = {"SELECT", db};
        size_t sel_lens[2] = {6, (size_t)n};
        redisAsyncCommandArgv(ac, ra_on_setup, (void *)ra_setup_select, 2, sel, sel_lens);
    }
    const char *ping[1] = {"PING"};
    size_t ping_len[1] = {4};
    redisAsyncCommandArgv(ac, ra_on_setup, (void *)ra_setup_ping, 1, ping, ping_len);
}

/* ---- commands ---- */

static void ra_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    rd_async *a = ac->data;
    ra_slot *slot = privdata;
    ra_job *j = slot->job;
    rd_async_status st = RD_ASYNC_REPLY;
    if (reply == NULL) {
        st = a->dropped;
    } else {
        a->progress_ms = sd_mono_ms();
        if (a->inflight > 0)
            a->inflight--;
    }
    j->fn(j->arg, slot->i, st, reply);
    if (--j->left == 0) {
        j->done(j->arg);
        ra_job_free(j);
    }
}

/* Appends j's commands to the connection's output buffer; a job that
 * cannot go gets RD_ASYNC_LOST. */
static void ra_issue(rd_async *a, ra_job *j)
{
    if (a->ac == NULL || !a->up) {
        ra_job_fail(j, RD_ASYNC_LOST);
        return;
    }
    if (a->inflight == 0)
        a->progress_ms = sd_mono_ms();
    for (size_t i = 0; i < j->n; i++) {
        if (redisAsyncFormattedCommand(a->ac, ra_on_reply, &j->slot[i], j->cmd[i],
                                       j->len[i]) != REDIS_OK) {
            /* The context is closing: nothing more goes out on it. Those
             * appended already get their outcome from it, in order. */
            for (size_t k = i; k < j->n; k++)
                j->fn(j->arg, k, RD_ASYNC_LOST, NULL);
            j->left -= j->n - i;
            if (j->left == 0) {
                j->done(j->arg);
                ra_job_free(j);
            }
            return;
        }
        a->inflight++;
        redisFreeCommand(j->cmd[i]);
        j->cmd[i] = NULL;
    }
}

static void ra_on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    rd_async *a = arg;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        sd_warn("redis store: pipelined loop: wake-up read failed: %s", strerror(errno));
    pthread_mutex_lock(&a->lock);
    ra_job *j = a->head;
    a->head = a->tail = NULL;
    a->signaled = false;
    bool stopping = a->stopping;
    pthread_mutex_unlock(&a->lock);
    while (j != NULL) {
        ra_job *next = j->next;
        if (stopping)
            ra_job_fail(j, RD_ASYNC_LOST);
        else
            ra_issue(a, j);
        j = next;
    }
    if (stopping && a->inflight == 0) {
        ra_drop(a, RD_ASYNC_LOST, "stopping");
        event_base_loopbreak(a->base);
    }
}

/* True when bytes from the server wait on ac's socket: replies that came
 * in time and are not read yet (this thread was not scheduled, and the
 * tick ran before the read), so no stall. */
static bool ra_replies_waiting(const redisAsyncContext *ac)
{
    char b;
    return recv(ac->c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void ra_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rd_async *a = arg;
    int64_t now = sd_mono_ms();
    pthread_mutex_lock(&a->lock);
    bool stopping = a->stopping;
    int64_t stop_by = a->stop_by_ms;
    pthread_mutex_unlock(&a->lock);
    if (stopping) {
        if (a->inflight == 0 || now >= stop_by) {
            ra_drop(a, a->inflight == 0 ? RD_ASYNC_LOST : RD_ASYNC_TIMEOUT, "stopping");
            event_base_loopbreak(a->base);
        }
        return;
    }
    if (a->ac != NULL && a->up && a->inflight > 0 && now - a->progress_ms > a->timeout_ms &&
        !ra_replies_waiting(a->ac)) {
        rd_pool_mark_stalled(a->pool);
        a->up = false; /* a stall is not a drop of a connection that was up */
        ra_drop(a, RD_ASYNC_TIMEOUT, "no reply within the timeout");
    } else if (a->ac != NULL && !a->up && now - a->attempt_ms > a->timeout_ms) {
        ra_drop(a, RD_ASYNC_LOST, "no answer to the set-up within the timeout");
    } else if (a->ac == NULL && now >= a->retry_at_ms) {
        ra_connect(a);
    }
}

static void *ra_main(void *arg)
{
    rd_async *a = arg;
    ra_connect(a);
    event_base_dispatch(a->base);
    return NULL;
}

/* ---- the public calls ---- */

bool rd_async_send(rd_async *a, size_t n, const rd_cmd *cmds, rd_async_fn fn,
                   rd_async_done_fn done, void *arg)
{
    if (a == NULL || n == 0 || n > RD_PIPELINE_MAX)
        return false;
    pthread_mutex_lock(&a->lock);
    bool ready = a->ready;
    pthread_mutex_unlock(&a->lock);
    if (!ready || rd_pool_stalled(a->pool))
        return false;
    ra_job *j = malloc(sizeof *j);
    if (j == NULL)
        return false;
    j->next = NULL;
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    j->n = 0;
    j->left = n;
    for (size_t i = 0; i < n; i++) {
        int len = redisFormatCommandArgv(&j->cmd[i], cmds[i].argc, cmds[i].argv, cmds[i].lens);
        if (len < 0) {
            ra_job_free(j);
            return false;
        }
        j->len[i] = (size_t)len;
        j->slot[i].job = j;
        j->slot[i].i = i;
        j->n = i + 1;
    }
    pthread_mutex_lock(&a->lock);
    if (!a->ready) {
        pthread_mutex_unlock(&a->lock);
        ra_job_free(j);
        return false;
    }
    if (a->tail != NULL)
        a->tail->next = j;
    else
        a->head = j;
    a->tail = j;
    bool wake = !a->signaled;
    a->signaled = true;
    pthread_mutex_unlock(&a->lock);
    uint64_t one = 1;
    if (wake && write(a->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sd_warn("redis store: pipelined loop: wake-up failed: %s", strerror(errno));
    return true;
}

static void ra_free_parts(rd_async *a)
{
    if (a->tick_ev != NULL)
        event_free(a->tick_ev);
    if (a->wake_ev != NULL)
        event_free(a->wake_ev);
    if (a->base != NULL)
        event_base_free(a->base);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    rd_arena_free(a->arena);
    pthread_cond_destroy(&a->first);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

sd_err rd_async_new(rd_pool *pool, rd_async **out, char *err, size_t errlen)
{
    *out = NULL;
    rd_async *a = calloc(1, sizeof *a);
    if (a == NULL) {
        sd_errf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    a->pool = pool;
    a->timeout_ms = rd_pool_timeout_ms(pool);
    a->dropped = RD_ASYNC_LOST;
    a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        if (a->wake_fd >= 0)
            close(a->wake_fd);
        free(a);
        sd_errf(err, errlen, "cannot make a mutex");
        return SD_ERR_INTERNAL;
    }
    if (pthread_cond_init(&a->first, NULL) != 0) {
        pthread_mutex_destroy(&a->lock);
        if (a->wake_fd >= 0)
            close(a->wake_fd);
        free(a);
        sd_errf(err, errlen, "cannot make a condition variable");
        return SD_ERR_INTERNAL;
    }
    int64_t tick = a->timeout_ms / 10;
    tick = tick < RA_TICK_MIN_MS ? RA_TICK_MIN_MS : tick > RA_TICK_MAX_MS ? RA_TICK_MAX_MS : tick;
    struct timeval tv = {.tv_sec = (time_t)(tick / 1000),
                         .tv_usec = (suseconds_t)(tick % 1000 * 1000)};
    if (a->wake_fd < 0 || (a->arena = rd_arena_new()) == NULL ||
        (a->base = event_base_new()) == NULL ||
        (a->wake_ev = event_new(a->base, a->wake_fd, EV_READ | EV_PERSIST, ra_on_wake, a)) ==
            NULL ||
        (a->tick_ev = event_new(a->base, -1, EV_PERSIST, ra_on_tick, a)) == NULL ||
        event_add(a->wake_ev, NULL) != 0 || event_add(a->tick_ev, &tv) != 0) {
        ra_free_parts(a);
        sd_errf(err, errlen, "cannot set up the pipelined connection's event loop");
        return SD_ERR_INTERNAL;
    }
    int rc = pthread_create(&a->thread, NULL, ra_main, a);
    if (rc != 0) {
        ra_free_parts(a);
        sd_errf(err, errlen, "cannot start the pipelined connection's thread: %s",
                strerror(rc));
        return SD_ERR_INTERNAL;
    }
    a->started = true;
    /* The first connection, as the pool's first, is made before the
     * store is handed out (bounded by the timeout, and not required:
     * later attempts go on in the background). */
    pthread_mutex_lock(&a->lock);
    while (!a->tried)
        pthread_cond_wait(&a->first, &a->lock);
    pthread_mutex_unlock(&a->lock);
    *out = a;
    return SD_OK;
}

void rd_async_stop(rd_async *a)
{
    if (a == NULL || a->joined)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    a->ready = false;
    a->stop_by_ms = sd_mono_ms() + a->timeout_ms;
    pthread_mutex_unlock(&a->lock);
    uint64_t one = 1;
    if (write(a->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sd_warn("redis store: pipelined loop: stop wake-up failed: %s", strerror(errno));
    pthread_join(a->thread, NULL);
    a->joined = true;
}

void rd_async_free(rd_async *a)
{
    if (a == NULL)
        return;
    rd_async_stop(a);
    ra_free_parts(a);
}
