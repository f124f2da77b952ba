/*
 * The Redis store: every operation of statusd/store.h on a Redis server,
 * with the memory store's behaviour (the store contract runs against
 * both).
 *
 * Each operation is one round trip: a Lua script run with EVALSHA that
 * reads, decides and writes in one atomic step on the server (see
 * redis_scripts.c for the keys and indexes they keep). A read that needs
 * no write (get without renewal, or a poll whose renewal is within its
 * slack) is the exception that makes polling cheap: its common case is
 * two plain reads in one round trip (get_plain), and the script runs only
 * when there is something to write or repair. Only clear
 * (SCAN + UNLINK in batches) and ping (SET, GET, DEL of a probe key, as a
 * client would) take several. This file holds the operations; argument
 * lists and key names are redis_args.c's, reply decoding redis_reply.c's,
 * connections redis_conn.c's.
 *
 * Clocks. Expiries are decided by this process's clock (sd_now_ms),
 * passed to every script, as in the memory store; the keys carry a
 * PEXPIREAT at the same absolute time. Expiries are kept exact up to
 * 2^53 - 1 ms (a sorted-set score is a double); a TTL reaching past that
 * (the year 287396) is cut to it.
 *
 * Slots. A record's key carries a hash tag, but the namespace indexes a
 * script updates with it are keys of their own, so the scripts assume one
 * server (or one Cluster shard holding every statusd key).
 *
 * Value indexes. index only records, in this process, which field of a
 * namespace is counted; every script on that namespace then gets the
 * field and keeps the per-value sets (redis_scripts.c) in the same step
 * as its change. Processes sharing a server must declare alike.
 */
#include "statusd/store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_store.h"
#include "redis_sub.h"
#include "redis_sweep.h"
#include "store_common.h"

#define RD_PROBE_TTL_MS "10000"

static rd_store *store_of(sd_store *s) { return (rd_store *)s; }

const char *rd_store_index_field(const rd_store *s, const char *ns)
{
    for (size_t i = 0; i < s->nindexes; i++)
        if (strcmp(s->indexes[i].ns, ns) == 0)
            return s->indexes[i].field;
    return NULL;
}

/* Starts *a with the arguments every script on the record (ns, id)
 * starts with. */
static void args_record(rd_args *a, const rd_store *s, const char *ns, const char *id,
                        int64_t now)
{
    rd_args_record(a, s->prefix, ns, id, now, rd_store_index_field(s, ns));
}

sd_err rd_store_run(rd_store *s, rd_script_id id, rd_args *a, redisReply **r)
{
    *r = NULL;
    sd_err err = a->failed ? SD_ERR_NOMEM
                 : a->n > INT_MAX ? SD_ERR_INVALID
                 : rd_script(s->pool, id, (int)a->n, a->v, a->len, r);
    rd_args_free(a);
    return err;
}

/* Runs the read script (get or list_get) on (ns, id), renewing the
 * expiry to now + renew_ttl_ms when that is > 0; *r as run gives it. */
static sd_err run_read(rd_store *s, rd_script_id script, const char *ns, const char *id,
                       int64_t renew_ttl_ms, redisReply **r)
{
    int64_t now = sd_now_ms();
    rd_args a;
    args_record(&a, s, ns, id, now);
    rd_args_i64(&a, renew_ttl_ms > 0 ? rd_expiry_after(now, renew_ttl_ms) : 0);
    return rd_store_run(s, script, &a, r);
}

/* ---- hash records ---- */

/*
 * Whether the plain reads of a poll answer it: rec is the HGETALL of the
 * record (empty when absent) and exp its key's PEXPIRETIME (Redis 7; an
 * older server answers with an error, given as 0, and the script decides
 * every time). The key's expiry is the one that counts: the scripts set
 * it and the expiry index to the same time. They answer when the record
 * is a live hash with a finite expiry and the renewal, if any, is one
 * sd_renew_skippable leaves out for slack_ms; rec then gets exp as its
 * expiry. Otherwise (absent, expired, no expiry, a renewal to write, a
 * malformed deadline) the get script, which repairs and renews, decides.
 */
