/*
 * Request counters and latency histograms. Each route has a fixed row of
 * counters: one per status code statusd answers with, plus "other", and
 * one per latency bucket. Rows are written with relaxed atomics from any
 * HTTP thread; /metrics reads them without stopping anyone. A request
 * finishing during a scrape may be seen in a bucket but not yet in the
 * count, so the scrape raises the count to the buckets' total: +Inf
 * never falls below a finite bucket, which Prometheus would reject.
 */
#include "statusd/metrics.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {200, 201, 202, 204, 304, 308, 400, 401, 403, 404,
                                    405, 409, 413, 415, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t http_bounds_us[] = {250, 500, 1000, 2500, 5000, 10000, 25000,
                                         50000, 100000, 250000, 500000, 1000000};
/* Of the job run and wait buckets: 10 ms to an hour. */
static const int64_t job_bounds_us[] = {10000, 50000, 100000, 500000, 1000000,
                                        2500000, 5000000, 10000000, 30000000,
                                        60000000, 300000000, 900000000, 3600000000};
#define NBUCKET_MAX 13

/* A histogram of durations: bounds[0..nbounds) in microseconds. */
typedef struct hist {
    atomic_uint_fast64_t buckets[NBUCKET_MAX];    /* not cumulative */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
} hist;

typedef struct route_row {
    atomic_uint_fast64_t by_status[NSTATUS + 1];  /* last: any other status */
    hist latency;
} route_row;

static const char *const job_outcomes[SD_JOB_OUTCOMES] = {
    "completed", "failed", "canceled", "retried", "lost"};

typedef struct kind_row {
    atomic_uint_fast64_t outcomes[SD_JOB_OUTCOMES];
    hist run;
    hist wait;
} kind_row;

static const char *const limit_classes[] = {"chat", "create", "submit"};
#define NCLASS (sizeof limit_classes / sizeof limit_classes[0])

struct sd_metrics {
    const char *const *names;
    size_t nroutes;
    route_row *rows;                   /* nroutes + 1 (unmatched) */
    atomic_uint_fast64_t store_errors;
    atomic_uint_fast64_t store_full;
    atomic_uint_fast64_t polls[2];     /* waiting, pipelined */
    atomic_uint_fast64_t limited[NCLASS + 1];
};

struct sd_job_metrics {
    const char *const *kinds;
    size_t nkinds;
    kind_row *rows;
};

sd_err sd_metrics_new(const char *const *route_names, size_t nroutes, sd_metrics **out)
{
    *out = NULL;
    sd_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SD_ERR_NOMEM;
    m->rows = calloc(nroutes + 1, sizeof *m->rows);
    if (m->rows == NULL) {
        free(m);
        return SD_ERR_NOMEM;
    }
    m->names = route_names;
    m->nroutes = nroutes;
    *out = m;
    return SD_OK;
}

void sd_metrics_free(sd_metrics *m)
{
    if (m == NULL)
        return;
    free(m->rows);
    free(m);
}

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void hist_observe(hist *h, const int64_t *bounds, size_t nbounds, int64_t micros)
{
    if (micros < 0)
        micros = 0;
    size_t b = 0;
    while (b < nbounds && micros > bounds[b])
        b++;
    if (b < nbounds)
        add(&h->buckets[b], 1);
    add(&h->count, 1);
    add(&h->sum_us, (uint64_t)micros);
}

/* Appends the samples of h as name{labels,le="..."}; nothing when empty. */
static void hist_render(hist *h, const int64_t *bounds, size_t nbounds, const char *name,
                        const char *labels, sd_buf *out)
{
    uint64_t buckets[NBUCKET_MAX], total = 0;
    for (size_t b = 0; b < nbounds; b++) {
        buckets[b] = get(&h->buckets[b]);
        total += buckets[b];
    }
    uint64_t count = get(&h->count);
    if (count < total)
        count = total;
    if (count == 0)
        return;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < nbounds; b++) {
        cumulative += buckets[b];
        sd_buf_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
                      (double)bounds[b] / 1e6, (unsigned long long)cumulative);
    }
    sd_buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
                  (unsigned long long)count);
    sd_buf_printf(out, "%s_sum{%s} %.6f\n", name, labels, (double)get(&h->sum_us) / 1e6);
    sd_buf_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)count);
}

