/*
 * The queue operations of the Redis store (see the queue operations of
 * statusd/store.h): each is one EVALSHA of a script of
 * src/store/lua/ (queue_*.lua), so the queue step and its record change are one
 * atomic step on the server, one round trip from here.
 *
 * The queue's keys share a hash tag; a record change also touches the
 * record and its namespace indexes, which live in other slots, so, like
 * every record script, these assume one server (or one Cluster shard
 * holding every statusd key).
 *
 * Clocks: due times and lease ends are this process's clock, passed to
 * every script, as expiries are. Processes sharing a queue should keep
 * their clocks close: one running ahead by more than a lease would reap
 * live leases early (the jobs would run again, never twice to a
 * finish).
 */
#include <limits.h>
#include <string.h>

#include "statusd/util.h"
#include "redis_store.h"
#include "redis_sweep.h"
#include "store_common.h"

static rd_store *store_of(sd_store *s) { return (rd_store *)s; }

/* Starts *a for a queue script with rec's namespace (or none). */
static void args_start(rd_args *a, rd_store *s, const char *queue, const sd_queue_rec *rec,
                       int64_t now)
{
    const char *ns = rec != NULL ? rec->ns : NULL;
    if (ns != NULL)
        rd_sweeper_note(s->sweeper, ns);
    rd_args_queue(a, s->prefix, queue, ns,
                  now, ns != NULL ? rd_store_index_field(s, ns) : NULL);
}

/* Appends the change: its flag, then its spec. want: reply with the
 * record. */
static void args_change(rd_args *a, const sd_queue_rec *rec, int64_t now, bool want)
{
    rd_args_str(a, rec != NULL ? "1" : "0");
    if (rec != NULL)
        rd_args_update(a, rec->u, now, want);
}

/* Runs a script whose reply is rd_reply_queue's. */
static sd_err run_queue(rd_store *s, rd_script_id id, rd_args *a, sd_queue_rec *rec)
{
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, id, a, &r);
    if (err == SD_OK)
        err = rd_reply_queue(r, rec);
    freeReplyObject(r);
    return err;
}

sd_err rd_queue_push(sd_store *st, const char *queue, const char *item, int64_t delay_ms,
                     int64_t capacity, sd_queue_rec *rec)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, item);
    rd_args_i64(&a, rd_expiry_after(now, delay_ms));
    rd_args_i64(&a, capacity);
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    return run_queue(s, RD_SCRIPT_QPUSH, &a, rec);
}

sd_err rd_queue_take(sd_store *st, const char *queue, const sd_queue_take *t,
                     const sd_queue_rec *rec, sd_queue_item *items, size_t *n)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    size_t max = t->max > (size_t)INT32_MAX ? (size_t)INT32_MAX : t->max;
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, t->owner);
    rd_args_i64(&a, rd_expiry_after(now, t->lease_ms));
    rd_args_i64(&a, rd_expiry_after(now, t->ahead_ms));
    rd_args_i64(&a, (int64_t)max);
    rd_args_str(&a, t->resume ? "1" : "0");
    args_change(&a, rec, now, true);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_QTAKE, &a, &r);
    if (err == SD_OK)
        err = rd_reply_take(r, items, max, n);
    freeReplyObject(r);
    return err;
}

sd_err rd_queue_renew(sd_store *st, const char *queue, const char *item, const char *owner,
                      int64_t lease_ms, sd_queue_rec *rec)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, item);
    rd_args_str(&a, owner);
    rd_args_i64(&a, rd_expiry_after(now, lease_ms));
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    return run_queue(s, RD_SCRIPT_QRENEW, &a, rec);
}

sd_err rd_queue_ack(sd_store *st, const char *queue, const char *item, const char *owner,
                    sd_queue_rec *rec)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, item);
    rd_args_str(&a, owner);
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    return run_queue(s, RD_SCRIPT_QACK, &a, rec);
}

/* The ack's change and the take's follow each other at the end of the
 * arguments; the script finds where the take's starts from ARGV[12]: 13
 * plus the ack change's length (its flag, then its spec). */
sd_err rd_queue_ack_take(sd_store *st, const char *queue, const char *item, const char *owner,
                         sd_queue_rec *rec, const sd_queue_take *t, const sd_queue_rec *take_rec,
                         sd_queue_item *items, size_t *n)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    size_t max = t->max > (size_t)INT32_MAX ? (size_t)INT32_MAX : t->max;
    rd_args a;
    args_start(&a, s, queue, rec != NULL ? rec : take_rec, now);
    rd_args_str(&a, item);
    rd_args_str(&a, owner);
    rd_args_str(&a, t->owner);
    rd_args_i64(&a, rd_expiry_after(now, t->lease_ms));
    rd_args_i64(&a, rd_expiry_after(now, t->ahead_ms));
    rd_args_i64(&a, (int64_t)max);
    rd_args_i64(&a, 13 + 1 + (rec != NULL ? (int64_t)rd_args_update_count(rec->u) : 0));
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    args_change(&a, take_rec, now, true);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_QACK_TAKE, &a, &r);
    if (err == SD_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
        err = rd_bad_reply("queue_ack_take");
    if (err == SD_OK)
        err = rd_reply_queue(r->element[0], rec);
    if (err == SD_OK)
        err = rd_reply_take(r->element[1], items, max, n);
    freeReplyObject(r);
    return err;
}

sd_err rd_queue_release(sd_store *st, const char *queue, const char *item,
                        const char *owner, int64_t delay_ms, sd_queue_rec *rec)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, item);
    rd_args_str(&a, owner);
    rd_args_i64(&a, rd_expiry_after(now, delay_ms));
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    return run_queue(s, RD_SCRIPT_QRELEASE, &a, rec);
}

sd_err rd_queue_remove(sd_store *st, const char *queue, const char *item, sd_queue_rec *rec)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    rd_args a;
    args_start(&a, s, queue, rec, now);
    rd_args_str(&a, item);
    args_change(&a, rec, now, rec != NULL && rec->out != NULL);
    return run_queue(s, RD_SCRIPT_QREMOVE, &a, rec);
}

sd_err rd_queue_reap(sd_store *st, const char *queue, const char *owner, int64_t lease_ms,
                     size_t max, sd_queue_item *items, size_t *n)
{
    rd_store *s = store_of(st);
    int64_t now = sd_now_ms();
    if (max > (size_t)INT32_MAX)
        max = (size_t)INT32_MAX;
    rd_args a;
    args_start(&a, s, queue, NULL, now);
    rd_args_str(&a, owner);
    rd_args_i64(&a, rd_expiry_after(now, lease_ms));
    rd_args_i64(&a, (int64_t)max);
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_QREAP, &a, &r);
    if (err == SD_OK)
        err = rd_reply_reap(r, items, max, n);
    freeReplyObject(r);
    return err;
}

sd_err rd_queue_stats(sd_store *st, const char *queue, sd_queue_stats *out)
{
    rd_store *s = store_of(st);
    rd_args a;
    args_start(&a, s, queue, NULL, sd_now_ms());
    redisReply *r = NULL;
    sd_err err = rd_store_run(s, RD_SCRIPT_QSTATS, &a, &r);
    if (err == SD_OK) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[1]->type != REDIS_REPLY_INTEGER ||
            r->element[2]->type != REDIS_REPLY_INTEGER)
            err = rd_bad_reply("queue_stats");
        else
            *out = (sd_queue_stats){r->element[0]->integer, r->element[1]->integer,
                                    r->element[2]->integer};
    }
    freeReplyObject(r);
    return err;
}