static bool plain_answers(sd_record *rec, int64_t exp, int64_t now, int64_t renew_ttl_ms,
                          int64_t slack_ms)
{
    if (rec->count == 0 || exp <= 0 || exp < now)
        return false;
    if (renew_ttl_ms > 0) {
        int64_t want = rd_expiry_after(now, renew_ttl_ms);
        int64_t deadline = 0;
        sd_err derr = sd_record_get_i64(rec, SD_FIELD_DEADLINE, &deadline);
        if (derr == SD_ERR_NOT_FOUND)
            deadline = 0;
        else if (derr != SD_OK || deadline < 1)
            return false;
        bool capped = deadline != 0 && deadline < want;
        if (capped)
            want = deadline;
        if (want <= now || !sd_renew_skippable(exp, want, capped, slack_ms))
            return false;
    }
    rec->expires_ms = exp;
    return true;
}

/* The two plain reads of a poll: HGETALL and PEXPIRETIME of the record's
 * key, which a holds (args_record) at v[3]. */
static void plain_cmds(const rd_args *a, const char *argv[2][2], size_t lens[2][2],
                       rd_cmd cmds[2])
{
    argv[0][0] = "HGETALL";
    lens[0][0] = 7;
    argv[1][0] = "PEXPIRETIME";
    lens[1][0] = 11;
    for (size_t i = 0; i < 2; i++) {
        argv[i][1] = a->v[3];
        lens[i][1] = a->len[3];
        cmds[i] = (rd_cmd){2, argv[i], lens[i]};
    }
}

/* A reply as the plain reads take it: HGETALL's hash into rec (a key of
 * another type answers with an error reply, and an absent one with no
 * fields: both leave rec empty), PEXPIRETIME's integer (else 0). */
static sd_err plain_hash(const redisReply *r, sd_record *rec)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return SD_OK;
    return rd_reply_hash(r, 0, rec);
}

static int64_t plain_expiry(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : 0;
}

/* The poll's common case with plain reads (plain_answers), in one round
 * trip, no script: *done is false when the script must decide. A
 * transport failure is the answer (*done true): the script would meet
 * the same. */
static sd_err get_plain(rd_store *s, const rd_args *a, int64_t now, int64_t renew_ttl_ms,
                        int64_t slack_ms, sd_record *out, bool *done)
{
    *done = false;
    const char *argv[2][2];
    size_t lens[2][2];
    rd_cmd cmds[2];
    plain_cmds(a, argv, lens, cmds);
    redisReply *r[2];
    sd_err err = rd_pipeline(s->pool, 2, cmds, r);
    if (err != SD_OK) {
        *done = true;
        return err;
    }
    err = plain_hash(r[0], out);
    if (err != SD_OK || plain_answers(out, plain_expiry(r[1]), now, renew_ttl_ms, slack_ms))
        *done = true;
    else
        sd_record_clear(out);
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    return err;
}

/* ---- polls that do not wait (redis_async.c) ---- */

/* A poll on its way: the plain reads, sent pipelined; what they cannot
 * answer goes back to the caller (p->retry) for the script. */
typedef struct rd_poll_call {
    sd_poll *p;
    int64_t now, renew_ttl_ms, slack_ms;
    int64_t exp;
    bool lost;                     /* a read did not come back */
} rd_poll_call;

static void poll_reply(void *arg, size_t i, rd_async_status st, const redisReply *r)
{
    rd_poll_call *c = arg;
    if (st == RD_ASYNC_TIMEOUT) {
        c->p->err = SD_ERR_UNAVAILABLE;
    } else if (st == RD_ASYNC_LOST) {
        c->lost = true;
    } else if (i == 0) {
        sd_err err = plain_hash(r, &c->p->rec);
        if (err != SD_OK)
            c->p->err = err;
    } else {
        c->exp = plain_expiry(r);
    }
}

static void poll_done(void *arg)
{
    rd_poll_call *c = arg;
    sd_poll *p = c->p;
    if (p->err == SD_OK && !c->lost &&
        plain_answers(&p->rec, c->exp, c->now, c->renew_ttl_ms, c->slack_ms)) {
        /* answered: p->rec is the record */
    } else if (p->err == SD_OK) {
        sd_record_clear(&p->rec);
        p->retry = true;
        p->read_done = !c->lost;
    } else {
        sd_record_clear(&p->rec);
    }
    free(c);
    p->done(p->arg);
}

