/*
 * Runs of jobs: what the worker pool calls (see jobs_internal.h).
 *
 * A run starts with a job take.c took and started. It ends in one store
 * step that also settles its queue item, every one conditioned on the
 * record's run field and on the lease:
 *   completed           ack + completed (completions + 1)
 *   failed, attempts    release after a backoff + queued, the error kept
 *   left                until the next run starts
 *   failed, no attempt  ack + failed with the last error
 *   canceled            ack (the cancel changed the record already)
 *   stopped by a drain  shared store: release at once + queued, the
 *                       attempt not counted; memory: ack + canceled
 * A run that lost its lease (reaped as dead while it still ran) finds
 * the item no longer its own and changes nothing: the job's next run
 * owns it. An ack, while the pool wants work, also takes the worker's
 * next job in the same step (take.c), which the pool then runs at once.
 * A step whose answer was lost (the store applied it, the connection
 * dropped) is retried, and its retry finds the item gone as after a
 * lost lease: the record, which shows the step's change or not, tells
 * the two apart.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"

#include "jobs_internal.h"

static const char *const PROCESSING[] = {"processing"};

/* ---- the end of a run ---- */

/* A record change of a run, retried through job_persist. */
typedef struct token_step {
    sd_jobs *j;
    const char *id;
    const sd_update *u;
} token_step;

static sd_err token_step_do(void *arg)
{
    token_step *t = arg;
    return sd_store_update(t->j->store, JOB_NS, t->id, t->u, NULL);
}

/* One queue step of a run, retried through job_persist. */
typedef struct run_step {
    sd_jobs *j;
    const char *id;
    const char *owner;
    bool release;          /* release (after delay_ms), else ack */
    int64_t delay_ms;
    sd_queue_rec *rec;     /* the record change, or NULL */
    job_next *next;        /* an ack's: the next job it may take, or NULL */
    bool unanswered;       /* a try got no answer: it may have landed */
} run_step;

/* An ack also takes the worker's next job, on its first try, when the
 * pool wants one. */
static sd_err run_step_do(void *arg)
{
    run_step *s = arg;
    sd_err err;
    job_next *nx = s->next;
    if (s->release)
        err = sd_queue_release(s->j->store, JOB_QUEUE, s->id, s->owner, s->delay_ms, s->rec);
    else if (nx != NULL && nx->slot != NULL && !nx->tried && sd_pool_wants_next(s->j->pool))
        err = job_ack_take(nx, s->id, s->owner, s->rec);
    else
        err = sd_queue_ack(s->j->store, JOB_QUEUE, s->id, s->owner, s->rec);
    if (err == SD_ERR_UNAVAILABLE)
        s->unanswered = true;
    return err;
}

/*
 * The item of a step that a try may have settled without an answer is
 * gone: either that try landed (the retry found its own work done) or
 * the run lost its lease. The record tells them apart: a landed step
 * left its change there, times and all, which another run's or the
 * reaper's change cannot have. *shows says whether it does; the error
 * is the read's.
 */
static sd_err run_record_shows(const run_step *s, bool *shows)
{
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(s->j->store, JOB_NS, s->id, 0, &rec);
    *shows = err == SD_OK && job_record_shows(&rec, s->rec->u);
    sd_record_clear(&rec);
    return err;
}

/* Runs the step and logs what did not land. Returns whether the change
 * (or, without one, the queue step) took effect. */
static bool run_settle(run_step *s, const atomic_int *cancel, const char *what)
{
    if (s->rec != NULL)
        s->rec->err = SD_ERR_INTERNAL;
    sd_err err = job_persist(cancel, run_step_do, s, s->id);
    if (err == SD_ERR_NOT_FOUND && s->unanswered && s->rec != NULL) {
        bool shows = false;
        sd_err read = run_record_shows(s, &shows);
        if (shows) {
            sd_debug("job %s: %s; the step landed before its answer was lost", s->id, what);
            return true;
        }
        if (read != SD_OK && read != SD_ERR_NOT_FOUND) {
            sd_warn("job %s: not known whether %s: the answer was lost, the job not read: %s",
                    s->id, what, sd_err_name(read));
            return false;
        }
    }
    if (err == SD_ERR_NOT_FOUND) {
        sd_info("job %s: not %s: its lease was lost; another run owns the job", s->id,
                what);
        return false;
    }
    if (err != SD_OK) {
        sd_warn("job %s: not %s: %s", s->id, what, sd_err_name(err));
        return false;
    }
    if (s->rec != NULL && s->rec->err != SD_OK) {
        sd_debug("job %s: not %s: the job moved on (%s)", s->id, what,
                 sd_err_name(s->rec->err));
        return false;
    }
    return true;
}

