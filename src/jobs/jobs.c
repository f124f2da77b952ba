/*
 * Jobs: the API's operations (see statusd/jobs.h and job_record.h for
 * the record): submit, read, cancel, counts and the drain.
 *
 * One code path for both stores: a submit creates the record and queues
 * its id in one store step; workers of any instance sharing the store
 * take it (worker.c); the heartbeat renews the leases of running jobs and
 * reaps those of dead workers (lease.c). The memory store is simply a
 * queue nobody else shares.
 */
#include "statusd/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/json.h"
#include "statusd/log.h"

#include "job_view.h"
#include "jobs_internal.h"

const char *const sd_job_statuses[SD_JOB_STATUS_COUNT] = {
    "queued", "processing", "completed", "failed", "canceled"};

/* ---- set-up ---- */

/* research, upload, then the kinds of handler_<kind>, in the config's
 * order. Upload runs are started by statusd for each field, so their
 * handler cannot be external. */
static sd_err jobs_handlers(sd_jobs *j, const sd_config *cfg, char *err, size_t errlen)
{
    sd_handler_opts hopts = {.demo_step_ms = cfg->demo_step_ms,
                             .kill_grace_ms = cfg->job_kill_grace,
                             .env_pass = cfg->handler_env};
    size_t n = 2 + cfg->kind_count;
    for (size_t i = 0; i < n; i++) {
        const char *kind = i == 0 ? "research" : i == 1 ? "upload" : cfg->kinds[i - 2].kind;
        const char *spec = i == 0   ? cfg->handler_research
                           : i == 1 ? cfg->handler_upload
                                    : cfg->kinds[i - 2].spec;
        char herr[256];
        sd_err e = sd_handler_new(spec, &hopts, &j->kinds[i].handler, herr, sizeof herr);
        if (e != SD_OK) {
            snprintf(err, errlen, "handler_%s: %s", kind, herr);
            return e;
        }
        j->kinds[i].kind = kind;
        j->nkinds = i + 1;
        if (i == 1 && (sd_handler_flags(j->kinds[i].handler) & SD_HANDLER_EXTERNAL)) {
            snprintf(err, errlen, "handler_upload: external is not supported (statusd starts "
                     "a run for each uploaded field); use http(s):// or exec:");
            return SD_ERR_INVALID;
        }
    }
    return SD_OK;
}

