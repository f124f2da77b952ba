/*
 * The heartbeat of an instance (see jobs_internal.h): one thread (a
 * ticker) that, at its start and every min(job_lease / 3, 1 s),
 *   - writes the instance's record (its workers, for /stats);
 *   - renews the lease and the heartbeat of every job its workers run,
 *     in one store step each; a job that is no longer the run's own
 *     (canceled on any instance, or its lease lost) has its handler
 *     stopped, which is how a cancel reaches the instance running the
 *     job within a second;
 *   - reaps: takes over the queue items whose lease ran out (their
 *     instance died, or lost the store for a whole lease) and settles
 *     each job by its record: queued again while attempts remain (the
 *     dead run counted as one), else failed with worker_lost;
 *   - checks the runs the app carries by itself (the handoff queue) and
 *     fails with "timeout" those it has not reported on for job_timeout.
 * Every instance reaps, API-only ones too. Reaping hands an item to one
 * reaper only (the store's reap is atomic), and the reaper's change is
 * conditioned on the run field it read: a cancel landing meanwhile wins,
 * and the dead run, having lost its lease, can change nothing any more.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"

#include "jobs_internal.h"

#define REAP_BATCH 16
#define LOST_MESSAGE "the instance running the job stopped sending heartbeats"

/* ---- renewing ---- */

/* One run's renewal, with what is pending of its progress reports
 * (job_progress_write): err and rec_err get the queue step's and the
 * record change's results. */
typedef struct beat_step {
    sd_jobs *j;
    const char *id, *owner, *now;
    sd_err err, rec_err;
} beat_step;

static sd_err beat_write(void *arg, const job_pending *p)
{
    beat_step *b = arg;
    char prog[16];
    sd_assign a[4] = {
        {.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = b->now, .len = strlen(b->now)},
    };
    size_t n = 1;
    if (p->progress >= 0 || p->stage != NULL)
        a[n++] = (sd_assign){.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = b->now,
                             .len = strlen(b->now)};
    n += job_pending_assign(p, prog, a + n);
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN,
                   .cond_values = &b->owner, .cond_count = 1, .assign = a,
                   .assign_count = n, .ttl_ms = b->j->ttl_ms, .slack_ms = b->j->slack_ms};
    sd_queue_rec rec = {JOB_NS, &u, NULL, SD_OK};
    b->err = sd_queue_renew(b->j->store, JOB_QUEUE, b->id, b->owner, b->j->lease_ms, &rec);
    b->rec_err = rec.err;
    return b->err != SD_OK ? b->err : rec.err;
}

static void beat_renew(sd_jobs *j)
{
    size_t n = j->workers > 0 ? sd_pool_running(j->pool, j->beat_buf, j->workers) : 0;
    char now[24];
    job_i64(now, sd_now_ms());
    for (size_t i = 0; i < n; i++) {
        const char *id = j->beat_buf[i].name;
        beat_step b = {j, id, j->beat_buf[i].tag, now, SD_OK, SD_OK};
        const char *owner = b.owner;
        (void)job_progress_beat(j->progress, id, owner, beat_write, &b);
        sd_err err = b.err;
        /* Only this run is stopped: the item may have ended since the
         * list was taken, and a later run of the job started here. A
         * run whose handler returned is ending: its end step may have
         * landed (its answer perhaps lost, and retried), and that step
         * tells whether the lease was lost, so only a running handler
         * is warned of here. */
        if (err == SD_ERR_NOT_FOUND) {
            bool handler = job_progress_running(j->progress, id, owner);
            if (sd_pool_cancel(j->pool, id, owner, SD_RUN_CANCEL) && handler)
                sd_warn("job %s: lease lost (reaped as dead); stopping its handler", id);
        } else if (err == SD_OK && b.rec_err != SD_OK) {
            sd_pool_cancel(j->pool, id, owner, SD_RUN_CANCEL);
        } else if (err != SD_OK) {
            sd_debug("job %s: lease not renewed: %s", id, sd_err_name(err));
        }
    }
}

