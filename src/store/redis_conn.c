/*
 * Connections of the Redis store (see redis_conn.h).
 *
 * Design. The threads that call the store share a few connections, the
 * lanes (redis_pool_size, 2 by default); a thread keeps to the lane it
 * was given on its first call. Calls are pipelined on a lane by flat
 * combining: a call is queued on its lane under the lane's lock; when no
 * round trip is going on there, the calling thread leads one: it takes
 * every call queued, sends all their commands in one write, reads the
 * replies in order and hands each call its own, then wakes the next
 * leader if calls queued meanwhile. The others sleep on a condition
 * variable of their own until a leader answered them. So an idle lane
 * costs a call what a connection of its own would (the caller does its
 * round trip itself), and a busy one carries many threads' commands in
 * one write and one read, on both sides of the socket, without a thread
 * of its own. A hiredis context is touched only by its lane's leader.
 *
 * Timeouts. Every context is opened with redisConnectWithTimeout and
 * then given the same timeout for commands with redisSetTimeout. A
 * context that fails is freed and never reconnected in place:
 * redisReconnect in hiredis 0.14 reconnects without the command timeout,
 * and a server that stopped answering would then block the thread for
 * good. A call thus waits at most about one timeout per round trip, plus
 * the connect timeout when it has to connect.
 *
 * Stale connections. A server that restarted (or closed an idle client)
 * has closed its end; the first command sent on that context would go
 * nowhere and fail, a 503 for a request that came when the server was
 * back. So before each command the context's socket is peeked without
 * blocking: end of file, an error or bytes nobody asked for mean the
 * server is gone from this connection, which is then freed and opened
 * anew before the command is sent. The command itself never reached a
 * server, so sending it on the fresh connection runs it once. A peek is
 * one system call, next to a round trip of tens of microseconds.
 *
 * Backoff. After a failed connect, a lane's calls fail at once with
 * SD_ERR_UNAVAILABLE until its backoff passes (50 ms, doubling up to
 * 2 s, reset by a successful connect), so an outage costs each request a
 * fast 503 rather than a connect attempt. A connect that succeeds on any
 * lane ends every other lane's backoff too (the pool's connected_ms):
 * once the server is back, a request must not get a 503 only because its
 * lane failed last and still waits out its own backoff. A connect refused
 * at once (the host answered that nothing listens: a server restarting)
 * starts no backoff: such an attempt costs a round trip, not a timeout,
 * so the next call tries again, and the first call after the server is
 * back succeeds instead of failing until a backoff runs out.
 *
 * Stalls. A server that stops answering (stopped, swapping, a long
 * script) still accepts connections, so the backoff above never starts
 * and every call would wait out a whole timeout, one after another on
 * each thread: requests queued behind them would wait many timeouts.
 * So a command that times out marks the whole pool stalled: calls fail
 * at once with SD_ERR_UNAVAILABLE for a backoff (50 ms, doubling up to
 * 2 s), then one call at a time (the probe) is sent while the others
 * still fail at once; a probe that gets its reply ends the stall. Calls
 * queued behind a round trip that timed out fail when their turn comes,
 * unsent. A call thus waits at most about one timeout, however many are
 * queued. Refused connects (a server that is down) are the lanes'
 * backoff's.
 */
#include "redis_conn.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "statusd/log.h"
#include "statusd/util.h"

#define RD_BACKOFF_FIRST_MS 50
#define RD_BACKOFF_MAX_MS 2000
#define RD_TIMEOUT_MAX_MS (3600LL * 1000)
#define RD_SHA_LEN 40

typedef struct rd_conn {
    rd_pool *pool;
    redisContext *ctx;             /* NULL until (re)connected */
    int64_t backoff_ms;            /* 0 unless the last connect failed */
    int64_t retry_at_ms;           /* monotonic; no connect before it */
    int64_t failed_ms;             /* monotonic, of the last failed connect */
    bool refused;                  /* the last connect was refused at once */
} rd_conn;

#define RD_LANES_DEFAULT 2
#define RD_CONNS_MAX 10000