static bool rd_poll_start(sd_store *st, const char *ns, const char *id, int64_t renew_ttl_ms,
                          int64_t slack_ms, sd_poll *p)
{
    rd_store *s = store_of(st);
    /* Without a slack a renewing read nearly always writes: the waiting
     * way runs the script in its one round trip. */
    if (s->async == NULL || (renew_ttl_ms > 0 && slack_ms == 0))
        return false;
    rd_poll_call *c = malloc(sizeof *c);
    if (c == NULL)
        return false;
    *c = (rd_poll_call){.p = p, .now = sd_now_ms(), .renew_ttl_ms = renew_ttl_ms,
                        .slack_ms = slack_ms};
    rd_args a;
    args_record(&a, s, ns, id, c->now);
    bool started = false;
    if (!a.failed) {
        const char *argv[2][2];
        size_t lens[2][2];
        rd_cmd cmds[2];
        plain_cmds(&a, argv, lens, cmds);
        started = rd_async_send(s->async, 2, cmds, poll_reply, poll_done, c);
    }
    rd_args_free(&a);
    if (!started)
        free(c);
    return started;
}

static void rd_poll_stop(sd_store *st)
{
    rd_async_stop(store_of(st)->async);
}

static sd_err rd_get(sd_store *st, const char *ns, const char *id,
                     int64_t renew_ttl_ms, int64_t slack_ms, sd_record *out)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_record(&a, s, ns, id, now);
    rd_args_i64(&a, renew_ttl_ms > 0 ? rd_expiry_after(now, renew_ttl_ms) : 0);
    /* Without a slack a renewing read nearly always writes: the script
     * then does it in the one round trip. */
    if (!a.failed && (renew_ttl_ms == 0 || slack_ms > 0)) {
        bool done;
        sd_err err = get_plain(s, &a, now, renew_ttl_ms, slack_ms, out, &done);
        if (done) {
            rd_args_free(&a);
            return err;
        }
    }
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_GET, &a, &r);
    if (err == SD_OK)
        err = rd_reply_record(r, out);
    freeReplyObject(r);
    return err;
}

/* One run of the update script, which applies the assignments to a copy
 * of the record and writes only when every one of them is valid: an INCR
 * of a non-number, or past int64 (exact decimal arithmetic in the
 * script), is SD_ERR_INVALID and changes nothing. */
static sd_err rd_update(sd_store *st, const char *ns, const char *id,
                        const sd_update *u, sd_record *out)
{
    rd_store *s = store_of(st);
    /* Only a write makes a record that expires: reads and polls leave the
     * sweeper's list alone. */
    rd_sweeper_note(s->sweeper, ns);
    int64_t now = sd_now_ms();
    rd_args a;
    args_record(&a, s, ns, id, now);
    rd_args_update(&a, u, now, out != NULL);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_UPDATE, &a, &r);
    if (err == SD_OK)
        err = rd_reply_record(r, out);
    freeReplyObject(r);
    return err;
}

static sd_err rd_del(sd_store *st, const char *ns, const char *id)
{
    rd_store *s = store_of(st);
    rd_args a;
    args_record(&a, s, ns, id, sd_now_ms());
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_DEL, &a, &r);
    if (err == SD_OK)
        err = rd_reply_record(r, NULL);
    freeReplyObject(r);
    return err;
}

/* ---- list records ---- */

static sd_err rd_list_append(sd_store *st, const char *ns, const char *id,
                             const char *const *items, const size_t *lens,
                             size_t n, size_t max_len, int64_t ttl_ms,
                             sd_list *out)
{
    rd_store *s = store_of(st);
    rd_sweeper_note(s->sweeper, ns);
    int64_t now = sd_now_ms();
    rd_args a;
    args_record(&a, s, ns, id, now);
    rd_args_i64(&a, ttl_ms > 0 ? rd_expiry_after(now, ttl_ms) : 0);
    /* No list is longer than INT64_MAX items: a larger bound bounds nothing. */
    rd_args_i64(&a, max_len > (size_t)INT64_MAX ? 0 : (int64_t)max_len);
    rd_args_str(&a, out != NULL ? "1" : "0");
    for (size_t i = 0; i < n; i++)
        rd_args_add(&a, items[i] != NULL ? items[i] : "", lens[i], false);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_LIST_APPEND, &a, &r);
    if (err == SD_OK)
        err = rd_reply_list(r, out);
    freeReplyObject(r);
    return err;
}