/* ---- reaping ---- */

/* The change that ends a run statusd gave up on: status (queued again or
 * failed), the error, no run, the times. */
#define END_ASSIGNS 6
static void end_assign(sd_assign a[END_ASSIGNS], const char *status, const sd_buf *err_text,
                       const char *now)
{
    a[0] = (sd_assign){.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = status,
                       .len = strlen(status)};
    a[1] = (sd_assign){.name = JOB_F_ERROR, .op = SD_ASSIGN_SET, .value = err_text->data,
                       .len = err_text->len};
    a[2] = (sd_assign){.name = JOB_F_RUN, .op = SD_ASSIGN_DEL};
    a[3] = (sd_assign){.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = now,
                       .len = strlen(now)};
    a[4] = (sd_assign){.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = now,
                       .len = strlen(now)};
    a[5] = (sd_assign){.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = now,
                       .len = strlen(now)};
}

/* Settles one reaped job, held by owner now, by its record. */
static void reap_one(sd_jobs *j, const char *id, const char *owner)
{
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
    if (err == SD_ERR_NOT_FOUND) {
        (void)sd_queue_ack(j->store, JOB_QUEUE, id, owner, NULL);
        return;
    }
    if (err != SD_OK) {
        /* Left leased to owner: reaped again once that lease runs out. */
        sd_debug("job %s: reaped but not read: %s", id, sd_err_name(err));
        return;
    }
    const char *status = sd_record_get(&rec, JOB_F_STATUS, NULL);
    const char *run = sd_record_get(&rec, JOB_F_RUN, NULL);
    int64_t attempts = 0;
    (void)sd_record_get_i64(&rec, JOB_F_ATTEMPTS, &attempts);
    if (status == NULL || run == NULL || strcmp(status, "processing") != 0) {
        /* queued: put it back as it is; finished: nothing left to do */
        if (status != NULL && strcmp(status, "queued") == 0)
            (void)sd_queue_release(j->store, JOB_QUEUE, id, owner, 0, NULL);
        else
            (void)sd_queue_ack(j->store, JOB_QUEUE, id, owner, NULL);
        sd_record_clear(&rec);
        return;
    }
    bool last = attempts >= j->max_attempts;
    const char *next = last ? "failed" : "queued";
    char now[24];
    job_i64(now, sd_now_ms());
    sd_buf err_text = SD_BUF_INIT;
    if (job_error_json(&err_text, "worker_lost", LOST_MESSAGE) != SD_OK) {
        sd_buf_free(&err_text);
        sd_record_clear(&rec);
        return;
    }
    sd_assign a[END_ASSIGNS];
    end_assign(a, next, &err_text, now);
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN, .cond_values = &run,
                   .cond_count = 1, .assign = a, .assign_count = END_ASSIGNS,
                   .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms, .settles = true};
    sd_queue_rec qr = {JOB_NS, &u, NULL, SD_ERR_INTERNAL};
    err = last ? sd_queue_ack(j->store, JOB_QUEUE, id, owner, &qr)
               : sd_queue_release(j->store, JOB_QUEUE, id, owner, 0, &qr);
    if (err == SD_OK && qr.err == SD_OK) {
        atomic_fetch_add(last ? &j->lost : &j->recovered, 1);
        sd_job_metrics_outcome(j->metrics, sd_record_get(&rec, JOB_F_KIND, NULL), SD_JOB_LOST);
        job_log("lost", id, sd_record_get(&rec, JOB_F_KIND, NULL), attempts,
                "its worker's lease ran out; %s",
                last ? "failed with worker_lost" : "queued again");
    } else if (err != SD_OK) {
        sd_debug("job %s: reaped but not settled: %s", id, sd_err_name(err));
    }
    sd_buf_free(&err_text);
    sd_record_clear(&rec);
}

