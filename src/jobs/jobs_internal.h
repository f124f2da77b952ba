#ifndef STATUSD_JOBS_INTERNAL_H
#define STATUSD_JOBS_INTERNAL_H

/*
 * Private to jobs.c (the API), worker.c (runs) and lease.c (heartbeat and
 * reaper): the jobs state and what the three share.
 *
 * A job is a hash record in the store's "job" namespace:
 *   kind, status, progress, stage, input, result, error, attempts,
 *   created_ms, updated_ms, heartbeat_ms, deadline_ms,
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

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "statusd/handler.h"
#include "statusd/jobs.h"
#include "statusd/pool.h"

#define JOB_NS SD_JOBS_NS
#define JOB_QUEUE "jobs"
#define HANDOFF_QUEUE "handoff"

/* A run token: 32 lower-case hex digits (128 random bits). */
#define JOB_TOKEN_LEN 32

/* How often running jobs' leases are renewed and expired ones reaped, at
 * most: often enough that a cancel from another instance stops a handler
 * within a second. */
#define JOB_BEAT_MAX_MS 1000

/* Idle polling of the shared queue: a few requests a second per idle
 * instance, a job submitted elsewhere starts within JOB_POLL_MAX_MS. */
#define JOB_POLL_MIN_MS 50
#define JOB_POLL_MAX_MS 250

typedef struct job_kind {
    const char *kind;
    sd_handler *handler;
} job_kind;

struct sd_jobs {
    sd_store *store;
    sd_pool *pool;
    job_kind kinds[2 + SD_KINDS_MAX];
    size_t nkinds;
    size_t workers;
    bool shared;                   /* other processes take from the queue */
    int64_t capacity;
    int64_t ttl_ms;
    int64_t max_age_ms;
    int64_t timeout_ms;
    int64_t lease_ms;
    int64_t max_attempts;
    int64_t backoff_ms;
    int64_t backoff_max_ms;
    char instance[SD_UUID_LEN + 1];   /* names this process in lease owners */
    atomic_bool draining;

    /* the filler's (one at a time, ordered by the pool's lock) */
    uint64_t take_seq;             /* numbers lease owners */
    bool take_lost;                /* the last take got no answer: resume */
    sd_queue_item *take_buf;       /* `workers` items */

    /* this instance's counts since start */
    atomic_uint_fast64_t retries;     /* failed runs queued again */
    atomic_uint_fast64_t recovered;   /* expired leases queued again */
    atomic_uint_fast64_t lost;        /* expired leases failed worker_lost */
    atomic_uint_fast64_t returned;    /* jobs handed back by a drain */

    /* the heartbeat thread (lease.c) */
    pthread_t beat;
    bool beat_started;
    pthread_mutex_t beat_lock;
    pthread_cond_t beat_wake;
    bool beat_stop;
    uint64_t reap_seq;
    uint64_t handoff_seq;
    sd_pool_item *beat_buf;        /* `workers` items */
};

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

/*
 * Runs a store step of a run until it gets an answer: while the store is
 * unavailable (Redis restarting) it tries again with a capped backoff, so
 * a job that got its 202 is never dropped by an outage; only a shutdown
 * (cancel at SD_RUN_SHUTDOWN, or NULL: one try) stops it. step(arg) does
 * the step and returns its error.
 */
sd_err job_persist(const atomic_int *cancel, sd_err (*step)(void *arg), void *arg,
                   const char *id);

/* worker.c: the pool's fill, run and leftover functions, and the drain of
 * a queue nobody else will run (the memory store's). */
size_t job_fill(void *arg, sd_pool_item *items, size_t max);
void job_run(void *arg, sd_pool_item *item, const atomic_int *cancel);
void job_leftover(void *arg, sd_pool_item *item);
void job_cancel_waiting(sd_jobs *j);

/* lease.c: the heartbeat thread, which renews the leases of running jobs
 * and reaps expired ones (every instance, workers or not). */
sd_err job_beat_start(sd_jobs *j);
void job_beat_stop(sd_jobs *j);

#endif
