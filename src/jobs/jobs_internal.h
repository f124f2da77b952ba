#ifndef STATUSD_JOBS_INTERNAL_H
#define STATUSD_JOBS_INTERNAL_H

/*
 * Private to jobs.c (the API), worker.c (runs) and lease.c (heartbeat and
 * reaper): the jobs state. What they share about a job's record, and the
 * helpers all three call, are job_record.h's, below all three.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "statusd/handler.h"
#include "statusd/jobs.h"
#include "statusd/metrics.h"
#include "statusd/pool.h"
#include "statusd/ticker.h"
#include "job_record.h"
#include "progress.h"


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
    int64_t slack_ms;              /* a change's renewal left out within it */
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
    atomic_uint_fast64_t next_seq; /* numbers the owners of takes that end runs */

    /* the runs' coalesced progress (progress.h), read by the heartbeat */
    job_progress_table *progress;

    /* this instance's counts since start */
    sd_job_metrics *metrics;          /* by kind: outcomes, run and wait times */
    const char *kind_names[2 + SD_KINDS_MAX];
    atomic_uint_fast64_t retries;     /* failed runs queued again */
    atomic_uint_fast64_t recovered;   /* expired leases queued again */
    atomic_uint_fast64_t lost;        /* expired leases failed worker_lost */
    atomic_uint_fast64_t returned;    /* jobs handed back by a drain */

    /* the heartbeat thread (lease.c), NULL until started */
    sd_ticker *beat;
    uint64_t reap_seq;
    uint64_t handoff_seq;
    sd_pool_item *beat_buf;        /* `workers` items */
};

/* take.c: taking jobs from the queue, each started (queued ->
 * processing, attempts + 1, run = the take's lease owner) in the step
 * that takes it. */

/* What the pool item of a taken job carries (its data): the record as
 * the take left it. Freed with job_taken_free, which clears item->data. */
typedef struct job_taken {
    sd_record rec;
} job_taken;

void job_taken_free(sd_pool_item *item);

/* The pool's fill: a batch of jobs for the idle workers. */
size_t job_fill(void *arg, sd_pool_item *items, size_t max);

/* The job a run may take as it ends (sd_pool_run_fn's next): the pool's
 * room for its worker's next item (slot; NULL: take nothing), and that
 * take's lease owner, <instance>:n<seq>, one per take, so that a take
 * whose answer was lost gets back exactly what it took. */
typedef struct job_next {
    sd_jobs *j;
    sd_pool_item *slot;
    char owner[SD_QUEUE_OWNER_MAX];
    bool tried;            /* an ack_take ran: retries ack alone */
    bool lost;             /* it got no answer: what it took is resumed */
    bool taken;            /* *slot holds the next item */
} job_next;

/* The ack of a run's item (id, leased to owner, with its change rec) and
 * the take of one job into nx->slot, in one store step (ack_take);
 * returns the ack's result. Sets nx->tried, and nx->lost when the step
 * may have landed without its answer. */
sd_err job_ack_take(job_next *nx, const char *id, const char *owner, sd_queue_rec *rec);

/* After an ack_take that got no answer (nx->lost): takes back, with
 * resume, the job it may have taken, or another, retried through
 * job_persist while cancel allows. */
void job_next_resume(job_next *nx, const atomic_int *cancel);

/* worker.c: the pool's run and leftover functions, the drain of a queue
 * nobody else will run (the memory store's), and the give-back of a job
 * taken but not run to its end. */
bool job_run(void *arg, sd_pool_item *item, const atomic_int *cancel, sd_pool_item *next);
void job_leftover(void *arg, sd_pool_item *item);
void job_cancel_waiting(sd_jobs *j);

/* Hands a started job back to the queue, its attempt not counted, or,
 * when no other instance shares the queue, cancels it: the instance
 * stops. started: its handler ran. */
void job_give_back(sd_jobs *j, const char *id, const char *owner, bool started);

/* lease.c: the heartbeat thread, which renews the leases of running jobs
 * and reaps expired ones (every instance, workers or not). */
sd_err job_beat_start(sd_jobs *j);
void job_announce(sd_jobs *j);
void job_beat_stop(sd_jobs *j);

#endif
