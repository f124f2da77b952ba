/*
 * Jobs: records in the store's "job" namespace, one hash per job:
 *   kind, status, progress, stage, input, result, error, attempts,
 *   created_ms, updated_ms, heartbeat_ms, deadline_ms
 * input, result and error hold JSON text, validated before it is stored,
 * so the view is assembled by concatenation, with no parse on the poll
 * path. Every change is one sd_store_update conditioned on the status the
 * change starts from: the first of two racing transitions wins and the
 * second sees SD_ERR_CONFLICT, so a cancel and a completion never both
 * land.
 */
#include "statusd/jobs.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/handler.h"
#include "statusd/json.h"
#include "statusd/log.h"
#include "statusd/pool.h"

#include "job_view.h"

#define JOB_NS "job"

/* How often running jobs' heartbeats are renewed, at most: often enough
 * that a cancel from another instance stops a handler within a second. */
#define HEARTBEAT_MAX_INTERVAL_MS 1000

typedef struct job_kind {
    const char *kind;
    sd_handler *handler;
} job_kind;

struct sd_jobs {
    sd_store *store;
    sd_pool *pool;
    job_kind kinds[2];
    size_t nkinds;
    int64_t ttl_ms;
    int64_t max_age_ms;
    int64_t timeout_ms;
    int64_t lease_ms;

    /* the heartbeat thread */
    pthread_t heartbeat;
    bool heartbeat_started;
    pthread_mutex_t hb_lock;
    pthread_cond_t hb_wake;
    bool hb_stop;
};

const char *const sd_job_statuses[SD_JOB_STATUS_COUNT] = {
    "queued", "processing", "completed", "failed", "canceled"};

/* ---- transitions run by workers ---- */

typedef struct run_ctx {
    sd_jobs *jobs;
    const char *id;
} run_ctx;

/* A progress report: applies only while the job is processing. When the
 * job is no longer processing (canceled meanwhile, perhaps from another
 * instance), the handler is told to stop. */
static void job_report(void *arg, int progress, const char *stage)
{
    run_ctx *ctx = arg;
    sd_jobs *j = ctx->jobs;
    char now[24], prog[16];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    sd_assign a[4];
    size_t n = 0;
    a[n++] = (sd_assign){.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)};
    a[n++] = (sd_assign){.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)};
    if (progress >= 0) {
        snprintf(prog, sizeof prog, "%d", progress > 100 ? 100 : progress);
        a[n++] = (sd_assign){.name = "progress", .op = SD_ASSIGN_SET, .value = prog, .len = strlen(prog)};
    }
    if (stage != NULL)
        a[n++] = (sd_assign){.name = "stage", .op = SD_ASSIGN_SET, .value = stage, .len = strlen(stage)};
    static const char *const from[] = {"processing"};
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                   .cond_values = from, .cond_count = 1,
                   .assign = a, .assign_count = n, .ttl_ms = j->ttl_ms};
    sd_err err = sd_store_update(j->store, JOB_NS, ctx->id, &u, NULL);
    if (err == SD_ERR_CONFLICT || err == SD_ERR_NOT_FOUND)
        sd_pool_cancel(j->pool, ctx->id, SD_RUN_CANCEL);
    else if (err != SD_OK)
        sd_warn("job %s: progress not saved: %s", ctx->id, sd_err_name(err));
}

static void error_json(sd_buf *b, const char *code, const char *message)
{
    sd_buf_puts(b, "{\"code\":");
    sd_json_append_string(b, code, strlen(code));
    sd_buf_puts(b, ",\"message\":");
    sd_json_append_string(b, message != NULL ? message : "", message != NULL ? strlen(message) : 0);
    sd_buf_putc(b, '}');
}

/*
 * A worker's store update. A job a worker holds exists nowhere else, so
 * while the store is unavailable (Redis restarting) the worker keeps
 * trying, with a capped backoff, instead of dropping the transition: a
 * job that got its 202 must not stay queued or processing forever. Only
 * a shutdown stops the retries. cancel NULL: one attempt. *retried
 * (optional) is set when an attempt failed with SD_ERR_UNAVAILABLE
 * before the one whose result is returned.
 */