/* A change of the run's record, conditioned on run = owner, that ends the
 * run: status, the times, run cleared, then up to 4 more assignments. */
typedef struct run_change {
    char now[24];
    const char *owner;
    sd_assign a[10];
    sd_update u;
    sd_queue_rec rec;
} run_change;

static void change_init(run_change *c, const sd_jobs *j, const char *owner, const char *status)
{
    job_i64(c->now, sd_now_ms());
    c->owner = owner;
    size_t n = 0;
    c->a[n++] = (sd_assign){.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = status,
                            .len = strlen(status)};
    c->a[n++] = (sd_assign){.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = c->now,
                            .len = strlen(c->now)};
    c->a[n++] = (sd_assign){.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = c->now,
                            .len = strlen(c->now)};
    c->a[n++] = (sd_assign){.name = JOB_F_RUN, .op = SD_ASSIGN_DEL};
    if (strcmp(status, "queued") == 0)   /* due now, unless a later change says when */
        c->a[n++] = (sd_assign){.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = c->now,
                                .len = strlen(c->now)};
    c->u = (sd_update){.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN,
                       .cond_values = &c->owner, .cond_count = 1, .assign = c->a,
                       .assign_count = n, .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms,
                       .settles = true};
    c->rec = (sd_queue_rec){JOB_NS, &c->u, NULL, SD_OK};
}

static void change_add(run_change *c, sd_assign a)
{
    c->a[c->u.assign_count++] = a;
}

/* Adds the progress and stage still pending of the run (pend, may be
 * NULL) to its last change; prog holds the progress's text. */
static void change_add_pending(run_change *c, const job_pending *pend, char prog[16])
{
    if (pend != NULL)
        c->u.assign_count += job_pending_assign(pend, prog, c->a + c->u.assign_count);
}

/* Ends the run with a final status; result (completed) or code and
 * message (failed, canceled) as the record keeps them, with what was
 * pending of its reports (pend, may be NULL). Returns whether the change
 * landed. */
static bool run_finish(sd_jobs *j, const char *id, const char *owner, const char *status,
                       const char *result, const char *code, const char *message,
                       const job_pending *pend, const atomic_int *cancel, job_next *next)
{
    run_change c;
    change_init(&c, j, owner, status);
    sd_buf err_text = SD_BUF_INIT;
    char prog[16];
    bool completed = strcmp(status, "completed") == 0;
    if (completed && pend != NULL)
        change_add_pending(&c, &(job_pending){-1, pend->stage}, prog);
    else
        change_add_pending(&c, pend, prog);
    if (completed) {
        change_add(&c, job_set_text(JOB_F_PROGRESS, "100"));
        change_add(&c, job_set_text(JOB_F_RESULT, result != NULL ? result : "null"));
        change_add(&c, (sd_assign){.name = JOB_F_COMPLETIONS, .op = SD_ASSIGN_INCR, .incr = 1});
    }
    if (code != NULL) {
        if (job_error_json(&err_text, code, message) != SD_OK) {
            sd_warn("job %s: out of memory for its error", id);
            sd_buf_free(&err_text);
            return false;
        }
        change_add(&c, (sd_assign){.name = JOB_F_ERROR, .op = SD_ASSIGN_SET,
                                   .value = err_text.data, .len = err_text.len});
    }
    run_step s = {.j = j, .id = id, .owner = owner, .rec = &c.rec, .next = next};
    bool landed = run_settle(&s, cancel, status);
    sd_buf_free(&err_text);
    return landed;
}

/* run_finish of a started run of kind, attempt attempts, with its
 * lifecycle line. */
static void run_end(sd_jobs *j, const char *id, const char *owner, const char *kind,
                    int64_t attempts, const char *status, const char *result,
                    const char *code, const char *message, const job_pending *pend,
                    const atomic_int *cancel, job_next *next)
{
    if (!run_finish(j, id, owner, status, result, code, message, pend, cancel, next))
        return;
    if (code != NULL)
        job_log(status, id, kind, attempts, "%s: %s", code, message != NULL ? message : "");
    else
        job_log(status, id, kind, attempts, NULL);
}