#define HTTP_NBOUNDS (sizeof http_bounds_us / sizeof http_bounds_us[0])
#define JOB_NBOUNDS (sizeof job_bounds_us / sizeof job_bounds_us[0])

void sd_metrics_request(sd_metrics *m, size_t route, unsigned status, int64_t micros)
{
    route_row *row = &m->rows[route < m->nroutes ? route : m->nroutes];
    size_t s = 0;
    while (s < NSTATUS && statuses[s] != status)
        s++;
    add(&row->by_status[s], 1);
    hist_observe(&row->latency, http_bounds_us, HTTP_NBOUNDS, micros);
}

void sd_metrics_store_error(sd_metrics *m) { add(&m->store_errors, 1); }
void sd_metrics_store_full(sd_metrics *m) { add(&m->store_full, 1); }
void sd_metrics_poll(sd_metrics *m, bool pipelined) { add(&m->polls[pipelined ? 1 : 0], 1); }

void sd_metrics_rate_limited(sd_metrics *m, const char *cls)
{
    size_t i = 0;
    while (i < NCLASS && strcmp(limit_classes[i], cls) != 0)
        i++;
    add(&m->limited[i], 1);
}

/* The labels of route i: method="get",route="/status/:id" (method in
 * lower case, as promhttp labels it); unmatched requests are method
 * "other", route "unmatched". */
static void route_labels(const sd_metrics *m, size_t i, char *out, size_t cap)
{
    if (i >= m->nroutes) {
        snprintf(out, cap, "method=\"other\",route=\"unmatched\"");
        return;
    }
    const char *name = m->names[i], *space = strchr(name, ' ');
    size_t mlen = space != NULL ? (size_t)(space - name) : 0;
    char method[16];
    if (mlen >= sizeof method)
        mlen = sizeof method - 1;
    for (size_t k = 0; k < mlen; k++)
        method[k] = (char)tolower((unsigned char)name[k]);
    method[mlen] = '\0';
    snprintf(out, cap, "method=\"%s\",route=\"%s\"", method,
             space != NULL ? space + 1 : name);
}

void sd_metrics_render(sd_metrics *m, sd_buf *out)
{
    char labels[320];
    sd_buf_puts(out, "# HELP statusd_http_requests_total HTTP requests answered, by method, "
                     "route and code.\n"
                     "# TYPE statusd_http_requests_total counter\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        route_labels(m, i, labels, sizeof labels);
        for (size_t s = 0; s <= NSTATUS; s++) {
            uint64_t n = get(&m->rows[i].by_status[s]);
            if (n == 0)
                continue;
            if (s < NSTATUS)
                sd_buf_printf(out, "statusd_http_requests_total{%s,code=\"%u\"} %llu\n",
                              labels, statuses[s], (unsigned long long)n);
            else
                sd_buf_printf(out, "statusd_http_requests_total{%s,code=\"other\"} %llu\n",
                              labels, (unsigned long long)n);
        }
    }
    sd_buf_puts(out, "# HELP statusd_http_request_duration_seconds Time from a request's "
                     "arrival to its answer, by method and route.\n"
                     "# TYPE statusd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        route_labels(m, i, labels, sizeof labels);
        hist_render(&m->rows[i].latency, http_bounds_us, HTTP_NBOUNDS,
                    "statusd_http_request_duration_seconds", labels, out);
    }
    sd_buf_printf(out, "# HELP statusd_store_errors_total Requests answered 503 because the "
                       "store could not answer.\n"
                       "# TYPE statusd_store_errors_total counter\n"
                       "statusd_store_errors_total %llu\n",
                  (unsigned long long)get(&m->store_errors));
    sd_buf_printf(out, "# HELP statusd_store_full_total Requests answered 503 store-full: "
                       "the store held all it may.\n"
                       "# TYPE statusd_store_full_total counter\n"
                       "statusd_store_full_total %llu\n",
                  (unsigned long long)get(&m->store_full));
    sd_buf_printf(out, "# HELP statusd_store_polls_total Job polls read from the store, by "
                       "way: pipelined (without waiting) or waiting.\n"
                       "# TYPE statusd_store_polls_total counter\n"
                       "statusd_store_polls_total{way=\"pipelined\"} %llu\n"
                       "statusd_store_polls_total{way=\"waiting\"} %llu\n",
                  (unsigned long long)get(&m->polls[1]), (unsigned long long)get(&m->polls[0]));
    sd_buf_puts(out, "# HELP statusd_rate_limited_total Requests refused with 429, by limit.\n"
                     "# TYPE statusd_rate_limited_total counter\n");
    for (size_t i = 0; i < NCLASS; i++)
        sd_buf_printf(out, "statusd_rate_limited_total{limit=\"%s\"} %llu\n",
                      limit_classes[i], (unsigned long long)get(&m->limited[i]));
}