static sd_err worker_update(sd_jobs *j, const char *id, const sd_update *u,
                            sd_record *out, const atomic_int *cancel, bool *retried)
{
    int64_t backoff = 50;
    for (;;) {
        sd_err err = sd_store_update(j->store, JOB_NS, id, u, out);
        if (err != SD_ERR_UNAVAILABLE || cancel == NULL ||
            atomic_load(cancel) == SD_RUN_SHUTDOWN)
            return err;
        if (retried != NULL)
            *retried = true;
        sd_debug("job %s: store unavailable, retrying in %lld ms", id, (long long)backoff);
        int64_t until = sd_mono_ms() + backoff;
        while (sd_mono_ms() < until && atomic_load(cancel) != SD_RUN_SHUTDOWN) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        backoff = backoff >= 500 ? 1000 : backoff * 2;
    }
}

/* Moves a job from one of from[] to a final status; cancel as for
 * worker_update. */
static sd_err job_finish(sd_jobs *j, const char *id, const char *const *from,
                         size_t nfrom, const char *status, const char *result,
                         const char *code, const char *message,
                         const atomic_int *cancel)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    sd_buf err_text = SD_BUF_INIT;
    sd_assign a[6];
    size_t n = 0;
    a[n++] = (sd_assign){.name = "status", .op = SD_ASSIGN_SET, .value = status, .len = strlen(status)};
    a[n++] = (sd_assign){.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)};
    a[n++] = (sd_assign){.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)};
    if (strcmp(status, "completed") == 0) {
        const char *res = result != NULL ? result : "null";
        a[n++] = (sd_assign){.name = "progress", .op = SD_ASSIGN_SET, .value = "100", .len = 3};
        a[n++] = (sd_assign){.name = "result", .op = SD_ASSIGN_SET, .value = res, .len = strlen(res)};
    }
    if (code != NULL) {
        error_json(&err_text, code, message);
        if (!sd_buf_ok(&err_text)) {
            sd_buf_free(&err_text);
            return SD_ERR_NOMEM;
        }
        a[n++] = (sd_assign){.name = "error", .op = SD_ASSIGN_SET, .value = err_text.data, .len = err_text.len};
    }
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                   .cond_values = from, .cond_count = nfrom,
                   .assign = a, .assign_count = n, .ttl_ms = j->ttl_ms};
    sd_err err = worker_update(j, id, &u, NULL, cancel, NULL);
    sd_buf_free(&err_text);
    return err;
}

static sd_handler *handler_for(const sd_jobs *j, const char *kind)
{
    for (size_t i = 0; i < j->nkinds; i++)
        if (strcmp(j->kinds[i].kind, kind) == 0)
            return j->kinds[i].handler;
    return NULL;
}

/*
 * Whether rec is the job as this worker's start left it: processing, with
 * the updated_ms the start wrote. A start whose reply was lost (Redis
 * killed after applying it, before answering) is retried once the store
 * is back and then meets its own write as a conflict; without this check
 * the worker would drop a job it had started, left processing until its
 * lease ran out.
 */
static bool started_by(const sd_record *rec, const char *now)
{
    const char *status = sd_record_get(rec, "status", NULL);
    const char *updated = sd_record_get(rec, "updated_ms", NULL);
    return status != NULL && strcmp(status, "processing") == 0 && updated != NULL &&
           strcmp(updated, now) == 0;
}

