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

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                                    405, 409, 413, 415, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t bounds_us[] = {250, 500, 1000, 2500, 5000, 10000, 25000,
                                    50000, 100000, 250000, 500000, 1000000};
#define NBUCKET (sizeof bounds_us / sizeof bounds_us[0])

typedef struct route_row {
    atomic_uint_fast64_t by_status[NSTATUS + 1];  /* last: any other status */
    atomic_uint_fast64_t buckets[NBUCKET];        /* not cumulative */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
} route_row;

static const char *const limit_classes[] = {"chat", "create", "submit"};
#define NCLASS (sizeof limit_classes / sizeof limit_classes[0])

struct sd_metrics {
    const char *const *names;
    size_t nroutes;
    route_row *rows;                   /* nroutes + 1 (unmatched) */
    atomic_uint_fast64_t store_errors;
    atomic_uint_fast64_t store_full;
    atomic_uint_fast64_t limited[NCLASS + 1];
};

sd_metrics *sd_metrics_new(const char *const *route_names, size_t nroutes)
{
    sd_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->rows = calloc(nroutes + 1, sizeof *m->rows);
    if (m->rows == NULL) {
        free(m);
        return NULL;
    }
    m->names = route_names;
    m->nroutes = nroutes;
    return m;
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

void sd_metrics_request(sd_metrics *m, size_t route, unsigned status, int64_t micros)
{
    route_row *row = &m->rows[route < m->nroutes ? route : m->nroutes];
    size_t s = 0;
    while (s < NSTATUS && statuses[s] != status)
        s++;
    add(&row->by_status[s], 1);
    if (micros < 0)
        micros = 0;
    size_t b = 0;
    while (b < NBUCKET && micros > bounds_us[b])
        b++;
    if (b < NBUCKET)
        add(&row->buckets[b], 1);
    add(&row->count, 1);
    add(&row->sum_us, (uint64_t)micros);
}

void sd_metrics_store_error(sd_metrics *m) { add(&m->store_errors, 1); }
void sd_metrics_store_full(sd_metrics *m) { add(&m->store_full, 1); }

void sd_metrics_rate_limited(sd_metrics *m, const char *cls)
{
    size_t i = 0;
    while (i < NCLASS && strcmp(limit_classes[i], cls) != 0)
        i++;
    add(&m->limited[i], 1);
}

static const char *route_name(const sd_metrics *m, size_t i)
{
    return i < m->nroutes ? m->names[i] : "unmatched";
}

void sd_metrics_render(sd_metrics *m, sd_buf *out)
{
    sd_buf_puts(out, "# HELP statusd_http_requests_total HTTP requests answered, by route and status.\n"
                     "# TYPE statusd_http_requests_total counter\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        for (size_t s = 0; s <= NSTATUS; s++) {
            uint64_t n = get(&m->rows[i].by_status[s]);
            if (n == 0)
                continue;
            if (s < NSTATUS)
                sd_buf_printf(out, "statusd_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                              route_name(m, i), statuses[s], (unsigned long long)n);
            else
                sd_buf_printf(out, "statusd_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                              route_name(m, i), (unsigned long long)n);
        }
    }
    sd_buf_puts(out, "# HELP statusd_http_request_duration_seconds Time from a request's "
                     "arrival to its answer, by route.\n"
                     "# TYPE statusd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        route_row *row = &m->rows[i];
        uint64_t buckets[NBUCKET], total = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            buckets[b] = get(&row->buckets[b]);
            total += buckets[b];
        }
        uint64_t count = get(&row->count);
        if (count < total)
            count = total;
        if (count == 0)
            continue;
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cumulative += buckets[b];
            sd_buf_printf(out, "statusd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                          route_name(m, i), (double)bounds_us[b] / 1e6,
                          (unsigned long long)cumulative);
        }
        sd_buf_printf(out, "statusd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                      route_name(m, i), (unsigned long long)count);
        sd_buf_printf(out, "statusd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                      route_name(m, i), (double)get(&row->sum_us) / 1e6);
        sd_buf_printf(out, "statusd_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                      route_name(m, i), (unsigned long long)count);
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
    sd_buf_puts(out, "# HELP statusd_rate_limited_total Requests refused with 429, by limit.\n"
                     "# TYPE statusd_rate_limited_total counter\n");
    for (size_t i = 0; i < NCLASS; i++)
        sd_buf_printf(out, "statusd_rate_limited_total{limit=\"%s\"} %llu\n",
                      limit_classes[i], (unsigned long long)get(&m->limited[i]));
}
