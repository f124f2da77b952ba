#ifndef STATUSD_METRICS_H
#define STATUSD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"
#include "statusd/util.h"

/*
 * Counters for GET /metrics, in the Prometheus text format: requests by
 * route and status, a request latency histogram by route, store errors
 * and rate-limited requests. Recording is a few relaxed atomic additions
 * and never takes a lock, so it costs nothing measurable on the hot path.
 * Knows nothing of HTTP; routes are named by the caller at set-up.
 */

typedef struct sd_metrics sd_metrics;

/* Counters for nroutes routes, in *out, route_names[i] naming route i
 * ("GET /status/:id"); requests that matched no route are counted under
 * "unmatched". SD_ERR_NOMEM with *out NULL on allocation failure. The
 * names must outlive the metrics. */
sd_err sd_metrics_new(const char *const *route_names, size_t nroutes, sd_metrics **out);
void sd_metrics_free(sd_metrics *m);

/* One answered request: route index (nroutes for unmatched), HTTP status,
 * time from the first byte to the answer in microseconds. */
void sd_metrics_request(sd_metrics *m, size_t route, unsigned status, int64_t micros);
void sd_metrics_store_error(sd_metrics *m);
/* One poll (GET /status/<id>) read from the store: pipelined (without
 * waiting, redis_async.c) or the waiting way (the memory store, and on
 * Redis what the pipelined read cannot answer: a renewal to write, a
 * record to repair, a connection not up). */
void sd_metrics_poll(sd_metrics *m, bool pipelined);
/* One more request answered 503 store-full. */
void sd_metrics_store_full(sd_metrics *m);
void sd_metrics_rate_limited(sd_metrics *m, const char *cls);

/* Appends the counters in the Prometheus text format (version 0.0.4). */
void sd_metrics_render(sd_metrics *m, sd_buf *out);

/*
 * Job counters and durations by kind, kept by the jobs' workers (and, for
 * runs the app carries, by its reports and their timeouts): how
 * each attempt ended, how long it ran and how long the job waited in the
 * queue before it. kinds[0..nkinds) name the kinds (they must outlive
 * the metrics); another kind is counted apart and not shown.
 * sd_job_metrics_new puts them in *out; SD_ERR_NOMEM with *out NULL on
 * allocation failure. Every recording function accepts a NULL m.
 */
typedef struct sd_job_metrics sd_job_metrics;

typedef enum sd_job_outcome {
    SD_JOB_COMPLETED,
    SD_JOB_FAILED,
    SD_JOB_CANCELED,
    SD_JOB_RETRIED,
    SD_JOB_LOST,
    SD_JOB_OUTCOMES
} sd_job_outcome;

sd_err sd_job_metrics_new(const char *const *kinds, size_t nkinds, sd_job_metrics **out);
void sd_job_metrics_free(sd_job_metrics *m);
void sd_job_metrics_outcome(sd_job_metrics *m, const char *kind, sd_job_outcome outcome);
void sd_job_metrics_run(sd_job_metrics *m, const char *kind, int64_t micros);
void sd_job_metrics_wait(sd_job_metrics *m, const char *kind, int64_t micros);
/* Appends statusd_jobs_total, statusd_job_run_seconds and
 * statusd_job_wait_seconds. */
void sd_job_metrics_render(sd_job_metrics *m, sd_buf *out);
/* Appends "<kind>":{"completed":n,"failed":n,...},... (the counts of
 * statusd_jobs_total as members of a JSON object). */
void sd_job_metrics_json(sd_job_metrics *m, sd_buf *out);

#endif