/* Reaps a batch at a time until a batch comes back short or t is
 * stopping (what is left waits for the next reaper). */
static void beat_reap(sd_jobs *j, sd_ticker *t)
{
    char owner[SD_QUEUE_OWNER_MAX];
    sd_queue_item items[REAP_BATCH];
    size_t n = 0;
    do {
        snprintf(owner, sizeof owner, "%s:reap%" PRIu64, j->instance, j->reap_seq++);
        if (sd_queue_reap(j->store, JOB_QUEUE, owner, j->lease_ms, REAP_BATCH, items, &n) !=
            SD_OK)
            return;
        for (size_t i = 0; i < n; i++)
            reap_one(j, items[i].item, owner);
        sd_queue_items_clear(items, n);
    } while (n == REAP_BATCH && !sd_ticker_stopping(t));
}

/* ---- runs the app carries (see jobs_internal.h) ---- */

#define TIMEOUT_FMT "no report from the app within job_timeout of %lld s"

/*
 * Settles one due handoff item, held by owner: an ended job's item goes;
 * a run reported on within job_timeout waits again until its heartbeat is
 * that old; else the job fails with "timeout", conditioned on the
 * heartbeat read, so a report landing meanwhile wins (the item is then
 * checked again at once).
 */
static void handoff_check(sd_jobs *j, const char *id, const char *owner)
{
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
    if (err != SD_OK) {
        if (err == SD_ERR_NOT_FOUND)
            (void)sd_queue_ack(j->store, HANDOFF_QUEUE, id, owner, NULL);
        else
            sd_debug("job %s: handoff not checked: %s", id, sd_err_name(err));
        return;
    }
    const char *status = sd_record_get(&rec, JOB_F_STATUS, NULL);
    const char *beat = sd_record_get(&rec, JOB_F_HEARTBEAT_MS, NULL);
    int64_t beat_ms = 0;
    if (status == NULL || strcmp(status, "processing") != 0 || beat == NULL ||
        sd_record_get_i64(&rec, JOB_F_HEARTBEAT_MS, &beat_ms) != SD_OK) {
        (void)sd_queue_ack(j->store, HANDOFF_QUEUE, id, owner, NULL);
        sd_record_clear(&rec);
        return;
    }
    int64_t now_ms = sd_now_ms();
    if (beat_ms + j->timeout_ms > now_ms) {
        (void)sd_queue_release(j->store, HANDOFF_QUEUE, id, owner,
                               beat_ms + j->timeout_ms - now_ms, NULL);
        sd_record_clear(&rec);
        return;
    }
    char now[24], message[96];
    job_i64(now, now_ms);
    snprintf(message, sizeof message, TIMEOUT_FMT, (long long)(j->timeout_ms / 1000));
    sd_buf err_text = SD_BUF_INIT;
    if (job_error_json(&err_text, "timeout", message) != SD_OK) {
        sd_buf_free(&err_text);
        sd_record_clear(&rec);
        return;
    }
    sd_assign a[END_ASSIGNS];
    end_assign(a, "failed", &err_text, now);
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_HEARTBEAT_MS,
                   .cond_values = &beat, .cond_count = 1, .assign = a,
                   .assign_count = END_ASSIGNS, .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    sd_queue_rec qr = {JOB_NS, &u, NULL, SD_ERR_INTERNAL};
    err = sd_queue_ack(j->store, HANDOFF_QUEUE, id, owner, &qr);
    if (err == SD_OK && qr.err == SD_OK) {
        const char *kind = sd_record_get(&rec, JOB_F_KIND, NULL);
        sd_job_metrics_outcome(j->metrics, kind, SD_JOB_FAILED);
        job_log("failed", id, kind, 0, "timeout: " TIMEOUT_FMT,
                (long long)(j->timeout_ms / 1000));
    } else if (err == SD_OK) {
        /* A report (or a cancel) came first; the item, acked, comes back
         * for the next check if the run goes on. */
        if (qr.err == SD_ERR_CONFLICT)
            (void)job_handoff_queue(j, id);
    }
    sd_buf_free(&err_text);
    sd_record_clear(&rec);
}

