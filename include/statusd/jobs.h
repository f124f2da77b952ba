#ifndef STATUSD_JOBS_H
#define STATUSD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/config.h"
#include "statusd/error.h"
#include "statusd/store.h"
#include "statusd/util.h"

/*
 * Jobs: the record of a job in the store, its state machine
 *   queued -> processing -> completed | failed | canceled
 * (queued -> canceled too; processing -> queued again for a retry), the
 * store's job queue, which every instance sharing the store takes from,
 * the worker pool that runs jobs, and the handler of each kind. Every
 * transition is one atomic store step, conditioned on the record's state,
 * so a cancel racing a completion has one winner, and a job whose
 * instance died is run again elsewhere (leases, reaped by every
 * instance), at most max_attempts times in all, never finished twice.
 * Knows nothing of HTTP: api/jobs.c turns requests into these calls.
 */

typedef struct sd_jobs sd_jobs;

/* A job as clients see it: the JSON view, a validator for ETag and whether
 * the job reached a terminal state. */
typedef struct sd_job_view {
    sd_buf json;
    uint64_t etag;       /* hash of the view without expires_at */
    bool terminal;
    char id[SD_UUID_LEN + 1];
    char status[16];
    int64_t expires_ms;  /* epoch ms the record expires at, 0 = never */
} sd_job_view;

#define SD_JOB_VIEW_INIT {SD_BUF_INIT, 0, false, "", "", 0}

/* The store namespace of job records, as the store's change notices
 * name it. */
#define SD_JOBS_NS "job"

void sd_job_view_clear(sd_job_view *v);

/* Builds the handlers of every kind from cfg and starts cfg->workers
 * workers. SD_ERR_INVALID with a reason in err for a bad handler spec. */
sd_err sd_jobs_new(const sd_config *cfg, sd_store *store, sd_jobs **out,
                   char *err, size_t errlen);

/* True when kind has a handler ("research", "upload", handler_<kind>). */
bool sd_jobs_has_kind(const sd_jobs *j, const char *kind);

/* A run token's length: 32 lower-case hex digits. */
#define SD_RUN_TOKEN_LEN 32

/* Creates a queued job of kind with input (JSON text of an object) and
 * queues it, in one store step. preset_id: the job's id (a UUID the
 * caller generated, e.g. to remember it under an idempotency key first),
 * or NULL for a new one. A kind whose handler is external is created
 * processing instead (attempts 1), never queued for a worker, and its
 * run's token goes to run_token (may be NULL; "" for other kinds); no
 * later view shows it. SD_ERR_EXISTS when a job with preset_id exists,
 * SD_ERR_QUEUE_FULL (queue_capacity jobs wait, all instances together),
 * SD_ERR_SHUTTING_DOWN, SD_ERR_UNAVAILABLE (store down, or no worker
 * could ever run it: workers = 0 on a store no other instance shares);
 * nothing is left behind on failure. */
sd_err sd_jobs_submit(sd_jobs *j, const char *kind, const char *input,
                      size_t input_len, const char *preset_id, sd_job_view *view,
                      char *run_token);

/* A report of the app on the run it carries (PATCH /status/<id>), its
 * values checked for form already (api/jobs.c). */
typedef struct sd_job_report {
    int progress;              /* 0..100, or -1: not reported */
    const char *stage;         /* NULL: not reported */
    const char *status;        /* NULL, "completed" or "failed" */
    const char *result;        /* completed: JSON text */
    size_t result_len;
    const char *error;         /* failed: {"code","message"} as JSON text */
    size_t error_len;
} sd_job_report;

/*
 * Applies a report to the job's current run in one store step, which
 * also renews the job's TTL and the run's heartbeat (what keeps a run
 * the app carries alive; see jobs_internal.h). token: the bearer token
 * given, checked against the run's (or NULL when the caller presented
 * the admin token). Errors: SD_ERR_NOT_FOUND; SD_ERR_UNAUTHORIZED (no
 * token of this job); SD_ERR_JOB_FINISHED (view = the job);
 * SD_ERR_STALE_RUN (a token of an earlier run, or of a run that ended
 * and waits for a retry); SD_ERR_INVALID with a reason in why (progress
 * lower than the job's); SD_ERR_CONFLICT when the job kept changing.
 */
sd_err sd_jobs_report(sd_jobs *j, const char *id, const char *token,
                      const sd_job_report *rep, sd_job_view *view, char *why,
                      size_t whylen);

/* Reads a job and renews its TTL (capped by job_max_age) in one store
 * step. SD_ERR_NOT_FOUND for an unknown or expired id. */
sd_err sd_jobs_get(sd_jobs *j, const char *id, sd_job_view *view);

/* sd_jobs_get without waiting for the store (sd_store_poll_start): true
 * when started, and p->done(p->arg) then runs once on a thread of the
 * store's; false when the caller must call sd_jobs_get itself. */
bool sd_jobs_get_start(sd_jobs *j, const char *id, sd_poll *p);
/* The answer of a poll that sd_jobs_get_start started, once its done ran
 * and p->retry is false: as sd_jobs_get's. Clears p->rec. */
