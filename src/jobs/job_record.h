#ifndef STATUSD_JOB_RECORD_H
#define STATUSD_JOB_RECORD_H

/*
 * A job's record and the helpers that the jobs API (jobs.c), the runs
 * (worker.c) and the heartbeat (lease.c) share; private to src/jobs.
 *
 * A job is a hash record in the store's "job" namespace:
 *   kind, status, progress, stage, input, result, error, attempts,
 *   created_ms, updated_ms, heartbeat_ms, deadline_ms,
 *   due_ms        when the job last became due to run (queued, or the time
 *                 of a retry): what statusd_job_wait_seconds measures from
 *   run           the lease owner of the run in progress (processing only)
 *   retry_ms      when a retry may start (queued again after a failure)
 *   completions   completed finishes of the job: 1 once completed
 *   token         the run token of the latest run of a kind whose handler
 *                 asks for one (http, external): it authorises the app's
 *                 reports (PATCH /status/<id>, report.c)
 *   old_tokens    the tokens of the job's earlier runs, space-separated,
 *                 so that a late report of one is told apart (stale-run)
 * and an item (its id) in the store's "jobs" queue from its submit until
 * its last run ends.
 *
 * Runs the app carries on by itself (external jobs from their submit, an
 * http handler's run the app answered 202) are not leased to a worker:
 * the job's id waits in the "handoff" queue, due when job_timeout would
 * pass, and the app's reports move heartbeat_ms. The heartbeat thread
 * takes due items and fails the job with "timeout" when heartbeat_ms is
 * older than job_timeout, else puts the item back, due then (lease.c).
 * The app's reports thus never touch a queue, and any instance serves
 * them and any instance times the job out. input, result and error hold JSON text, validated
 * before it is stored, so the view is assembled by concatenation.
 *
 * Every transition is one store step that changes the queue and the
 * record together (the record changes of statusd/store.h's queues), and
 * every change a run makes is conditioned on the record's run field being
 * that run's owner: a run that lost its lease (its instance was presumed
 * dead and the job went back to the queue), or whose job was canceled
 * (the cancel clears run), can change nothing any more.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "statusd/handler.h"
#include "statusd/jobs.h"
#include "statusd/util.h"

#define JOB_NS SD_JOBS_NS
/* One record per live instance, id its instance name, renewed by its
 * heartbeat with a TTL of job_lease: fields beat_ms, workers. */
#define INSTANCE_NS "instance"
#define JOB_QUEUE "jobs"
#define HANDOFF_QUEUE "handoff"

/* A run token: 32 lower-case hex digits (128 random bits). */
#define JOB_TOKEN_LEN 32

/* The fields of a job's record (see above; deadline_ms is the store's
 * SD_FIELD_DEADLINE). */
#define JOB_F_KIND "kind"
#define JOB_F_STATUS "status"
#define JOB_F_PROGRESS "progress"
#define JOB_F_STAGE "stage"
#define JOB_F_INPUT "input"
#define JOB_F_RESULT "result"
#define JOB_F_ERROR "error"
#define JOB_F_ATTEMPTS "attempts"
#define JOB_F_CREATED_MS "created_ms"
#define JOB_F_UPDATED_MS "updated_ms"
#define JOB_F_HEARTBEAT_MS "heartbeat_ms"
#define JOB_F_DUE_MS "due_ms"
#define JOB_F_RUN "run"
#define JOB_F_RETRY_MS "retry_ms"
#define JOB_F_COMPLETIONS "completions"
#define JOB_F_TOKEN "token"
#define JOB_F_OLD_TOKENS "old_tokens"

/* An assignment of the NUL-terminated value to name. */
static inline sd_assign job_set_text(const char *name, const char *value)
{
    return (sd_assign){.name = name, .op = SD_ASSIGN_SET, .value = value,
                       .len = strlen(value)};
}

/* The handler of kind, or NULL. */
sd_handler *job_handler_for(const sd_jobs *j, const char *kind);

/* A new run token into out. SD_ERR_INTERNAL when the system has no
 * randomness to give. */
sd_err job_token_new(char out[JOB_TOKEN_LEN + 1]);

/* Queues the check of a run the app carries on by itself: id in the
 * handoff queue, due after job_timeout. SD_OK also when it is there. */
sd_err job_handoff_queue(sd_jobs *j, const char *id);

/* Decimal text of v into buf (24 bytes); returns buf. */
const char *job_i64(char buf[24], int64_t v);

/* {"code": code, "message": message} into b (reset first). SD_ERR_NOMEM. */
sd_err job_error_json(sd_buf *b, const char *code, const char *message);

/* A line of the job's lifecycle at info: the message "job <event>" and
 * what fmt adds (may be NULL), with the fields job_id, kind (may be
 * NULL), attempt (0: none) and outcome (the event; none for queued and
 * started, which end nothing). */
void job_log(const char *event, const char *id, const char *kind, int64_t attempt,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Whether rec shows the change u made: it holds every value u sets and
 * none of the fields u deletes, the last assignment of a field counting
 * (increments and set-if-absent are not looked at: what they leave
 * depends on the record before). A step whose answer was lost is known
 * by this to have landed, its change carrying the times of that step. */
bool job_record_shows(const sd_record *rec, const sd_update *u);

/*
 * Runs a store step of a run until it gets an answer: while the store is
 * unavailable (Redis restarting) it tries again with a capped backoff, so
 * a job that got its 202 is never dropped by an outage; only a shutdown
 * (cancel at SD_RUN_SHUTDOWN, or NULL: one try) stops it. step(arg) does
 * the step and returns its error.
 */
sd_err job_persist(const atomic_int *cancel, sd_err (*step)(void *arg), void *arg,
                   const char *id);

#endif