static void job_run(void *arg, const char *id, const atomic_int *cancel)
{
    sd_jobs *j = arg;
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    static const char *const queued[] = {"queued"};
    static const char *const processing[] = {"processing"};
    sd_assign a[] = {
        {.name = "status", .op = SD_ASSIGN_SET, .value = "processing", .len = 10},
        {.name = "attempts", .op = SD_ASSIGN_INCR, .incr = 1},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                   .cond_values = queued, .cond_count = 1,
                   .assign = a, .assign_count = sizeof a / sizeof a[0],
                   .ttl_ms = j->ttl_ms};
    sd_record rec = SD_RECORD_INIT;
    bool retried = false;
    sd_err err = worker_update(j, id, &u, &rec, cancel, &retried);
    if (err == SD_ERR_CONFLICT && retried && started_by(&rec, now))
        err = SD_OK;
    if (err != SD_OK) {
        /* canceled or expired while queued: nothing to run */
        if (err != SD_ERR_CONFLICT && err != SD_ERR_NOT_FOUND)
            sd_warn("job %s: cannot start: %s", id, sd_err_name(err));
        sd_record_clear(&rec);
        return;
    }

    const char *kind = sd_record_get(&rec, "kind", NULL);
    size_t input_len = 0;
    const char *input = sd_record_get(&rec, "input", &input_len);
    sd_handler *h = kind != NULL ? handler_for(j, kind) : NULL;
    if (h == NULL || input == NULL) {
        job_finish(j, id, processing, 1, "failed", NULL, "no_handler",
                   "no handler for this job kind", cancel);
        sd_record_clear(&rec);
        return;
    }

    run_ctx ctx = {j, id};
    sd_job_run run = {.id = id, .kind = kind, .input = input,
                      .input_len = input_len, .timeout_ms = j->timeout_ms,
                      .cancel = cancel, .report = job_report, .report_arg = &ctx};
    sd_outcome out;
    memset(&out, 0, sizeof out);
    sd_debug("job %s: running (%s)", id, kind);
    (void)sd_handler_run(h, &run, &out);

    switch (out.kind) {
    case SD_OUTCOME_COMPLETED:
        err = job_finish(j, id, processing, 1, "completed", out.result, NULL, NULL,
                         cancel);
        break;
    case SD_OUTCOME_FAILED:
        err = job_finish(j, id, processing, 1, "failed", NULL,
                         out.error_code[0] ? out.error_code : "handler_failed",
                         out.error_message, cancel);
        break;
    case SD_OUTCOME_CANCELED:
        /* A cancel already set the status; a shutdown did not. */
        err = SD_OK;
        if (atomic_load(cancel) == SD_RUN_SHUTDOWN)
            err = job_finish(j, id, processing, 1, "canceled", NULL, "shutdown",
                             "the instance stopped before the job finished", NULL);
        break;
    }
    if (err != SD_OK && err != SD_ERR_CONFLICT && err != SD_ERR_NOT_FOUND)
        sd_warn("job %s: final state not saved: %s", id, sd_err_name(err));
    sd_debug("job %s: %s", id, out.kind == SD_OUTCOME_COMPLETED ? "completed"
                               : out.kind == SD_OUTCOME_FAILED ? "failed" : "canceled");
    sd_outcome_clear(&out);
    sd_record_clear(&rec);
}

/* ---- the heartbeat ---- */

/* Renews the heartbeat of every job this instance runs, so that readers
 * anywhere can tell a live job from one whose instance died, and stops
 * handlers whose job is no longer processing (canceled on another
 * instance). */
static void heartbeat_beat(sd_jobs *j)
{
    char running[64][SD_POOL_ITEM_MAX];
    size_t n = sd_pool_running(j->pool, running, 64);
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    static const char *const processing[] = {"processing"};
    sd_assign a[] = {
        {.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                   .cond_values = processing, .cond_count = 1, .assign = a,
                   .assign_count = 1, .ttl_ms = j->ttl_ms};
    for (size_t i = 0; i < n; i++) {
        sd_err err = sd_store_update(j->store, JOB_NS, running[i], &u, NULL);
        if (err == SD_ERR_CONFLICT || err == SD_ERR_NOT_FOUND)
            sd_pool_cancel(j->pool, running[i], SD_RUN_CANCEL);
        else if (err != SD_OK)
            sd_debug("job %s: heartbeat not saved: %s", running[i], sd_err_name(err));
    }
}

static void *heartbeat_main(void *arg)
{
    sd_jobs *j = arg;
    int64_t interval = j->lease_ms / 3;
    if (interval > HEARTBEAT_MAX_INTERVAL_MS)
        interval = HEARTBEAT_MAX_INTERVAL_MS;
    pthread_mutex_lock(&j->hb_lock);
    while (!j->hb_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (interval % 1000) * 1000000L;
        ts.tv_sec += (time_t)(interval / 1000 + ns / 1000000000L);
        ts.tv_nsec = (long)(ns % 1000000000L);
        pthread_cond_timedwait(&j->hb_wake, &j->hb_lock, &ts);
        if (j->hb_stop)
            break;
        pthread_mutex_unlock(&j->hb_lock);
        heartbeat_beat(j);
        pthread_mutex_lock(&j->hb_lock);
    }
    pthread_mutex_unlock(&j->hb_lock);
    return NULL;
}

static sd_err heartbeat_start(sd_jobs *j)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return SD_ERR_INTERNAL;
    bool ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&j->hb_wake, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok)
        return SD_ERR_INTERNAL;
    if (pthread_mutex_init(&j->hb_lock, NULL) != 0) {
        pthread_cond_destroy(&j->hb_wake);
        return SD_ERR_INTERNAL;
    }
    if (pthread_create(&j->heartbeat, NULL, heartbeat_main, j) != 0) {
        pthread_mutex_destroy(&j->hb_lock);
        pthread_cond_destroy(&j->hb_wake);
        return SD_ERR_INTERNAL;
    }
    j->heartbeat_started = true;
    return SD_OK;
}