/* Checks the hand-offs due, a batch at a time, like beat_reap. */
static void beat_handoff(sd_jobs *j, sd_ticker *t)
{
    char owner[SD_QUEUE_OWNER_MAX];
    sd_queue_item items[REAP_BATCH];
    size_t n = 0;
    /* Items of a checker that died go first, then those now due. */
    do {
        snprintf(owner, sizeof owner, "%s:handoff%" PRIu64, j->instance, j->handoff_seq++);
        if (sd_queue_reap(j->store, HANDOFF_QUEUE, owner, j->lease_ms, REAP_BATCH, items,
                          &n) != SD_OK)
            return;
        for (size_t i = 0; i < n; i++)
            handoff_check(j, items[i].item, owner);
        sd_queue_items_clear(items, n);
    } while (n == REAP_BATCH && !sd_ticker_stopping(t));
    do {
        snprintf(owner, sizeof owner, "%s:handoff%" PRIu64, j->instance, j->handoff_seq++);
        sd_queue_take take = {.owner = owner, .lease_ms = j->lease_ms, .max = REAP_BATCH};
        if (sd_queue_take_items(j->store, HANDOFF_QUEUE, &take, NULL, items, &n) != SD_OK)
            return;
        for (size_t i = 0; i < n; i++)
            handoff_check(j, items[i].item, owner);
        sd_queue_items_clear(items, n);
    } while (n == REAP_BATCH && !sd_ticker_stopping(t));
}

/* ---- the thread ---- */

/* Renews this instance's record (INSTANCE_NS): it stays while the
 * instance beats, and expires a lease after the last beat. */
void job_announce(sd_jobs *j)
{
    char now[24], workers[24];
    job_i64(now, sd_now_ms());
    job_i64(workers, (int64_t)j->workers);
    sd_assign a[] = {
        {.name = "beat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "workers", .op = SD_ASSIGN_SET, .value = workers, .len = strlen(workers)},
    };
    sd_update u = {.mode = SD_UPDATE_UPSERT, .assign = a, .assign_count = 2,
                   .ttl_ms = j->lease_ms, .settles = true};
    sd_err err = sd_store_update(j->store, INSTANCE_NS, j->instance, &u, NULL);
    if (err != SD_OK)
        sd_debug("instance record not renewed: %s", sd_err_name(err));
}

/* One beat: the instance record, the leases of this instance's runs,
 * the expired leases of any instance, the hand-offs due. */
static void beat_tick(void *arg, sd_ticker *t)
{
    sd_jobs *j = arg;
    job_announce(j);
    beat_renew(j);
    beat_reap(j, t);
    if (!sd_ticker_stopping(t))
        beat_handoff(j, t);
}

sd_err job_beat_start(sd_jobs *j)
{
    if (j->workers > 0 && (j->beat_buf = calloc(j->workers, sizeof *j->beat_buf)) == NULL)
        return SD_ERR_NOMEM;
    int64_t interval = j->lease_ms / 3;
    if (interval > JOB_BEAT_MAX_MS)
        interval = JOB_BEAT_MAX_MS;
    sd_err err = sd_ticker_start(interval, true, beat_tick, j, &j->beat);
    if (err != SD_OK) {
        free(j->beat_buf);
        j->beat_buf = NULL;
        return err;
    }
    return SD_OK;
}

void job_beat_stop(sd_jobs *j)
{
    if (j->beat == NULL)
        return;
    sd_ticker_stop(j->beat);
    j->beat = NULL;
    sd_err err = sd_store_del(j->store, INSTANCE_NS, j->instance);
    if (err != SD_OK && err != SD_ERR_NOT_FOUND)
        sd_debug("instance record not removed: %s", sd_err_name(err));
    free(j->beat_buf);
    j->beat_buf = NULL;
}