sd_err sd_jobs_new(const sd_config *cfg, sd_store *store, sd_jobs **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    sd_jobs *j = calloc(1, sizeof *j);
    if (j == NULL) {
        snprintf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    j->store = store;
    /* Counts by status for /stats, kept by the store in the same step as
     * every transition. */
    sd_err e = sd_store_index(store, JOB_NS, JOB_F_STATUS);
    if (e != SD_OK) {
        snprintf(err, errlen, "cannot index jobs by status: %s", sd_err_name(e));
        free(j);
        return e;
    }
    sd_store_info info;
    memset(&info, 0, sizeof info);
    sd_store_info_get(store, &info);
    j->shared = info.shared;
    j->workers = (size_t)cfg->workers;
    j->capacity = cfg->queue_capacity;
    j->ttl_ms = cfg->job_ttl * 1000;
    /* Changes renew a job as polls do: only past a tenth of job_ttl. */
    j->slack_ms = j->ttl_ms / SD_POLL_SLACK_DIV;
    j->max_age_ms = cfg->job_max_age * 1000;
    j->timeout_ms = cfg->job_timeout * 1000;
    j->lease_ms = cfg->job_lease * 1000;
    j->max_attempts = cfg->max_attempts;
    j->backoff_ms = cfg->retry_backoff_ms;
    j->backoff_max_ms = cfg->retry_backoff_max_ms;
    sd_uuid_new(j->instance);
    atomic_init(&j->draining, false);
    atomic_init(&j->retries, 0);
    atomic_init(&j->recovered, 0);
    atomic_init(&j->lost, 0);
    atomic_init(&j->returned, 0);
    atomic_init(&j->next_seq, 0);

    e = jobs_handlers(j, cfg, err, errlen);
    if (e != SD_OK) {
        sd_jobs_free(j);
        return e;
    }
    for (size_t i = 0; i < j->nkinds; i++)
        j->kind_names[i] = j->kinds[i].kind;
    e = sd_job_metrics_new(j->kind_names, j->nkinds, &j->metrics);
    if (e == SD_OK && j->workers > 0) {
        j->take_buf = calloc(j->workers, sizeof *j->take_buf);
        e = j->take_buf == NULL ? SD_ERR_NOMEM
                                : job_progress_table_new(j->workers, cfg->progress_interval_ms,
                                                         &j->progress);
    }
    if (e != SD_OK) {
        snprintf(err, errlen, "out of memory");
        sd_jobs_free(j);
        return e;
    }
    sd_pool_opts popts = {.workers = j->workers, .fill = job_fill, .run = job_run,
                          .leftover = job_leftover, .arg = j,
                          .poll_min_ms = JOB_POLL_MIN_MS, .poll_max_ms = JOB_POLL_MAX_MS};
    e = sd_pool_new(&popts, &j->pool);
    if (e != SD_OK) {
        snprintf(err, errlen, "cannot start %zu workers", j->workers);
        sd_jobs_free(j);
        return e;
    }
    sd_err beat_err = job_beat_start(j);
    if (beat_err != SD_OK) {
        snprintf(err, errlen, "cannot start the heartbeat thread: %s", sd_err_name(beat_err));
        sd_jobs_free(j);
        return beat_err;
    }
    *out = j;
    return SD_OK;
}

bool sd_jobs_has_kind(const sd_jobs *j, const char *kind)
{
    return job_handler_for(j, kind) != NULL;
}

/* ---- the API's operations ---- */

static void copy_id(char id[SD_UUID_LEN + 1], const char *src)
{
    size_t n = strlen(src);
    if (n > SD_UUID_LEN)
        n = SD_UUID_LEN;
    memcpy(id, src, n);
    id[n] = '\0';
}

/*
 * Creates the job's record and queues its id in one store step. A job of
 * an external kind is created processing instead, its run the app's (run
 * = an owner no worker holds, token = the run's token), and its id goes
 * to the handoff queue, due when job_timeout passes without a report.
 */
static sd_err job_create(sd_jobs *j, const char *id, const char *kind, const char *input,
                         size_t input_len, bool external, sd_job_view *view, char *run_token)
{
    char token[JOB_TOKEN_LEN + 1] = "", owner[SD_QUEUE_OWNER_MAX] = "";
    if (external) {
        sd_err err = job_token_new(token);
        if (err != SD_OK)
            return err;
        snprintf(owner, sizeof owner, "%s:external", j->instance);
    }
    int64_t now_ms = sd_now_ms();
    char now[24], deadline[24];
    job_i64(now, now_ms);
    job_i64(deadline, now_ms + j->max_age_ms);
    const char *status = external ? "processing" : "queued";
    sd_assign a[12] = {
        {.name = JOB_F_KIND, .op = SD_ASSIGN_SET, .value = kind, .len = strlen(kind)},
        {.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = status, .len = strlen(status)},
        {.name = JOB_F_PROGRESS, .op = SD_ASSIGN_SET, .value = "0", .len = 1},
        {.name = JOB_F_INPUT, .op = SD_ASSIGN_SET, .value = input, .len = input_len},
        {.name = JOB_F_ATTEMPTS, .op = SD_ASSIGN_SET, .value = external ? "1" : "0", .len = 1},
        {.name = JOB_F_CREATED_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = SD_FIELD_DEADLINE, .op = SD_ASSIGN_SET, .value = deadline, .len = strlen(deadline)},
        {.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
    };
    size_t n = 9;
    if (external) {
        a[n++] = (sd_assign){.name = JOB_F_RUN, .op = SD_ASSIGN_SET, .value = owner,
                             .len = strlen(owner)};
        a[n++] = (sd_assign){.name = JOB_F_TOKEN, .op = SD_ASSIGN_SET, .value = token,
                             .len = JOB_TOKEN_LEN};
        a[n++] = (sd_assign){.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = now,
                             .len = strlen(now)};
    }
    sd_update u = {.mode = SD_UPDATE_CREATE, .assign = a, .assign_count = n,
                   .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    sd_record rec = SD_RECORD_INIT;
    sd_queue_rec qr = {JOB_NS, &u, &rec, SD_OK};
    sd_err err = external ? sd_queue_push(j->store, HANDOFF_QUEUE, id, j->timeout_ms, 0, &qr)
                          : sd_queue_push(j->store, JOB_QUEUE, id, 0, j->capacity, &qr);
    if (err == SD_OK) {
        if (!external && j->workers > 0)
            sd_pool_kick(j->pool);
        if (external && run_token != NULL)
            memcpy(run_token, token, JOB_TOKEN_LEN + 1);
        if (external)
            job_log("started", id, kind, 0, "handed to the app");
        else
            job_log("queued", id, kind, 0, NULL);
        err = job_view_build(id, &rec, view);
    }
    sd_record_clear(&rec);
    return err;
}

sd_err sd_jobs_submit(sd_jobs *j, const char *kind, const char *input,
                      size_t input_len, const char *preset_id, sd_job_view *view,
                      char *run_token)
{
    if (run_token != NULL)
        run_token[0] = '\0';
    if (atomic_load(&j->draining))
        return SD_ERR_SHUTTING_DOWN;
    sd_handler *h = job_handler_for(j, kind);
    bool external = h != NULL && (sd_handler_flags(h) & SD_HANDLER_EXTERNAL);
    if (j->workers == 0 && !j->shared && !external)
        return SD_ERR_UNAVAILABLE;
    char id[SD_UUID_LEN + 1];
    if (preset_id != NULL)
        copy_id(id, preset_id);
    else
        sd_uuid_new(id);
    return job_create(j, id, kind, input, input_len, external, view, run_token);
}

/* Reads a job for a poll, renewing it: the store's poll (which skips a
 * renewal within its slack), or, with decide, its get, which decides
 * and writes in one step (a poll whose reads showed a renewal due or a
 * record gone or damaged). */
static sd_err job_read(sd_jobs *j, const char *id, bool decide, sd_job_view *view)
{
    sd_record rec = SD_RECORD_INIT;
    sd_err err = decide ? sd_store_get(j->store, JOB_NS, id, j->ttl_ms, &rec)
                        : sd_store_poll(j->store, JOB_NS, id, j->ttl_ms, &rec);
    if (err == SD_OK)
        err = job_view_build(id, &rec, view);
    sd_record_clear(&rec);
    return err;
}

sd_err sd_jobs_get(sd_jobs *j, const char *id, sd_job_view *view)
{
    return job_read(j, id, false, view);
}

sd_err sd_jobs_get_again(sd_jobs *j, const char *id, const sd_poll *p, sd_job_view *view)
{
    return job_read(j, id, p->read_done, view);
}

bool sd_jobs_get_start(sd_jobs *j, const char *id, sd_poll *p)
{
    return sd_store_poll_start(j->store, JOB_NS, id, j->ttl_ms, p);
}

sd_err sd_jobs_get_finish(const char *id, sd_poll *p, sd_job_view *view)
{
    sd_err err = p->err;
    if (err == SD_OK)
        err = job_view_build(id, &p->rec, view);
    sd_record_clear(&p->rec);
    return err;
}

/* The record changes to canceled and a waiting item leaves the queue in
 * one step; a leased one stays with its worker, which the heartbeat (or
 * here, the pool) tells to stop, and which then drops it. */
sd_err sd_jobs_cancel(sd_jobs *j, const char *id, sd_job_view *view)
{
    static const char *const from[] = {"queued", "processing"};
    char now[24];
    job_i64(now, sd_now_ms());
    sd_assign a[] = {
        {.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = "canceled", .len = 8},
        {.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = JOB_F_RUN, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_RETRY_MS, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_ERROR, .op = SD_ASSIGN_DEL},   /* of a failed attempt */
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_STATUS,
                   .cond_values = from, .cond_count = 2, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = j->ttl_ms,
                   .slack_ms = j->slack_ms};
    sd_record rec = SD_RECORD_INIT;
    sd_queue_rec qr = {JOB_NS, &u, &rec, SD_ERR_INTERNAL};
    sd_err err = sd_queue_remove(j->store, JOB_QUEUE, id, &qr);
    if (err == SD_OK || err == SD_ERR_NOT_FOUND)
        err = qr.err;
    if (err == SD_OK && j->workers > 0)
        sd_pool_cancel(j->pool, id, NULL, SD_RUN_CANCEL);
    if (err == SD_OK || err == SD_ERR_CONFLICT) {
        sd_err verr = job_view_build(id, &rec, view);
        if (verr != SD_OK)
            err = verr;
    }
    sd_record_clear(&rec);
    return err;
}

/* The answer to a retry that changed nothing: OK when the job is queued
 * (a retry done already), else CONFLICT saying why. rec is the job. */
static sd_err retry_refused(const char *id, const sd_record *rec, bool still_queued,
                            char *why, size_t whylen)
{
    const char *status = sd_record_get(rec, JOB_F_STATUS, NULL);
    if (status != NULL && strcmp(status, "queued") == 0)
        return SD_OK;
    if (still_queued && status != NULL &&
        (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0))
        snprintf(why, whylen, "job %s is still stopping its last run; retry shortly", id);
    else
        snprintf(why, whylen, "job %s is %s; only failed or canceled jobs can be retried",
                 id, status != NULL ? status : "unknown");
    return SD_ERR_CONFLICT;
}

sd_err sd_jobs_retry(sd_jobs *j, const char *id, sd_job_view *view, char *why,
                     size_t whylen)
{
    if (atomic_load(&j->draining))
        return SD_ERR_SHUTTING_DOWN;
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
    const char *kind = err == SD_OK ? sd_record_get(&rec, JOB_F_KIND, NULL) : NULL;
    sd_handler *h = kind != NULL ? job_handler_for(j, kind) : NULL;
    const char *status = err == SD_OK ? sd_record_get(&rec, JOB_F_STATUS, NULL) : NULL;
    if (err != SD_OK) {
        goto done;
    } else if (status == NULL || (strcmp(status, "failed") != 0 &&
                                  strcmp(status, "canceled") != 0)) {
        err = retry_refused(id, &rec, false, why, whylen);
    } else if (kind == NULL) {
        err = SD_ERR_INTERNAL;
    } else if (h == NULL) {
        snprintf(why, whylen, "no handler is configured for job kind %s", kind);
        err = SD_ERR_UNKNOWN_KIND;
    } else if (sd_handler_flags(h) & SD_HANDLER_EXTERNAL) {
        snprintf(why, whylen, "jobs of kind %s are run by the app; submit a new one", kind);
        err = SD_ERR_CONFLICT;
    } else if (j->workers == 0 && !j->shared) {
        err = SD_ERR_UNAVAILABLE;
    }
    if (err != SD_OK)
        goto done;
    static const char *const from[] = {"failed", "canceled"};
    char now[24];
    job_i64(now, sd_now_ms());
    sd_assign a[] = {
        {.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = "queued", .len = 6},
        {.name = JOB_F_ATTEMPTS, .op = SD_ASSIGN_SET, .value = "0", .len = 1},
        {.name = JOB_F_PROGRESS, .op = SD_ASSIGN_SET, .value = "0", .len = 1},
        {.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = JOB_F_DUE_MS, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = JOB_F_STAGE, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_RESULT, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_ERROR, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_RUN, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_RETRY_MS, .op = SD_ASSIGN_DEL},
        {.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_DEL},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_STATUS, .cond_values = from,
                   .cond_count = 2, .assign = a, .assign_count = sizeof a / sizeof a[0],
                   .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    sd_record_clear(&rec);
    sd_queue_rec qr = {JOB_NS, &u, &rec, SD_OK};
    err = sd_queue_push(j->store, JOB_QUEUE, id, 0, j->capacity, &qr);
    if (err == SD_OK) {
        if (j->workers > 0)
            sd_pool_kick(j->pool);
        /* kind pointed into the record read before, cleared for the push */
        job_log("retried", id, sd_record_get(&rec, JOB_F_KIND, NULL), 0,
                "queued again on request, with a fresh attempt budget");
    } else if (err == SD_ERR_CONFLICT) {
        err = retry_refused(id, &rec, false, why, whylen);
    } else if (err == SD_ERR_EXISTS) {
        /* Its id is in the queue: queued already, or a canceled run whose
         * worker has not let go yet. */
        err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
        if (err == SD_OK)
            err = retry_refused(id, &rec, true, why, whylen);
    }
done:
    if (err == SD_OK) {
        sd_err verr = job_view_build(id, &rec, view);
        if (verr != SD_OK)
            err = verr;
    }
    sd_record_clear(&rec);
    return err;
}

sd_err sd_jobs_stats_get(sd_jobs *j, sd_jobs_stats *out)
{
    memset(out, 0, sizeof *out);
    out->workers = j->workers;
    sd_pool_stats(j->pool, NULL, &out->busy);
    out->retries = atomic_load(&j->retries);
    out->recovered = atomic_load(&j->recovered);
    out->lost = atomic_load(&j->lost);
    out->returned = atomic_load(&j->returned);
    sd_queue_stats q;
    sd_err err = sd_queue_stats_get(j->store, JOB_QUEUE, &q);
    if (err == SD_OK) {
        out->ready = q.ready;
        out->delayed = q.delayed;
        out->leased = q.leased;
        err = sd_store_count(j->store, INSTANCE_NS, &out->instances);
    }
    return err;
}

sd_err sd_jobs_count(sd_jobs *j, int64_t counts[SD_JOB_STATUS_COUNT])
{
    for (size_t i = 0; i < SD_JOB_STATUS_COUNT; i++) {
        sd_err err = sd_store_count_by(j->store, JOB_NS, sd_job_statuses[i], &counts[i]);
        if (err != SD_OK)
            return err;
    }
    return SD_OK;
}

void sd_jobs_drain(sd_jobs *j, int64_t timeout_ms)
{
    atomic_store(&j->draining, true);
    size_t busy = 0;
    sd_pool_stats(j->pool, NULL, &busy);
    sd_info("draining: %zu running, up to %lld ms; unfinished jobs %s", busy,
            (long long)timeout_ms,
            j->shared ? "go back to the shared queue" : "are canceled");
    size_t stopped = sd_pool_drain(j->pool, timeout_ms);
    if (stopped > 0)
        sd_warn("drain: %zu running jobs stopped after drain_timeout", stopped);
    if (!j->shared)
        job_cancel_waiting(j);
}

void sd_jobs_free(sd_jobs *j)
{
    if (j == NULL)
        return;
    job_beat_stop(j); /* before the pool it reads */
    sd_pool_free(j->pool);
    for (size_t i = 0; i < j->nkinds; i++)
        sd_handler_free(j->kinds[i].handler);
    free(j->take_buf);
    sd_job_metrics_free(j->metrics);
    job_progress_table_free(j->progress);
    free(j);
}

void sd_jobs_metrics_render(sd_jobs *j, sd_buf *out)
{
    sd_job_metrics_render(j->metrics, out);
}

void sd_jobs_announce(sd_jobs *j)
{
    job_announce(j);
}

void sd_jobs_outcomes_json(sd_jobs *j, sd_buf *out)
{
    sd_job_metrics_json(j->metrics, out);
}