static void heartbeat_stop(sd_jobs *j)
{
    if (!j->heartbeat_started)
        return;
    pthread_mutex_lock(&j->hb_lock);
    j->hb_stop = true;
    pthread_cond_signal(&j->hb_wake);
    pthread_mutex_unlock(&j->hb_lock);
    pthread_join(j->heartbeat, NULL);
    pthread_mutex_destroy(&j->hb_lock);
    pthread_cond_destroy(&j->hb_wake);
    j->heartbeat_started = false;
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
    sd_err ierr = sd_store_index(store, JOB_NS, "status");
    if (ierr != SD_OK) {
        snprintf(err, errlen, "cannot index jobs by status: %s", sd_err_name(ierr));
        free(j);
        return ierr;
    }
    j->ttl_ms = cfg->job_ttl * 1000;
    j->max_age_ms = cfg->job_max_age * 1000;
    j->timeout_ms = cfg->job_timeout * 1000;
    j->lease_ms = cfg->job_lease * 1000;
    sd_handler_opts hopts = {.demo_step_ms = cfg->demo_step_ms,
                             .kill_grace_ms = cfg->job_kill_grace};
    const struct {
        const char *kind;
        const char *spec;
    } specs[] = {{"research", cfg->handler_research}, {"upload", cfg->handler_upload}};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char herr[256];
        sd_err e = sd_handler_new(specs[i].spec, &hopts, &j->kinds[i].handler, herr,
                                  sizeof herr);
        if (e != SD_OK) {
            snprintf(err, errlen, "handler_%s: %s", specs[i].kind, herr);
            sd_jobs_free(j);
            return e;
        }
        j->kinds[i].kind = specs[i].kind;
        j->nkinds = i + 1;
    }
    j->pool = sd_pool_new((size_t)cfg->workers, (size_t)cfg->queue_capacity,
                          job_run, j);
    if (j->pool == NULL) {
        snprintf(err, errlen, "cannot start %lld workers", (long long)cfg->workers);
        sd_jobs_free(j);
        return SD_ERR_INTERNAL;
    }
    if (heartbeat_start(j) != SD_OK) {
        snprintf(err, errlen, "cannot start the heartbeat thread");
        sd_jobs_free(j);
        return SD_ERR_INTERNAL;
    }
    *out = j;
    return SD_OK;
}

bool sd_jobs_has_kind(const sd_jobs *j, const char *kind)
{
    return handler_for(j, kind) != NULL;
}