/* A 64-bit xorshift per thread: jitter needs spread, not secrecy. */
static uint64_t jitter_next(void)
{
    static _Thread_local uint64_t x;
    if (x == 0)
        x = ((uint64_t)sd_mono_us() ^ ((uint64_t)(uintptr_t)&x << 16)) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/*
 * The wait before the run after `attempts` runs: retry_backoff_ms doubled
 * per earlier retry, capped by retry_backoff_max_ms, then "equal jitter":
 * half of it fixed, half random, so jobs that failed together do not all
 * come back at the same instant.
 */
static int64_t retry_delay(const sd_jobs *j, int64_t attempts)
{
    int64_t d = j->backoff_ms;
    for (int64_t i = 1; i < attempts && d < j->backoff_max_ms; i++)
        d *= 2;
    if (d > j->backoff_max_ms)
        d = j->backoff_max_ms;
    int64_t half = d / 2;
    return d - half + (half > 0 ? (int64_t)(jitter_next() % (uint64_t)(half + 1)) : 0);
}

/* Queues the job again for its next attempt, keeping the error, after
 * the backoff or min_delay_ms when that is longer (an app's Retry-After). */
static void run_retry(sd_jobs *j, const char *id, const char *owner, const char *kind,
                      int64_t attempts, int64_t min_delay_ms, const char *code,
                      const char *message, const atomic_int *cancel)
{
    int64_t delay = retry_delay(j, attempts);
    if (delay < min_delay_ms)
        delay = min_delay_ms;
    run_change c;
    change_init(&c, j, owner, "queued");
    sd_buf err_text = SD_BUF_INIT;
    char retry_at[24];
    job_i64(retry_at, sd_now_ms() + delay);
    if (job_error_json(&err_text, code, message) != SD_OK) {
        sd_buf_free(&err_text);
        sd_warn("job %s: out of memory for its error", id);
        return;
    }
    change_add(&c, (sd_assign){.name = JOB_F_ERROR, .op = SD_ASSIGN_SET, .value = err_text.data,
                               .len = err_text.len});
    change_add(&c, job_set_text(JOB_F_RETRY_MS, retry_at));
    change_add(&c, job_set_text(JOB_F_DUE_MS, retry_at));
    run_step s = {.j = j, .id = id, .owner = owner, .release = true, .delay_ms = delay,
                  .rec = &c.rec};
    if (run_settle(&s, cancel, "queued for a retry")) {
        atomic_fetch_add(&j->retries, 1);
        job_log("retried", id, kind, attempts, "attempt failed (%s: %s); next in %" PRId64 " ms",
                code, message != NULL ? message : "", delay);
    }
    sd_buf_free(&err_text);
}

void job_give_back(sd_jobs *j, const char *id, const char *owner, bool started)
{
    if (!j->shared) {
        (void)run_finish(j, id, owner, "canceled", NULL, "shutdown",
                         started ? "the instance stopped before the job finished"
                                 : "the instance stopped before the job started",
                         NULL, NULL, NULL);
        return;
    }
    run_change c;
    change_init(&c, j, owner, "queued");
    change_add(&c, (sd_assign){.name = JOB_F_ATTEMPTS, .op = SD_ASSIGN_INCR, .incr = -1});
    run_step s = {.j = j, .id = id, .owner = owner, .release = true, .rec = &c.rec};
    if (run_settle(&s, NULL, "handed back")) {
        atomic_fetch_add(&j->returned, 1);
        sd_info("job %s: handed back to the queue for another instance", id);
    }
}

/* The app took the job (an http handler's 202): the run goes on without
 * a worker. Its id goes to the handoff queue first, then the job's queue
 * item is acked with a fresh heartbeat; the record keeps its run, whose
 * token the app reports with. Dying between the two steps leaves the
 * lease to run out and the job to be run again, and the handoff item to
 * find a record that is no longer this run's. */
static void run_hand_off(sd_jobs *j, const char *id, const char *owner,
                         const job_pending *pend, const atomic_int *cancel, job_next *next)
{
    sd_err err = job_handoff_queue(j, id);
    if (err != SD_OK) {
        sd_warn("job %s: handed off, but its timeout not queued: %s", id, sd_err_name(err));
        (void)run_finish(j, id, owner, "failed", NULL, "handler_failed",
                         "the app took the job, but statusd could not track it", pend, cancel,
                         next);
        return;
    }
    char now[24], prog[16];
    job_i64(now, sd_now_ms());
    sd_assign a[4] = {job_set_text(JOB_F_UPDATED_MS, now), job_set_text(JOB_F_HEARTBEAT_MS, now)};
    size_t n = 2 + job_pending_assign(pend, prog, a + 2);
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN, .cond_values = &owner,
                   .cond_count = 1, .assign = a, .assign_count = n,
                   .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms, .settles = true};
    sd_queue_rec rec = {JOB_NS, &u, NULL, SD_OK};
    run_step s = {.j = j, .id = id, .owner = owner, .rec = &rec, .next = next};
    if (run_settle(&s, cancel, "handed off"))
        sd_debug("job %s: handed off to the app", id);
}