/* A connection the threads share, and the calls waiting for it. */
typedef struct rd_lane {
    pthread_mutex_t lock;
    struct rd_call *head, *tail;   /* under lock: waiting to go out */
    bool leading;                  /* under lock: a batch is going out */
    rd_conn conn;                  /* the leader's only */
} rd_lane;

struct rd_pool {
    char *host;
    int port;
    int db;
    char *username;                /* NULL: AUTH with the password only */
    char *password;                /* NULL: no AUTH */
    struct timeval timeout;
    _Atomic int64_t connected_ms;  /* monotonic, of the last connect that worked */
    _Atomic int64_t stalled_until_ms;  /* 0: not stalled; else no probe before it */
    _Atomic int64_t stall_backoff_ms;  /* the current stall's backoff */
    atomic_bool probing;           /* a call is probing a stalled server */
    rd_lane *lanes;
    size_t nlanes;
    atomic_uint next_lane;
    char *text[RD_SCRIPT_N];
    char sha[RD_SCRIPT_N][RD_SHA_LEN + 1];   /* set by rd_pool_check */
};

/* ---- error replies ---- */

/* Server states in which the store cannot answer now; a warning names
 * the class, never the command's data. */
static const char *const unavailable_codes[] = {
    "LOADING", "READONLY", "MISCONF", "BUSY", "MASTERDOWN",
    "NOAUTH", "WRONGPASS", "NOPERM",
};

/* The first word of an error reply ("NOSCRIPT") into code. */
static void reply_code(const redisReply *r, char *code, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap && n < r->len && r->str[n] != ' ' && r->str[n] != '\0')
        n++;
    memcpy(code, r->str, n);
    code[n] = '\0';
}

static bool is_error(const redisReply *r, const char *code)
{
    if (r->type != REDIS_REPLY_ERROR)
        return false;
    char c[32];
    reply_code(r, c, sizeof c);
    return code == NULL || strcmp(c, code) == 0;
}

/* The store's error for an error reply. */
static sd_err reply_error(const redisReply *r, const char *what)
{
    char code[32];
    reply_code(r, code, sizeof code);
    /* A Redis at maxmemory under noeviction refuses writes with OOM and
     * still reads and deletes: the store is full, not down. */
    if (strcmp(code, "OOM") == 0) {
        sd_warn("redis store: %s: server answered OOM (maxmemory reached); store full", what);
        return SD_ERR_STORE_FULL;
    }
    for (size_t i = 0; i < sizeof unavailable_codes / sizeof *unavailable_codes; i++) {
        if (strcmp(code, unavailable_codes[i]) == 0) {
            sd_warn("redis store: %s: server answered %s; store unavailable", what, code);
            return SD_ERR_UNAVAILABLE;
        }
    }
    /* Anything else is a bug on one side; the message comes from the
     * server or a script and carries no record data. */
    sd_warn("redis store: %s: unexpected error reply: %.160s", what, r->str);
    return SD_ERR_INTERNAL;
}

/* ---- opening connections ---- */

/* One command of the connection set-up (AUTH, SELECT) on a fresh
 * context, expecting anything but an error. */
static sd_err setup_call(redisContext *c, int argc, const char **argv,
                         const size_t *lens, char *why, size_t whylen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (r == NULL) {
        sd_errf(why, whylen, "%s failed: %s", argv[0], c->errstr);
        return c->err == REDIS_ERR_OOM ? SD_ERR_NOMEM : SD_ERR_UNAVAILABLE;
    }
    sd_err err = SD_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        char code[32];
        reply_code(r, code, sizeof code);
        sd_errf(why, whylen, "%s refused (%s)", argv[0], code);
        err = SD_ERR_UNAVAILABLE;
    }
    freeReplyObject(r);
    return err;
}

/* A fresh context with the command timeout set, authenticated and on
 * the pool's database, in *out; why gets the reason on failure, and
 * *refused (optional) whether the host refused the connect itself
 * (nothing listens on the port). A name that does not resolve, or a host
 * that does not answer, is not that: either may cost a lookup or a
 * timeout. */