static sd_err rd_list_get(sd_store *st, const char *ns, const char *id,
                          int64_t renew_ttl_ms, sd_list *out)
{
    redisReply *r = NULL;
    sd_err err = run_read(store_of(st), RD_SCRIPT_LIST_GET, ns, id, renew_ttl_ms, &r);
    if (err == SD_OK)
        err = rd_reply_list(r, out);
    freeReplyObject(r);
    return err;
}

static sd_err rd_scan(sd_store *st, const char *ns, const char *after,
                      size_t limit, sd_page *out)
{
    rd_store *s = store_of(st);
    rd_args a;
    rd_args_namespace(&a, s->prefix, ns, sd_now_ms(), rd_store_index_field(s, ns));
    rd_args_str(&a, after != NULL ? after : "");
    rd_args_i64(&a, (int64_t)limit);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_SCAN, &a, &r);
    if (err == SD_OK)
        err = rd_reply_page(r, limit, out);
    freeReplyObject(r);
    return err;
}

static sd_err rd_count(sd_store *st, const char *ns, int64_t *out)
{
    rd_store *s = store_of(st);
    rd_args a;
    rd_args_namespace(&a, s->prefix, ns, sd_now_ms(), rd_store_index_field(s, ns));
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_COUNT, &a, &r);
    if (err == SD_OK && (r->type != REDIS_REPLY_INTEGER || r->integer < 0))
        err = rd_bad_reply("count");
    if (err == SD_OK)
        *out = r->integer;
    freeReplyObject(r);
    return err;
}

/* ---- value indexes ---- */

static sd_err rd_index(sd_store *st, const char *ns, const char *field)
{
    rd_store *s = store_of(st);
    const char *have = rd_store_index_field(s, ns);
    if (have != NULL)
        return strcmp(have, field) == 0 ? SD_OK : SD_ERR_INVALID;
    if (s->nindexes >= SIZE_MAX / sizeof *s->indexes - 1)
        return SD_ERR_NOMEM;
    /* The sweeper first: a declaration that fails leaves no index behind
     * (one swept with its field only drops entries there are none of). */
    sd_err err = rd_sweeper_add(s->sweeper, ns, field);
    if (err != SD_OK)
        return err;
    rd_value_index *ix = realloc(s->indexes, (s->nindexes + 1) * sizeof *ix);
    if (ix == NULL)
        return SD_ERR_NOMEM;
    s->indexes = ix;
    rd_value_index add = {strdup(ns), strdup(field)};
    if (add.ns == NULL || add.field == NULL) {
        free(add.ns);
        free(add.field);
        return SD_ERR_NOMEM;
    }
    s->indexes[s->nindexes++] = add;
    rd_store_drop_legacy_index(s, ns, field);
    return SD_OK;
}

/* The arguments of a script reading ns's value index at value, into *a;
 * false when ns has no index. */
static bool value_args(rd_store *s, const char *ns, const char *value, rd_args *a)
{
    const char *field = rd_store_index_field(s, ns);
    if (field == NULL)
        return false;
    rd_args_namespace(a, s->prefix, ns, sd_now_ms(), field);
    rd_args_str(a, value);
    return true;
}

/* Rounds of count_by's script at most: each drops up to 1000 expired
 * records, which the sweeper (redis_sweep.h) mostly has dropped already.
 * Past them the count still holds records that expired since the last
 * sweep and are not yet dropped. */
#define COUNT_BY_ROUNDS 20

static sd_err rd_count_by(sd_store *st, const char *ns, const char *value, int64_t *out)
{
    rd_store *s = store_of(st);
    for (int round = 1;; round++) {
        rd_args a;
        if (!value_args(s, ns, value, &a))
            return SD_ERR_INVALID;
        redisReply *r = NULL;
        sd_err err = rd_store_run(s, RD_SCRIPT_COUNT_BY, &a, &r);
        if (err == SD_OK &&
            (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0 ||
             r->element[1]->type != REDIS_REPLY_INTEGER))
            err = rd_bad_reply("count_by");
        bool done = err != SD_OK || r->element[1]->integer <= 0 || round == COUNT_BY_ROUNDS;
        if (err == SD_OK && done)
            *out = r->element[0]->integer;
        freeReplyObject(r);
        if (done)
            return err;
    }
}