sd_err sd_jobs_submit(sd_jobs *j, const char *kind, const char *input,
                      size_t input_len, const char *preset_id, sd_job_view *view)
{
    char id[SD_UUID_LEN + 1];
    if (preset_id != NULL)
        copy_id(id, preset_id);
    else
        sd_uuid_new(id);
    int64_t now_ms = sd_now_ms();
    char now[24], deadline[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(deadline, sizeof deadline, "%" PRId64, now_ms + j->max_age_ms);
    sd_assign a[] = {
        {.name = "kind", .op = SD_ASSIGN_SET, .value = kind, .len = strlen(kind)},
        {.name = "status", .op = SD_ASSIGN_SET, .value = "queued", .len = 6},
        {.name = "progress", .op = SD_ASSIGN_SET, .value = "0", .len = 1},
        {.name = "input", .op = SD_ASSIGN_SET, .value = input, .len = input_len},
        {.name = "attempts", .op = SD_ASSIGN_SET, .value = "0", .len = 1},
        {.name = "created_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = SD_FIELD_DEADLINE, .op = SD_ASSIGN_SET, .value = deadline, .len = strlen(deadline)},
    };
    sd_update u = {.mode = SD_UPDATE_CREATE, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = j->ttl_ms};
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_update(j->store, JOB_NS, id, &u, &rec);
    if (err == SD_OK)
        err = job_view_build(id, &rec, view);
    if (err == SD_OK) {
        err = sd_pool_submit(j->pool, id);
        if (err != SD_OK)
            (void)sd_store_del(j->store, JOB_NS, id);
    }
    sd_record_clear(&rec);
    return err;
}

/*
 * A processing job whose heartbeat is older than job_lease has lost its
 * instance (it died, or lost Redis for that long): it is failed with
 * worker_lost. The update is conditioned on the stale heartbeat value, and
 * every transition writes heartbeat_ms, so a job that moved on since the
 * read (heartbeat renewed, completed, canceled) is left alone; *rec is
 * then the job as it stands.
 */
static sd_err job_check_lease(sd_jobs *j, const char *id, sd_record *rec)
{
    const char *status = sd_record_get(rec, "status", NULL);
    size_t hb_len = 0;
    const char *hb = sd_record_get(rec, "heartbeat_ms", &hb_len);
    int64_t hb_ms = 0;
    if (status == NULL || strcmp(status, "processing") != 0 || hb == NULL ||
        sd_record_get_i64(rec, "heartbeat_ms", &hb_ms) != SD_OK)
        return SD_OK;
    int64_t now_ms = sd_now_ms();
    if (now_ms - hb_ms <= j->lease_ms)
        return SD_OK;

    char now[24], stale[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(stale, sizeof stale, "%" PRId64, hb_ms);
    sd_buf err_text = SD_BUF_INIT;
    error_json(&err_text, "worker_lost",
               "the instance running the job stopped sending heartbeats");
    if (!sd_buf_ok(&err_text)) {
        sd_buf_free(&err_text);
        return SD_ERR_NOMEM;
    }
    const char *const cond[] = {stale};
    sd_assign a[] = {
        {.name = "status", .op = SD_ASSIGN_SET, .value = "failed", .len = 6},
        {.name = "error", .op = SD_ASSIGN_SET, .value = err_text.data, .len = err_text.len},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "heartbeat_ms",
                   .cond_values = cond, .cond_count = 1, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = j->ttl_ms};
    sd_record_clear(rec);
    sd_err err = sd_store_update(j->store, JOB_NS, id, &u, rec);
    sd_buf_free(&err_text);
    if (err == SD_OK)
        sd_warn("job %s: failed with worker_lost (no heartbeat for %lld ms)", id,
                (long long)(now_ms - hb_ms));
    return err == SD_ERR_CONFLICT ? SD_OK : err;
}

sd_err sd_jobs_get(sd_jobs *j, const char *id, sd_job_view *view)
{
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(j->store, JOB_NS, id, j->ttl_ms, &rec);
    if (err == SD_OK)
        err = job_check_lease(j, id, &rec);
    if (err == SD_OK)
        err = job_view_build(id, &rec, view);
    sd_record_clear(&rec);
    return err;
}

sd_err sd_jobs_cancel(sd_jobs *j, const char *id, sd_job_view *view)
{
    static const char *const from[] = {"queued", "processing"};
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    sd_assign a[] = {
        {.name = "status", .op = SD_ASSIGN_SET, .value = "canceled", .len = 8},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "heartbeat_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                   .cond_values = from, .cond_count = 2, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = j->ttl_ms};
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_update(j->store, JOB_NS, id, &u, &rec);
    if (err == SD_OK)
        sd_pool_cancel(j->pool, id, SD_RUN_CANCEL);
    if (err == SD_OK || err == SD_ERR_CONFLICT) {
        sd_err verr = job_view_build(id, &rec, view);
        if (verr != SD_OK)
            err = verr;
    }
    sd_record_clear(&rec);
    return err;
}

void sd_jobs_stats(sd_jobs *j, size_t *queued, size_t *busy)
{
    sd_pool_stats(j->pool, queued, busy);
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

/* A job still queued when the instance stops: the memory store dies with
 * the process, so the job ends canceled rather than queued forever. */
static void job_leftover(void *arg, const char *id)
{
    sd_jobs *j = arg;
    static const char *const queued[] = {"queued"};
    sd_err err = job_finish(j, id, queued, 1, "canceled", NULL, "shutdown",
                            "the instance stopped before the job started", NULL);
    if (err != SD_OK && err != SD_ERR_CONFLICT && err != SD_ERR_NOT_FOUND)
        sd_warn("job %s: not canceled at shutdown: %s", id, sd_err_name(err));
}

void sd_jobs_drain(sd_jobs *j, int64_t timeout_ms)
{
    size_t queued = 0, busy = 0;
    sd_pool_stats(j->pool, &queued, &busy);
    sd_info("draining: %zu running, %zu queued, up to %lld ms", busy, queued,
            (long long)timeout_ms);
    size_t stopped = sd_pool_drain(j->pool, timeout_ms, job_leftover, j);
    if (stopped > 0)
        sd_warn("drain: %zu running jobs stopped after drain_timeout", stopped);
}

void sd_jobs_free(sd_jobs *j)
{
    if (j == NULL)
        return;
    heartbeat_stop(j); /* before the pool it reads */
    sd_pool_free(j->pool);
    for (size_t i = 0; i < j->nkinds; i++)
        sd_handler_free(j->kinds[i].handler);
    free(j);
}