static sd_err conn_open(rd_pool *p, redisContext **out, bool *refused, char *why,
                        size_t whylen)
{
    *out = NULL;
    if (refused != NULL)
        *refused = false;
    redisContext *c = redisConnectWithTimeout(p->host, p->port, p->timeout);
    if (c == NULL) {
        sd_errf(why, whylen, "out of memory");
        return SD_ERR_NOMEM;
    }
    if (c->err != 0) {
        sd_errf(why, whylen, "cannot connect to %s:%d: %s", p->host, p->port, c->errstr);
        if (refused != NULL)
            *refused = c->err == REDIS_ERR_IO &&
                       strstr(c->errstr, strerror(ECONNREFUSED)) != NULL;
        redisFree(c);
        return SD_ERR_UNAVAILABLE;
    }
    if (redisSetTimeout(c, p->timeout) != REDIS_OK) {
        sd_errf(why, whylen, "cannot set the command timeout: %s", c->errstr);
        redisFree(c);
        return SD_ERR_UNAVAILABLE;
    }
    sd_err err = SD_OK;
    const char *auth[3];
    size_t auth_lens[3];
    int auth_argc = rd_pool_auth(p, auth, auth_lens);
    if (auth_argc > 0)
        err = setup_call(c, auth_argc, auth, auth_lens, why, whylen);
    if (err == SD_OK && p->db != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", p->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        err = setup_call(c, 2, argv, lens, why, whylen);
    }
    if (err != SD_OK) {
        redisFree(c);
        return err;
    }
    *out = c;
    return SD_OK;
}

sd_err rd_pool_open(rd_pool *p, redisContext **out, char *why, size_t whylen)
{
    return conn_open(p, out, NULL, why, whylen);
}

const char *rd_pool_host(const rd_pool *p) { return p->host; }
int rd_pool_port(const rd_pool *p) { return p->port; }
int rd_pool_db(const rd_pool *p) { return p->db; }

int64_t rd_pool_timeout_ms(const rd_pool *p)
{
    return (int64_t)p->timeout.tv_sec * 1000 + (int64_t)p->timeout.tv_usec / 1000;
}

int rd_pool_auth(const rd_pool *p, const char *argv[3], size_t lens[3])
{
    if (p->password == NULL)
        return 0;
    int argc = 0;
    argv[argc] = "AUTH";
    lens[argc++] = 4;
    if (p->username != NULL) {
        argv[argc] = p->username;
        lens[argc++] = strlen(p->username);
    }
    argv[argc] = p->password;
    lens[argc++] = strlen(p->password);
    return argc;
}

/* ---- the lanes' connections ---- */

/* True when the server has closed c's connection (or sent what nobody
 * asked for): peeked without blocking, nothing is consumed. */