static sd_err rd_scan_by(sd_store *st, const char *ns, const char *value, int64_t before,
                         size_t limit, sd_page *out)
{
    rd_store *s = store_of(st);
    rd_args a;
    if (!value_args(s, ns, value, &a))
        return SD_ERR_INVALID;
    rd_args_i64(&a, before);
    rd_args_i64(&a, (int64_t)limit);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_SCAN_BY, &a, &r);
    if (err == SD_OK)
        err = rd_reply_keyed_page(r, limit, out);
    freeReplyObject(r);
    return err;
}

/* ---- rate limits ---- */

/*
 * GCRA (see store_common.h). The script does the one step that reads and
 * writes the TAT, in exact decimal arithmetic (nanoseconds since the
 * epoch pass 2^53), and answers whether the request passed and how far
 * the TAT was ahead of now; the figures are worked out from that, as in
 * the memory store.
 */
static sd_err rd_rate_check(sd_store *st, const char *key, int64_t limit,
                            int64_t period_ms, sd_rate *out)
{
    sd_gcra g = sd_gcra_of(limit, period_ms);
    rd_store *s = store_of(st);
    rd_args a;
    rd_args_script(&a, "1");
    rd_args_key_own(&a, s->prefix, "rl:", key, true);
    rd_args_i64(&a, sd_now_ms() * SD_NS_PER_MS);
    rd_args_i64(&a, g.interval_ns);
    rd_args_i64(&a, g.burst_ns - g.interval_ns);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_RATE, &a, &r);
    int64_t ahead = 0;
    if (err == SD_OK &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
         r->element[0]->type != REDIS_REPLY_INTEGER ||
         !rd_reply_i64(r->element[1], 0, INT64_MAX / 2, &ahead)))
        err = rd_bad_reply("rate");
    if (err == SD_OK)
        sd_gcra_answer(&g, r->element[0]->integer != 0, ahead, out);
    freeReplyObject(r);
    return err;
}

/* ---- health ---- */

/* One command of the probe, expecting a reply of type want (and, when
 * text is given, exactly that text). */
static sd_err probe_step(rd_store *s, int argc, const char **argv, const size_t *lens,
                         int want, const char *text)
{
    redisReply *r = NULL;
    sd_err err = rd_command(s->pool, argc, argv, lens, &r);
    if (err == SD_OK &&
        (r->type != want || (want == REDIS_REPLY_INTEGER && r->integer != 1) ||
         (text != NULL && (r->len != strlen(text) || memcmp(r->str, text, r->len) != 0))))
        err = SD_ERR_INTERNAL;
    freeReplyObject(r);
    return err;
}

/* SET (with a short expiry, in case a later step fails), GET and DEL of
 * a probe key with a fresh name, each its own round trip. */
static sd_err rd_ping(sd_store *st)
{
    rd_store *s = store_of(st);
    char id[SD_UUID_LEN + 1];
    sd_uuid_new(id);
    char *key = rd_key_own(s->prefix, "probe:", id, false);
    if (key == NULL)
        return SD_ERR_NOMEM;
    size_t klen = strlen(key);
    const char *set[] = {"SET", key, id, "PX", RD_PROBE_TTL_MS};
    size_t set_lens[] = {3, klen, SD_UUID_LEN, 2, strlen(RD_PROBE_TTL_MS)};
    const char *get[] = {"GET", key}, *del[] = {"DEL", key};
    size_t get_lens[] = {3, klen}, del_lens[] = {3, klen};
    sd_err err = probe_step(s, 5, set, set_lens, REDIS_REPLY_STATUS, "OK");
    if (err == SD_OK)
        err = probe_step(s, 2, get, get_lens, REDIS_REPLY_STRING, id);
    if (err == SD_OK)
        err = probe_step(s, 2, del, del_lens, REDIS_REPLY_INTEGER, NULL);
    free(key);
    return err;
}

static void rd_info(sd_store *st, sd_store_info *out)
{
    out->backend = "redis";
    rd_pool_url(store_of(st)->pool, out->url, sizeof out->url);
    out->shared = true;
    out->remote = true;
    out->bytes_held = -1;   /* Redis's own maxmemory bounds it */
    out->bytes_max = -1;
}