/* ---- jobs ---- */

sd_err sd_job_metrics_new(const char *const *kinds, size_t nkinds, sd_job_metrics **out)
{
    *out = NULL;
    sd_job_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SD_ERR_NOMEM;
    m->rows = calloc(nkinds + 1, sizeof *m->rows);
    if (m->rows == NULL) {
        free(m);
        return SD_ERR_NOMEM;
    }
    m->kinds = kinds;
    m->nkinds = nkinds;
    *out = m;
    return SD_OK;
}

void sd_job_metrics_free(sd_job_metrics *m)
{
    if (m == NULL)
        return;
    free(m->rows);
    free(m);
}

static kind_row *kind_row_of(sd_job_metrics *m, const char *kind)
{
    size_t i = 0;
    while (i < m->nkinds && (kind == NULL || strcmp(m->kinds[i], kind) != 0))
        i++;
    return &m->rows[i];
}

void sd_job_metrics_outcome(sd_job_metrics *m, const char *kind, sd_job_outcome outcome)
{
    if (m != NULL && (unsigned)outcome < SD_JOB_OUTCOMES)
        add(&kind_row_of(m, kind)->outcomes[outcome], 1);
}

void sd_job_metrics_run(sd_job_metrics *m, const char *kind, int64_t micros)
{
    if (m != NULL)
        hist_observe(&kind_row_of(m, kind)->run, job_bounds_us, JOB_NBOUNDS, micros);
}

void sd_job_metrics_wait(sd_job_metrics *m, const char *kind, int64_t micros)
{
    if (m != NULL)
        hist_observe(&kind_row_of(m, kind)->wait, job_bounds_us, JOB_NBOUNDS, micros);
}

void sd_job_metrics_render(sd_job_metrics *m, sd_buf *out)
{
    char labels[96];
    sd_buf_puts(out, "# HELP statusd_jobs_total Job runs this instance ended, by kind and "
                     "outcome (retried: an attempt failed and the job waits for another; "
                     "lost: a dead worker's job settled here).\n"
                     "# TYPE statusd_jobs_total counter\n");
    for (size_t i = 0; i < m->nkinds; i++)
        for (size_t o = 0; o < SD_JOB_OUTCOMES; o++)
            sd_buf_printf(out, "statusd_jobs_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
                          m->kinds[i], job_outcomes[o],
                          (unsigned long long)get(&m->rows[i].outcomes[o]));
    static const char *const names[2] = {"statusd_job_run_seconds",
                                         "statusd_job_wait_seconds"};
    static const char *const helps[2] = {
        "Time a worker of this instance ran a job's attempt, by kind.",
        "Time a job waited in the queue, from due to started, by kind."};
    for (size_t h = 0; h < 2; h++) {
        sd_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", names[h], helps[h],
                      names[h]);
        for (size_t i = 0; i < m->nkinds; i++) {
            snprintf(labels, sizeof labels, "kind=\"%s\"", m->kinds[i]);
            hist_render(h == 0 ? &m->rows[i].run : &m->rows[i].wait, job_bounds_us,
                        JOB_NBOUNDS, names[h], labels, out);
        }
    }
}

void sd_job_metrics_json(sd_job_metrics *m, sd_buf *out)
{
    for (size_t i = 0; i < m->nkinds; i++) {
        sd_buf_printf(out, "%s\"%s\":{", i ? "," : "", m->kinds[i]);
        for (size_t o = 0; o < SD_JOB_OUTCOMES; o++)
            sd_buf_printf(out, "%s\"%s\":%llu", o ? "," : "", job_outcomes[o],
                          (unsigned long long)get(&m->rows[i].outcomes[o]));
        sd_buf_puts(out, "}");
    }
}