/* Gives the run a token of its own before its handler starts, the
 * earlier run's kept among old_tokens; conditioned on the run owning
 * the job. False when it does not any more, or no token could be had. */
static sd_err run_token_set(sd_jobs *j, const char *id, const char *owner,
                            const sd_record *rec, char token[JOB_TOKEN_LEN + 1],
                            const atomic_int *cancel)
{
    if (job_token_new(token) != SD_OK) {
        sd_warn("job %s: no randomness for a run token", id);
        return SD_ERR_INTERNAL;
    }
    const char *prev = sd_record_get(rec, JOB_F_TOKEN, NULL);
    const char *old = sd_record_get(rec, JOB_F_OLD_TOKENS, NULL);
    sd_buf olds = SD_BUF_INIT;
    if (old != NULL)
        sd_buf_puts(&olds, old);
    if (prev != NULL) {
        if (olds.len > 0)
            sd_buf_putc(&olds, ' ');
        sd_buf_puts(&olds, prev);
    }
    if (!sd_buf_ok(&olds)) {
        sd_buf_free(&olds);
        return SD_ERR_NOMEM;
    }
    sd_assign a[2] = {job_set_text(JOB_F_TOKEN, token)};
    size_t n = 1;
    if (olds.len > 0)
        a[n++] = (sd_assign){.name = JOB_F_OLD_TOKENS, .op = SD_ASSIGN_SET, .value = olds.data,
                             .len = olds.len};
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN, .cond_values = &owner,
                   .cond_count = 1, .assign = a, .assign_count = n, .ttl_ms = j->ttl_ms,
                   .slack_ms = j->slack_ms, .settles = true};
    token_step ts = {j, id, &u};
    sd_err err = job_persist(cancel, token_step_do, &ts, id);
    sd_buf_free(&olds);
    if (err != SD_OK)
        sd_debug("job %s: no run token: %s", id, sd_err_name(err));
    return err;
}

/* Removes the item of a run that has nothing more to say. */
static void run_drop(sd_jobs *j, const char *id, const char *owner, const atomic_int *cancel,
                     job_next *next)
{
    run_step s = {.j = j, .id = id, .owner = owner, .next = next};
    sd_err err = job_persist(cancel, run_step_do, &s, id);
    if (err != SD_OK && err != SD_ERR_NOT_FOUND)
        sd_warn("job %s: its queue item was not removed: %s", id, sd_err_name(err));
}

/* ---- progress ---- */

typedef struct run_ctx {
    sd_jobs *j;
    const char *id;
    const char *owner;
    job_progress *progress;   /* its coalesced reports, or NULL */
} run_ctx;

/* The write of a run's coalesced report (job_progress_write). */
static sd_err report_write(void *arg, const job_pending *p)
{
    run_ctx *ctx = arg;
    sd_jobs *j = ctx->j;
    char now[24], prog[16];
    job_i64(now, sd_now_ms());
    sd_assign a[4];
    a[0] = job_set_text(JOB_F_UPDATED_MS, now);
    a[1] = job_set_text(JOB_F_HEARTBEAT_MS, now);
    size_t n = 2 + job_pending_assign(p, prog, a + 2);
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN,
                   .cond_values = &ctx->owner, .cond_count = 1,
                   .assign = a, .assign_count = n, .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    return sd_store_update(j->store, JOB_NS, ctx->id, &u, NULL);
}