sd_err sd_jobs_get_finish(const char *id, sd_poll *p, sd_job_view *view);
/* sd_jobs_get for a poll that sd_jobs_get_start started and that came
 * back with p->retry: without the reads p->read_done says were made. */
sd_err sd_jobs_get_again(sd_jobs *j, const char *id, const sd_poll *p, sd_job_view *view);

/* Cancels a queued or processing job: its status becomes canceled at once
 * and a running handler is stopped. SD_ERR_CONFLICT (view = the job) when
 * it already finished; SD_ERR_NOT_FOUND. */
sd_err sd_jobs_cancel(sd_jobs *j, const char *id, sd_job_view *view);

/* Puts a failed or canceled job back to queued, with its id, kind and
 * input, a fresh attempt budget (attempts 0) and no result, error,
 * stage or progress, in one store step with its queueing. A job queued
 * already is left as it is (SD_OK): a repeated retry changes nothing.
 * view gets the job. SD_ERR_CONFLICT with a reason in why for any other
 * state (processing, completed; a canceled run still stopping; a kind
 * whose runs the app carries itself); SD_ERR_NOT_FOUND;
 * SD_ERR_UNKNOWN_KIND (no handler for its kind here);
 * SD_ERR_QUEUE_FULL; SD_ERR_SHUTTING_DOWN; SD_ERR_UNAVAILABLE. */
sd_err sd_jobs_retry(sd_jobs *j, const char *id, sd_job_view *view, char *why,
                     size_t whylen);

/* A listing of jobs (GET /jobs). */
#define SD_JOBS_LIST_MAX 200
typedef struct sd_jobs_query {
    const char *status;     /* NULL: every status; else one of sd_job_statuses */
    const char *kind;       /* NULL: every kind */
    size_t limit;           /* 1..SD_JOBS_LIST_MAX */
    int64_t before;         /* 0: from the newest; else a next_cursor's key */
    bool full;              /* items with input and result */
} sd_jobs_query;

/*
 * Writes {"items": [job view, ...], "next_cursor": "<key>" | null} into
 * out: the jobs matching q, newest first (by creation), each the job's
 * view without input and result unless q->full. Reads the status index's
 * ordered sets (store.h, scan_by): with a status, that status's only;
 * with a kind, jobs of other kinds of the same statuses are read and
 * skipped, at most SD_JOBS_LIST_EXAMINE per page (a page may then come
 * short, with a next_cursor). A job that changes status while a client
 * pages may be left out of that listing; none is listed twice.
 */
#define SD_JOBS_LIST_EXAMINE 2000
sd_err sd_jobs_list(sd_jobs *j, const sd_jobs_query *q, sd_buf *out);

/* The job queue (all instances sharing the store) and this instance's
 * workers and counts since it started. */
typedef struct sd_jobs_stats {
    int64_t ready;          /* queued jobs due to run now */
    int64_t delayed;        /* queued jobs waiting for a retry's time */
    int64_t leased;         /* jobs taken by a worker (all instances) */
    size_t workers;         /* this instance's */
    size_t busy;            /* this instance's workers running a job */
    uint64_t retries;       /* failed runs queued again for another attempt */
    uint64_t recovered;     /* jobs of a dead worker queued again */
    uint64_t lost;          /* jobs of a dead worker failed with worker_lost */
    uint64_t returned;      /* jobs handed back to the queue by a drain */
    int64_t instances;      /* instances alive: heartbeat within job_lease */
} sd_jobs_stats;

/* Fills *out. The queue figures and instances come from the store: on its
 * error they are 0 and the error is returned; the rest is filled
 * whatever. */
sd_err sd_jobs_stats_get(sd_jobs *j, sd_jobs_stats *out);

/* The job statuses, in life order, and how many live jobs are in each
 * (all instances sharing the store), from the store's status index. */
#define SD_JOB_STATUS_COUNT 5
extern const char *const sd_job_statuses[SD_JOB_STATUS_COUNT];
sd_err sd_jobs_count(sd_jobs *j, int64_t counts[SD_JOB_STATUS_COUNT]);

/* Appends this instance's job metrics by kind (statusd/metrics.h) in the
 * Prometheus text format. */
void sd_jobs_metrics_render(sd_jobs *j, sd_buf *out);
/* Writes this instance's heartbeat record again at once (after
 * sd_store_clear removed it), rather than at the next beat. */
void sd_jobs_announce(sd_jobs *j);

/* Appends the members {"<kind>":{"<outcome>":n,...},...} of a JSON
 * object (without its braces): this instance's ended attempts by kind
 * and outcome since it started. */
void sd_jobs_outcomes_json(sd_jobs *j, sd_buf *out);

/* Stops taking jobs, lets running ones finish for up to timeout_ms, then
 * stops them. On a shared store (Redis) every unfinished job goes back to
 * the queue for other instances, its attempt not counted; on the memory
 * store unfinished and queued jobs end canceled with error code
 * "shutdown" (nobody else could run them). */
void sd_jobs_drain(sd_jobs *j, int64_t timeout_ms);

void sd_jobs_free(sd_jobs *j);

#endif