static bool conn_stale(const redisContext *ctx)
{
    char b;
    ssize_t n = recv(ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return true;
}

/* Opens c's context when it has none (or the one it had went stale) and
 * its backoff allows. warn: log the first failure of a streak (calls on
 * the request path; store creation reports its own). */
static sd_err conn_ready_on(rd_pool *p, rd_conn *c, bool warn, char *why, size_t whylen)
{
    if (c->ctx != NULL && conn_stale(c->ctx)) {
        sd_info("redis store: connection to %s:%d closed by the server; opening a new one",
                p->host, p->port);
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    if (c->ctx == NULL) {
        bool back = atomic_load_explicit(&p->connected_ms, memory_order_relaxed) > c->failed_ms;
        if (c->backoff_ms > 0 && sd_mono_ms() < c->retry_at_ms && !back && !c->refused) {
            sd_errf(why, whylen, "not connected (retrying after a backoff)");
            return SD_ERR_UNAVAILABLE;
        }
        sd_err err = conn_open(p, &c->ctx, &c->refused, why, whylen);
        if (err != SD_OK) {
            if (warn && c->backoff_ms == 0)
                sd_warn("redis store: %s; retrying with backoff", why);
            c->backoff_ms = c->backoff_ms == 0 ? RD_BACKOFF_FIRST_MS
                            : c->backoff_ms * 2 > RD_BACKOFF_MAX_MS ? RD_BACKOFF_MAX_MS
                            : c->backoff_ms * 2;
            c->failed_ms = sd_mono_ms();
            c->retry_at_ms = c->failed_ms + c->backoff_ms;
            return err;
        }
        if (c->backoff_ms > 0)
            sd_info("redis store: connected again to %s:%d", p->host, p->port);
        c->backoff_ms = 0;
        atomic_store_explicit(&p->connected_ms, sd_mono_ms(), memory_order_relaxed);
    }
    return SD_OK;
}

/* A command timed out: the pool is stalled for a backoff that doubles
 * with each timeout of the same stall. */
static void pool_stalled(rd_pool *p)
{
    int64_t b = atomic_load(&p->stall_backoff_ms);
    b = b == 0 ? RD_BACKOFF_FIRST_MS : b * 2 > RD_BACKOFF_MAX_MS ? RD_BACKOFF_MAX_MS : b * 2;
    atomic_store(&p->stall_backoff_ms, b);
    if (atomic_exchange(&p->stalled_until_ms, sd_mono_ms() + b) == 0)
        sd_warn("redis store: %s:%d does not answer within the timeout; failing calls "
                "at once, probing with one call at a time", p->host, p->port);
}

void rd_pool_mark_stalled(rd_pool *p) { pool_stalled(p); }

bool rd_pool_stalled(rd_pool *p)
{
    return atomic_load_explicit(&p->stalled_until_ms, memory_order_relaxed) != 0;
}

/* Whether a call may be sent now: always when the pool is not stalled;
 * when it is, only as the one probe after the backoff (*probe set). */
static bool pool_may_send(rd_pool *p, bool *probe)
{
    *probe = false;
    int64_t until = atomic_load_explicit(&p->stalled_until_ms, memory_order_relaxed);
    if (until == 0)
        return true;
    if (sd_mono_ms() < until || atomic_exchange(&p->probing, true))
        return false;
    *probe = true;
    return true;
}

/* The probe (or any call) got its reply: the stall, if any, is over. */
static void pool_answered(rd_pool *p)
{
    if (atomic_load_explicit(&p->stalled_until_ms, memory_order_relaxed) == 0)
        return;
    atomic_store(&p->stall_backoff_ms, 0);
    if (atomic_exchange(&p->stalled_until_ms, 0) != 0)
        sd_info("redis store: %s:%d answers again", p->host, p->port);
}

/* ---- lanes: connections the threads share ---- */

/* One thread's call on a lane, on its stack until done. */
typedef struct rd_call {
    struct rd_call *next;
    size_t n;
    const rd_cmd *cmds;
    redisReply **out;
    sd_err err;
    bool probe;                    /* the one call sent while stalled */
    bool done;
    pthread_cond_t cond;
} rd_call;

/* The lane of the calling thread: threads are spread over the lanes in
 * the order they first call. */
static rd_lane *lane_mine(rd_pool *p)
{
    static _Thread_local unsigned mine = UINT_MAX;
    if (mine == UINT_MAX)
        mine = atomic_fetch_add_explicit(&p->next_lane, 1, memory_order_relaxed);
    return &p->lanes[mine % p->nlanes];
}

/* The leader's round trip: every command of every call of the batch in
 * one write, then their replies in order. A call whose replies all came
 * is answered; on a transport failure the others fail alike, and the
 * context is freed (the lane's next call opens a fresh one). */
static void lane_send(rd_pool *p, rd_lane *l, rd_call *batch)
{
    /* Calls that waited behind a round trip that stalled fail at once,
     * so that none waits more than about one timeout; a probe goes. */
    bool probe = false;
    for (rd_call *c = batch; c != NULL; c = c->next)
        probe |= c->probe;
    char why[256];
    sd_err err = rd_pool_stalled(p) && !probe
                     ? SD_ERR_UNAVAILABLE
                     : conn_ready_on(p, &l->conn, true, why, sizeof why);
    redisContext *ctx = l->conn.ctx;
    bool failed = false;           /* the transport failed: ctx goes */
    bool timed_out = false;
    for (rd_call *c = batch; !failed && err == SD_OK && c != NULL; c = c->next)
        for (size_t i = 0; !failed && i < c->n; i++)
            failed = redisAppendCommandArgv(ctx, c->cmds[i].argc, c->cmds[i].argv,
                                            c->cmds[i].lens) != REDIS_OK;
    rd_call *c = batch;
    for (; !failed && err == SD_OK && c != NULL; c = c->next) {
        for (size_t i = 0; !failed && i < c->n; i++) {
            void *r = NULL;
            failed = redisGetReply(ctx, &r) != REDIS_OK;
            timed_out = failed && ctx->err == REDIS_ERR_IO &&
                        (errno == EAGAIN || errno == EWOULDBLOCK);
            c->out[i] = r;
        }
        if (failed)
            break;
        c->err = SD_OK;
    }
    if (!failed && err == SD_OK) {
        /* Every reply came: a stall, if any, is over (a batch cut short
         * by a timeout answers some calls, but ends no stall). */
        pool_answered(p);
        return;
    }
    if (failed) {
        err = ctx->err == REDIS_ERR_OOM ? SD_ERR_NOMEM : SD_ERR_UNAVAILABLE;
        if (timed_out)
            pool_stalled(p);
        sd_warn("redis store: connection dropped: %s", ctx->errstr);
        redisFree(ctx);
        l->conn.ctx = NULL;
    }
    for (; c != NULL; c = c->next) {
        for (size_t i = 0; i < c->n; i++) {
            freeReplyObject(c->out[i]);
            c->out[i] = NULL;
        }
        c->err = err;
    }
}

/* Sends the n commands on the calling thread's lane and waits for their
 * replies: when no call is going out on it, this thread leads, taking
 * every call waiting there into one round trip; otherwise it waits for a
 * leader to carry its call. */
static sd_err lane_call(rd_pool *p, bool probe, size_t n, const rd_cmd *cmds,
                        redisReply **out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    rd_lane *l = lane_mine(p);
    rd_call me = {.n = n, .cmds = cmds, .out = out, .err = SD_ERR_UNAVAILABLE,
                  .probe = probe};
    if (pthread_cond_init(&me.cond, NULL) != 0)
        return SD_ERR_INTERNAL;
    pthread_mutex_lock(&l->lock);
    if (l->tail != NULL)
        l->tail->next = &me;
    else
        l->head = &me;
    l->tail = &me;
    while (!me.done) {
        if (l->leading) {
            pthread_cond_wait(&me.cond, &l->lock);
            continue;
        }
        l->leading = true;
        rd_call *batch = l->head;
        l->head = l->tail = NULL;
        pthread_mutex_unlock(&l->lock);
        lane_send(p, l, batch);
        pthread_mutex_lock(&l->lock);
        for (rd_call *c = batch; c != NULL;) {
            rd_call *next = c->next;
            c->done = true;
            if (c != &me)
                pthread_cond_signal(&c->cond);
            c = next;
        }
        l->leading = false;
        if (l->head != NULL)
            pthread_cond_signal(&l->head->cond);
    }
    pthread_mutex_unlock(&l->lock);
    pthread_cond_destroy(&me.cond);
    return me.err;
}

/* SCRIPT LOAD of script id on the calling thread's lane; SD_ERR_INTERNAL
 * when the server's digest is not the one the pool has (or, with sha
 * NULL, stores it). */
static sd_err script_load(rd_pool *p, rd_script_id id, char *sha)
{
    const char *argv[3] = {"SCRIPT", "LOAD", p->text[id]};
    size_t lens[3] = {6, 4, strlen(p->text[id])};
    rd_cmd cmd = {3, argv, lens};
    redisReply *r = NULL;
    sd_err err = lane_call(p, false, 1, &cmd, &r);
    if (err != SD_OK)
        return err;
    if (r->type == REDIS_REPLY_ERROR) {
        err = reply_error(r, "SCRIPT LOAD");
    } else if (r->type != REDIS_REPLY_STRING || r->len != RD_SHA_LEN) {
        err = SD_ERR_INTERNAL;
    } else if (sha != NULL) {
        memcpy(sha, r->str, RD_SHA_LEN + 1);
    } else if (memcmp(r->str, p->sha[id], RD_SHA_LEN) != 0) {
        sd_error("redis store: script %s has a new digest", rd_script_name(id));
        err = SD_ERR_INTERNAL;
    }
    freeReplyObject(r);
    return err;
}

/* ---- commands ---- */

/* Sends the commands on the calling thread's lane (lane_call) as the
 * stall allows: *r gets the replies. What commands and scripts on the
 * request path share. */
static sd_err send_n(rd_pool *p, size_t n, const rd_cmd *cmds, redisReply **r)
{
    bool probe;
    if (!pool_may_send(p, &probe)) {
        for (size_t i = 0; i < n; i++)
            r[i] = NULL;
        return SD_ERR_UNAVAILABLE;
    }
    sd_err err = lane_call(p, probe, n, cmds, r);
    if (probe)
        atomic_store(&p->probing, false);
    return err;
}

static sd_err send_one(rd_pool *p, int argc, const char **argv, const size_t *lens,
                       redisReply **r)
{
    rd_cmd cmd = {argc, argv, lens};
    return send_n(p, 1, &cmd, r);
}

/* Hands the reply r of command what to *out, or, when it is an error
 * reply, frees it and returns its error (reply_error). */
static sd_err reply_hand(redisReply *r, const char *what, redisReply **out)
{
    if (r->type == REDIS_REPLY_ERROR) {
        sd_err err = reply_error(r, what);
        freeReplyObject(r);
        return err;
    }
    *out = r;
    return SD_OK;
}

sd_err rd_command(rd_pool *p, int argc, const char **argv, const size_t *lens,
                  redisReply **out)
{
    *out = NULL;
    redisReply *r = NULL;
    sd_err err = send_one(p, argc, argv, lens, &r);
    if (err != SD_OK)
        return err;
    return reply_hand(r, argv[0], out);
}

sd_err rd_pipeline(rd_pool *p, size_t n, const rd_cmd *cmds, redisReply **out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0 || n > RD_PIPELINE_MAX)
        return SD_ERR_INTERNAL;
    return send_n(p, n, cmds, out);
}

sd_err rd_script(rd_pool *p, rd_script_id id, int argc, const char **argv,
                 size_t *lens, redisReply **out)
{
    *out = NULL;
    if ((unsigned)id >= RD_SCRIPT_N || argc < 3)
        return SD_ERR_INTERNAL;
    argv[0] = "EVALSHA";
    lens[0] = 7;
    argv[1] = p->sha[id];
    lens[1] = RD_SHA_LEN;
    redisReply *r = NULL;
    sd_err err = send_one(p, argc, argv, lens, &r);
    if (err == SD_OK && is_error(r, "NOSCRIPT")) {
        /* The server restarted or flushed its scripts: load it again. */
        freeReplyObject(r);
        r = NULL;
        err = script_load(p, id, NULL);
        if (err == SD_OK)
            err = send_one(p, argc, argv, lens, &r);
    }
    if (err != SD_OK)
        return err;
    return reply_hand(r, rd_script_name(id), out);
}

/* ---- the pool ---- */

static void secret_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void pool_strings_free(rd_pool *p)
{
    free(p->host);
    free(p->username);
    secret_free(p->password);
    for (size_t i = 0; i < RD_SCRIPT_N; i++)
        free(p->text[i]);
}

sd_err rd_pool_new(const sd_redis_opts *opts, rd_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    if (opts == NULL || opts->host == NULL || opts->host[0] == '\0')
        return sd_errf(err, errlen, "redis: no host given");
    if (opts->port <= 0 || opts->port > 65535 || opts->db < 0 ||
        opts->timeout_ms <= 0 || opts->timeout_ms > RD_TIMEOUT_MAX_MS ||
        opts->conns < 0 || opts->conns > RD_CONNS_MAX)
        return sd_errf(err, errlen, "redis: port, db, timeout or connections out of range");
    sd_err e = SD_ERR_NOMEM;
    rd_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        goto fail;
    atomic_init(&p->connected_ms, 0);
    atomic_init(&p->stalled_until_ms, 0);
    atomic_init(&p->stall_backoff_ms, 0);
    atomic_init(&p->probing, false);
    p->port = opts->port;
    p->db = opts->db;
    p->timeout.tv_sec = (time_t)(opts->timeout_ms / 1000);
    p->timeout.tv_usec = (suseconds_t)(opts->timeout_ms % 1000 * 1000);
    p->host = strdup(opts->host);
    bool ok = p->host != NULL;
    if (ok && opts->password != NULL && opts->password[0] != '\0') {
        ok = (p->password = strdup(opts->password)) != NULL;
        if (ok && opts->username != NULL && opts->username[0] != '\0')
            ok = (p->username = strdup(opts->username)) != NULL;
    }
    for (size_t i = 0; ok && i < RD_SCRIPT_N; i++)
        ok = (p->text[i] = rd_script_text((rd_script_id)i)) != NULL;
    p->nlanes = opts->conns > 0 ? (size_t)opts->conns : RD_LANES_DEFAULT;
    if (!ok || (p->lanes = calloc(p->nlanes, sizeof *p->lanes)) == NULL)
        goto fail_strings;
    e = SD_ERR_INTERNAL;
    for (size_t i = 0; i < p->nlanes; i++) {
        if (pthread_mutex_init(&p->lanes[i].lock, NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&p->lanes[i].lock);
            goto fail_strings;
        }
        p->lanes[i].conn.pool = p;
    }
    *out = p;
    return SD_OK;

fail_strings:
    free(p->lanes);
    pool_strings_free(p);
    free(p);
fail:
    sd_errf(err, errlen, "redis: out of memory or threads");
    return e;
}

sd_err rd_pool_check(rd_pool *p, char *err, size_t errlen)
{
    /* Opened here first, for the reason when it cannot be. */
    char why[256];
    sd_err e = conn_ready_on(p, &lane_mine(p)->conn, false, why, sizeof why);
    if (e != SD_OK) {
        sd_errf(err, errlen, "redis: %s", why);
        return e;
    }
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    rd_cmd cmd = {1, argv, lens};
    redisReply *r = NULL;
    e = lane_call(p, false, 1, &cmd, &r);
    if (e == SD_OK && r->type == REDIS_REPLY_ERROR) {
        reply_code(r, why, sizeof why);
        e = SD_ERR_UNAVAILABLE;
    } else if (e != SD_OK) {
        snprintf(why, sizeof why, "connection lost");
    }
    freeReplyObject(r);
    if (e != SD_OK) {
        sd_errf(err, errlen, "redis: PING to %s:%d failed (%s)", p->host, p->port, why);
        return e;
    }
    for (size_t i = 0; i < RD_SCRIPT_N; i++) {
        e = script_load(p, (rd_script_id)i, p->sha[i]);
        if (e != SD_OK) {
            sd_errf(err, errlen, "redis: cannot load script %s (%s)",
                rd_script_name((rd_script_id)i), sd_err_name(e));
            return e;
        }
    }
    return SD_OK;
}

void rd_pool_free(rd_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nlanes; i++) {
        if (p->lanes[i].conn.ctx != NULL)
            redisFree(p->lanes[i].conn.ctx);
        pthread_mutex_destroy(&p->lanes[i].lock);
    }
    free(p->lanes);
    pool_strings_free(p);
    free(p);
}

void rd_pool_url(const rd_pool *p, char *out, size_t cap)
{
    bool v6 = strchr(p->host, ':') != NULL;
    snprintf(out, cap, "redis://%s%s%s%s%s:%d/%d",
             p->username != NULL ? p->username : "",
             p->password != NULL ? ":***@" : "",
             v6 ? "[" : "", p->host, v6 ? "]" : "", p->port, p->db);
}