static sd_err rd_share_changes(sd_store *st, sd_store_change_fn fn, void *arg)
{
    rd_store *s = store_of(st);
    rd_sub_stop(s->sub);
    s->sub = NULL;
    return fn != NULL ? rd_sub_start(s->pool, s->prefix, fn, arg, &s->sub) : SD_OK;
}

static void rd_free(sd_store *st)
{
    rd_store *s = store_of(st);
    rd_sweeper_free(s->sweeper);
    rd_sub_stop(s->sub);
    rd_async_free(s->async);
    rd_pool_free(s->pool);
    for (size_t i = 0; i < s->nindexes; i++) {
        free(s->indexes[i].ns);
        free(s->indexes[i].field);
    }
    free(s->indexes);
    free(s->prefix);
    free(s);
}

static const sd_store_ops rd_ops = {
    .name = "redis",
    .get = rd_get,
    .update = rd_update,
    .del = rd_del,
    .list_append = rd_list_append,
    .list_get = rd_list_get,
    .scan = rd_scan,
    .count = rd_count,
    .index = rd_index,
    .count_by = rd_count_by,
    .scan_by = rd_scan_by,
    .clear = rd_store_clear,
    .rate_check = rd_rate_check,
    .queue_push = rd_queue_push,
    .queue_take = rd_queue_take,
    .queue_renew = rd_queue_renew,
    .queue_ack = rd_queue_ack,
    .queue_ack_take = rd_queue_ack_take,
    .queue_release = rd_queue_release,
    .queue_remove = rd_queue_remove,
    .queue_reap = rd_queue_reap,
    .queue_stats = rd_queue_stats,
    .ping = rd_ping,
    .info = rd_info,
    .poll_start = rd_poll_start,
    .poll_stop = rd_poll_stop,
    .share_changes = rd_share_changes,
    .free = rd_free,
};

/*
 * Every statusd key has a TTL, so under memory pressure any volatile-*
 * policy evicts live job state first, and allkeys-* evicts it too: only
 * noeviction turns pressure into refused writes (503s) instead of lost
 * jobs. A server that does not allow CONFIG GET is only noted.
 */
static void warn_if_evicting(rd_pool *pool)
{
    const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
    size_t lens[] = {6, 3, 16};
    redisReply *r = NULL;
    if (rd_command(pool, 3, argv, lens, &r) != SD_OK || r == NULL ||
        r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        sd_info("redis: cannot read maxmemory-policy; make sure it is noeviction");
    } else if (strcmp(r->element[1]->str, "noeviction") != 0) {
        sd_warn("WARNING: redis maxmemory-policy is %s: under memory pressure Redis "
                "will evict statusd's keys (live jobs, sessions) instead of refusing "
                "writes; set maxmemory-policy noeviction", r->element[1]->str);
    }
    if (r != NULL)
        freeReplyObject(r);
}

sd_err sd_redis_store_new(const sd_redis_opts *opts, sd_store **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (opts == NULL || !sd_store_name_ok(opts->prefix))
        return sd_errf(err, errlen, "redis: a non-empty key prefix is required");
    rd_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->prefix = strdup(opts->prefix)) == NULL) {
        free(s);
        sd_errf(err, errlen, "redis: out of memory");
        return SD_ERR_NOMEM;
    }
    s->prefix_len = strlen(s->prefix);
    s->base.ops = &rd_ops;
    sd_err e = rd_pool_new(opts, &s->pool, err, errlen);
    if (e == SD_OK)
        e = rd_pool_check(s->pool, err, errlen);
    if (e != SD_OK) {
        rd_free(&s->base);
        return e;
    }
    warn_if_evicting(s->pool);
    e = rd_async_new(s->pool, &s->async, err, errlen);
    if (e == SD_OK) {
        int64_t every = opts->sweep_interval_ms > 0 ? opts->sweep_interval_ms
                                                    : RD_SWEEP_INTERVAL_MS;
        e = rd_sweeper_new(s, every, &s->sweeper);
        if (e != SD_OK)
            sd_errf(err, errlen, "redis: cannot start the sweeper thread");
    }
    if (e != SD_OK) {
        rd_free(&s->base);
        return e;
    }
    *out = &s->base;
    return SD_OK;
}
