/* The change subscription of the Redis store (redis_sub.h). */
#include "redis_sub.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "statusd/log.h"
#include "statusd/util.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000
#define ID_MAX 256

struct rd_sub {
    rd_pool *pool;
    char *prefix;
    size_t prefix_len;
    sd_store_change_fn fn;
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    redisContext *live;     /* the subscribed connection, for the stop */
};

/* Sleeps ms unless stopping; true when stopping. */
static bool sub_pause(rd_sub *s, int64_t ms)
{
    struct timespec until = sd_mono_deadline(ms);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
        ;
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stopping;
}

/* A message's channel "<prefix>{<ns>:<id>}" to fn(ns, id). */
static void sub_deliver(rd_sub *s, const char *ch, size_t len)
{
    if (len < s->prefix_len + 4 || memcmp(ch, s->prefix, s->prefix_len) != 0 ||
        ch[s->prefix_len] != '{' || ch[len - 1] != '}')
        return;
    const char *ns = ch + s->prefix_len + 1;
    const char *colon = memchr(ns, ':', (size_t)(ch + len - 1 - ns));
    if (colon == NULL)
        return;
    size_t nslen = (size_t)(colon - ns), idlen = (size_t)(ch + len - 2 - colon);
    char nsbuf[64], id[ID_MAX];
    if (nslen == 0 || nslen >= sizeof nsbuf || idlen == 0 || idlen >= sizeof id)
        return;
    memcpy(nsbuf, ns, nslen);
    nsbuf[nslen] = '\0';
    memcpy(id, colon + 1, idlen);
    id[idlen] = '\0';
    s->fn(s->arg, nsbuf, id);
}

/* Subscribes c; false on failure. */
static bool sub_subscribe(rd_sub *s, redisContext *c)
{
    char pattern[128];
    int n = snprintf(pattern, sizeof pattern, "%s{*", s->prefix);
    if (n < 0 || (size_t)n >= sizeof pattern)
        return false;
    const char *argv[2] = {"PSUBSCRIBE", pattern};
    size_t lens[2] = {10, (size_t)n};
    redisReply *r = redisCommandArgv(c, 2, argv, lens);
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;
    if (r != NULL)
        freeReplyObject(r);
    return ok;
}

/* Reads messages until the connection fails or the subscriber stops. */
static void sub_listen(rd_sub *s, redisContext *c)
{
    for (;;) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
            return;
        redisReply *r = reply;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str != NULL ? r->element[0]->str : "", "pmessage") == 0)
            sub_deliver(s, r->element[2]->str, r->element[2]->len);
        freeReplyObject(r);
    }
}

static void *sub_main(void *arg)
{
    rd_sub *s = arg;
    int64_t backoff = BACKOFF_FIRST_MS;
    bool lost = false;
    while (!sub_pause(s, 0)) {
        redisContext *c = NULL;
        char why[256] = "";
        struct timeval forever = {0, 0};
        if (rd_pool_open(s->pool, &c, why, sizeof why) != SD_OK ||
            redisSetTimeout(c, forever) != REDIS_OK || !sub_subscribe(s, c)) {
            if (!lost)
                sd_warn("redis: the change subscription is down (%s); held requests "
                        "see changes of other instances once it is back",
                        why[0] != '\0' ? why : c != NULL ? c->errstr : "subscribe failed");
            lost = true;
            if (c != NULL)
                redisFree(c);
            if (sub_pause(s, backoff))
                break;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        s->live = stopping ? NULL : c;
        pthread_mutex_unlock(&s->lock);
        if (stopping) {
            redisFree(c);
            break;
        }
        if (lost)
            sd_info("redis: the change subscription is back");
        lost = false;
        backoff = BACKOFF_FIRST_MS;
        /* what changed while nobody listened is read again */
        s->fn(s->arg, NULL, NULL);
        sub_listen(s, c);
        pthread_mutex_lock(&s->lock);
        s->live = NULL;
        stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (!stopping) {
            sd_warn("redis: the change subscription was lost: %s", c->errstr);
            lost = true;
        }
        redisFree(c);
    }
    return NULL;
}

sd_err rd_sub_start(rd_pool *pool, const char *prefix, sd_store_change_fn fn, void *arg,
                    rd_sub **out)
{
    *out = NULL;
    rd_sub *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SD_ERR_NOMEM;
    s->pool = pool;
    s->fn = fn;
    s->arg = arg;
    s->prefix = strdup(prefix);
    if (s->prefix == NULL) {
        free(s);
        return SD_ERR_NOMEM;
    }
    s->prefix_len = strlen(s->prefix);
    bool ok = sd_cond_init_mono(&s->wake) == 0;
    if (ok && pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        ok = false;
    }
    if (ok && pthread_create(&s->thread, NULL, sub_main, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        ok = false;
    }
    if (!ok) {
        free(s->prefix);
        free(s);
        return SD_ERR_INTERNAL;
    }
    *out = s;
    return SD_OK;
}

void rd_sub_stop(rd_sub *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    /* A blocked read ends with the connection: shut it down under the
     * lock, so the descriptor is still the context's own. */
    if (s->live != NULL && shutdown(s->live->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        sd_debug("redis: shutdown of the subscription: %s", strerror(errno));
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s->prefix);
    free(s);
}