/* A progress report, coalesced (progress.h): applies only while the run
 * owns the job. When a write finds it does not any more (canceled,
 * perhaps on another instance, or its lease lost), the handler is told
 * to stop. */
static void run_report(void *arg, int progress, const char *stage)
{
    run_ctx *ctx = arg;
    sd_jobs *j = ctx->j;
    sd_err err = job_progress_report(ctx->progress, progress > 100 ? 100 : progress, stage,
                                     report_write, ctx);
    if (err == SD_ERR_CONFLICT || err == SD_ERR_NOT_FOUND)
        sd_pool_cancel(j->pool, ctx->id, ctx->owner, SD_RUN_CANCEL);
    else if (err != SD_OK)
        sd_warn("job %s: progress not saved: %s", ctx->id, sd_err_name(err));
}

/* ---- the pool's functions ---- */

/* Runs the handler of a started job and ends the run by its outcome. */
static void run_handler(sd_jobs *j, const char *id, const char *owner, const sd_record *rec,
                        const atomic_int *cancel, job_next *next)
{
    const char *kind = sd_record_get(rec, JOB_F_KIND, NULL);
    size_t input_len = 0;
    const char *input = sd_record_get(rec, JOB_F_INPUT, &input_len);
    int64_t attempts = 1;
    (void)sd_record_get_i64(rec, JOB_F_ATTEMPTS, &attempts);
    sd_handler *h = kind != NULL ? job_handler_for(j, kind) : NULL;
    if (h == NULL || input == NULL) {
        run_end(j, id, owner, kind, attempts, "failed", NULL, "no_handler",
                "no handler for this job kind", NULL, cancel, next);
        return;
    }
    char token[JOB_TOKEN_LEN + 1];
    sd_err terr = (sd_handler_flags(h) & SD_HANDLER_TOKEN)
                      ? run_token_set(j, id, owner, rec, token, cancel)
                      : SD_OK;
    if (terr == SD_ERR_CONFLICT || terr == SD_ERR_NOT_FOUND) {
        /* The run no longer owns the job (canceled, reaped). */
        run_drop(j, id, owner, cancel, next);
        return;
    }
    if (terr != SD_OK) {
        /* The job is still this run's: hand it back when stopping, else
         * end the run as a failed one, retried like any other. */
        if (atomic_load(cancel) == SD_RUN_SHUTDOWN)
            job_give_back(j, id, owner, true);
        else if (attempts < j->max_attempts)
            run_retry(j, id, owner, kind, attempts, 0, "handler_failed",
                      "the run's token could not be stored", cancel);
        else
            run_end(j, id, owner, kind, attempts, "failed", NULL, "handler_failed",
                    "the run's token could not be stored", NULL, cancel, next);
        return;
    }
    run_ctx ctx = {j, id, owner, job_progress_begin(j->progress, id, owner)};
    sd_job_run run = {.id = id, .kind = kind, .input = input, .input_len = input_len,
                      .attempt = attempts,
                      .run_token = (sd_handler_flags(h) & SD_HANDLER_TOKEN) ? token : NULL,
                      .timeout_ms = j->timeout_ms, .cancel = cancel,
                      .report = run_report, .report_arg = &ctx};
    sd_outcome out;
    memset(&out, 0, sizeof out);
    job_log("started", id, kind, attempts, NULL);
    int64_t due_ms = 0, started_us = sd_mono_us();
    if (sd_record_get_i64(rec, JOB_F_DUE_MS, &due_ms) == SD_OK)
        sd_job_metrics_wait(j->metrics, kind, (sd_now_ms() - due_ms) * 1000);
    (void)sd_handler_run(h, &run, &out);
    sd_job_metrics_run(j->metrics, kind, sd_mono_us() - started_us);
    job_pending pend;
    char *stage = NULL;
    job_progress_end(j->progress, ctx.progress, &pend, &stage);

    const char *code = out.error_code[0] != '\0' ? out.error_code : "handler_failed";
    bool retry = attempts < j->max_attempts && !out.final;
    switch (out.kind) {
    case SD_OUTCOME_COMPLETED:
        sd_job_metrics_outcome(j->metrics, kind, SD_JOB_COMPLETED);
        run_end(j, id, owner, kind, attempts, "completed", out.result, NULL, NULL, &pend,
                cancel, next);
        break;
    case SD_OUTCOME_FAILED:
        sd_job_metrics_outcome(j->metrics, kind, retry ? SD_JOB_RETRIED : SD_JOB_FAILED);
        if (retry)
            run_retry(j, id, owner, kind, attempts, out.retry_after_ms, code,
                      out.error_message, cancel);
        else
            run_end(j, id, owner, kind, attempts, "failed", NULL, code, out.error_message,
                    &pend, cancel, next);
        break;
    case SD_OUTCOME_CANCELED:
        if (atomic_load(cancel) == SD_RUN_SHUTDOWN) {
            job_give_back(j, id, owner, true);
        } else {
            sd_job_metrics_outcome(j->metrics, kind, SD_JOB_CANCELED);
            run_drop(j, id, owner, cancel, next);
        }
        break;
    case SD_OUTCOME_HANDED_OFF:
        run_hand_off(j, id, owner, &pend, cancel, next);
        break;
    }
    free(stage);
    sd_outcome_clear(&out);
}

bool job_run(void *arg, sd_pool_item *item, const atomic_int *cancel, sd_pool_item *next)
{
    sd_jobs *j = arg;
    job_next nx = {.j = j, .slot = next};
    job_taken *d = item->data;
    const char *id = item->name, *owner = item->tag;
    const char *status = sd_record_get(&d->rec, JOB_F_STATUS, NULL);
    const char *run = sd_record_get(&d->rec, JOB_F_RUN, NULL);
    if (status == NULL || strcmp(status, PROCESSING[0]) != 0 || run == NULL ||
        strcmp(run, owner) != 0 || atomic_load(cancel) == SD_RUN_CANCEL)
        /* A resumed job that moved on meanwhile, or canceled before it
         * started: nothing to run. */
        run_drop(j, id, owner, cancel, &nx);
    else
        run_handler(j, id, owner, &d->rec, cancel, &nx);
    job_taken_free(item);
    job_next_resume(&nx, cancel);
    return nx.taken;
}

void job_leftover(void *arg, sd_pool_item *item)
{
    sd_jobs *j = arg;
    job_give_back(j, item->name, item->tag, false);
    job_taken_free(item);
}

#define CANCEL_BATCH 64

void job_cancel_waiting(sd_jobs *j)
{
    static const char *const queued[] = {"queued"};
    char owner[SD_QUEUE_OWNER_MAX], now[24];
    snprintf(owner, sizeof owner, "%s:drain", j->instance);
    job_i64(now, sd_now_ms());
    sd_buf err_text = SD_BUF_INIT;
    if (job_error_json(&err_text, "shutdown", "the instance stopped before the job started") !=
        SD_OK) {
        sd_buf_free(&err_text);
        return;
    }
    sd_assign a[] = {
        job_set_text(JOB_F_STATUS, "canceled"),
        {.name = JOB_F_ERROR, .op = SD_ASSIGN_SET, .value = err_text.data, .len = err_text.len},
        job_set_text(JOB_F_UPDATED_MS, now),
        job_set_text(JOB_F_HEARTBEAT_MS, now),
        {.name = JOB_F_RETRY_MS, .op = SD_ASSIGN_DEL},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_STATUS, .cond_values = queued,
                   .cond_count = 1, .assign = a, .assign_count = sizeof a / sizeof a[0],
                   .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    sd_queue_rec rec = {JOB_NS, &u, NULL, SD_OK};
    sd_queue_take t = {.owner = owner, .lease_ms = j->lease_ms, .ahead_ms = INT64_MAX,
                       .max = CANCEL_BATCH};
    sd_queue_item items[CANCEL_BATCH];
    size_t n = 0, total = 0;
    do {
        if (sd_queue_take_items(j->store, JOB_QUEUE, &t, &rec, items, &n) != SD_OK)
            break;
        for (size_t i = 0; i < n; i++)
            (void)sd_queue_ack(j->store, JOB_QUEUE, items[i].item, owner, NULL);
        sd_queue_items_clear(items, n);
        total += n;
    } while (n == CANCEL_BATCH);
    if (total > 0)
        sd_warn("drain: %zu queued jobs canceled (the memory store keeps no queue)", total);
    sd_buf_free(&err_text);
}
