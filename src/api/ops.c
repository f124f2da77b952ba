/*
 * What operators read and do: GET /stats (counts kept by the store in the
 * same steps as the changes they count, never scans), GET /metrics
 * (Prometheus text) and DELETE /admin/data (statusd's own keys only).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "statusd/app.h"
#include "statusd/log.h"

/* Namespaces counted by /stats; the API files own them. */
#define SESSION_NS "session"
#define CHAT_NS "chat"

typedef struct ops_counts {
    int64_t jobs[SD_JOB_STATUS_COUNT];
    int64_t sessions;
    int64_t conversations;
    sd_jobs_stats q;
} ops_counts;

/* The job queue's figures and the instance's own come together; the
 * store's counts stop at the first error, which is returned. */
static sd_err counts_read(sd_app *app, ops_counts *c)
{
    memset(c, 0, sizeof *c);
    sd_err err = sd_jobs_stats_get(app->jobs, &c->q);
    if (err == SD_OK)
        err = sd_jobs_count(app->jobs, c->jobs);
    if (err == SD_OK)
        err = sd_store_count(app->store, SESSION_NS, &c->sessions);
    if (err == SD_OK)
        err = sd_store_count(app->store, CHAT_NS, &c->conversations);
    return err;
}

static int64_t uptime_s(const sd_app *app)
{
    return (sd_mono_ms() - app->started_mono_ms) / 1000;
}

void api_stats_get(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    ops_counts c;
    sd_err err = counts_read(app, &c);
    if (err != SD_OK) {
        sd_resp_problem(r, err == SD_ERR_UNAVAILABLE ? err : SD_ERR_INTERNAL,
                        "the store could not count: %s", sd_err_name(err));
        return;
    }
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"jobs\":{");
    for (size_t i = 0; i < SD_JOB_STATUS_COUNT; i++)
        sd_buf_printf(&b, "%s\"%s\":%" PRId64, i ? "," : "", sd_job_statuses[i], c.jobs[i]);
    sd_buf_printf(&b,
                  "},\"sessions\":%" PRId64 ",\"conversations\":%" PRId64
                  ",\"queue\":{\"depth\":%" PRId64 ",\"capacity\":%" PRId64
                  ",\"ready\":%" PRId64 ",\"delayed\":%" PRId64 ",\"leased\":%" PRId64 "}"
                  ",\"workers\":{\"total\":%zu,\"busy\":%zu}"
                  ",\"recovery\":{\"retries\":%" PRIu64 ",\"requeued\":%" PRIu64
                  ",\"worker_lost\":%" PRIu64 ",\"handed_back\":%" PRIu64 "}"
                  ",\"instances\":%" PRId64 ",\"uptime_s\":%" PRId64 ",",
                  c.sessions, c.conversations, c.q.ready + c.q.delayed,
                  app->cfg->queue_capacity, c.q.ready, c.q.delayed, c.q.leased,
                  c.q.workers, c.q.busy, c.q.retries, c.q.recovered, c.q.lost,
                  c.q.returned, c.q.instances, uptime_s(app));
    sd_buf_puts(&b, "\"outcomes\":{");
    sd_jobs_outcomes_json(app->jobs, &b);
    sd_buf_puts(&b, "},\"store\":{");
    api_store_bytes_json(app->store, &b);
    sd_buf_puts(&b, "}}");
    sd_resp_header(r, "Cache-Control", "no-store");
    sd_resp_json(r, 200, &b);
}

void api_metrics_get(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    ops_counts c;
    sd_err err = counts_read(app, &c);
    sd_buf b = SD_BUF_INIT;
    if (app->metrics != NULL)
        sd_metrics_render(app->metrics, &b);
    sd_jobs_metrics_render(app->jobs, &b);
    sd_buf_printf(&b, "# HELP statusd_build_info The version of statusd, as a label.\n"
                      "# TYPE statusd_build_info gauge\n"
                      "statusd_build_info{version=\"%s\"} 1\n"
                      "# HELP process_start_time_seconds Start time of the process since "
                      "the Unix epoch in seconds.\n"
                      "# TYPE process_start_time_seconds gauge\n"
                      "process_start_time_seconds %.3f\n",
                  STATUSD_VERSION, (double)app->started_epoch_ms / 1000.0);
    /* Gauges from the store are left out while it cannot answer; the
     * request counters above still are scraped. */
    if (err == SD_OK) {
        sd_buf_puts(&b, "# HELP statusd_jobs Live jobs by status, all instances.\n"
                        "# TYPE statusd_jobs gauge\n");
        for (size_t i = 0; i < SD_JOB_STATUS_COUNT; i++)
            sd_buf_printf(&b, "statusd_jobs{status=\"%s\"} %" PRId64 "\n",
                          sd_job_statuses[i], c.jobs[i]);
        sd_buf_printf(&b,
                      "# HELP statusd_sessions Live sessions, all instances.\n"
                      "# TYPE statusd_sessions gauge\nstatusd_sessions %" PRId64 "\n"
                      "# HELP statusd_conversations Live conversations, all instances.\n"
                      "# TYPE statusd_conversations gauge\nstatusd_conversations %" PRId64 "\n"
                      "# HELP statusd_queue_depth Jobs waiting in the job queue, all instances.\n"
                      "# TYPE statusd_queue_depth gauge\nstatusd_queue_depth %" PRId64 "\n"
                      "# HELP statusd_queue_jobs Jobs in the job queue by state, all instances.\n"
                      "# TYPE statusd_queue_jobs gauge\n"
                      "statusd_queue_jobs{state=\"ready\"} %" PRId64 "\n"
                      "statusd_queue_jobs{state=\"delayed\"} %" PRId64 "\n"
                      "statusd_queue_jobs{state=\"leased\"} %" PRId64 "\n",
                      c.sessions, c.conversations, c.q.ready + c.q.delayed, c.q.ready,
                      c.q.delayed, c.q.leased);
    }
    sd_buf_printf(&b,
                  "# HELP statusd_workers_busy Workers of this instance running a job.\n"
                  "# TYPE statusd_workers_busy gauge\nstatusd_workers_busy %zu\n"
                  "# HELP statusd_workers Workers of this instance.\n"
                  "# TYPE statusd_workers gauge\nstatusd_workers %zu\n"
                  "# HELP statusd_job_retries_total Failed runs this instance queued again "
                  "for another attempt.\n"
                  "# TYPE statusd_job_retries_total counter\n"
                  "statusd_job_retries_total %" PRIu64 "\n"
                  "# HELP statusd_job_leases_expired_total Jobs whose worker's lease ran out, "
                  "settled by this instance, by outcome.\n"
                  "# TYPE statusd_job_leases_expired_total counter\n"
                  "statusd_job_leases_expired_total{outcome=\"requeued\"} %" PRIu64 "\n"
                  "statusd_job_leases_expired_total{outcome=\"worker_lost\"} %" PRIu64 "\n"
                  "# HELP statusd_job_handed_back_total Jobs this instance put back on the "
                  "queue when it stopped.\n"
                  "# TYPE statusd_job_handed_back_total counter\n"
                  "statusd_job_handed_back_total %" PRIu64 "\n"
                  "# HELP statusd_store_up 1 when the store answered this scrape's counts.\n"
                  "# TYPE statusd_store_up gauge\nstatusd_store_up %d\n"
                  "# HELP statusd_uptime_seconds Seconds since this instance started.\n"
                  "# TYPE statusd_uptime_seconds gauge\nstatusd_uptime_seconds %" PRId64 "\n",
                  c.q.busy, c.q.workers, c.q.retries, c.q.recovered, c.q.lost, c.q.returned,
                  err == SD_OK, uptime_s(app));
    sd_store_info info;
    sd_store_info_get(app->store, &info);
    if (info.bytes_held >= 0)
        sd_buf_printf(&b,
                      "# HELP statusd_store_bytes Bytes the memory store holds, as it counts "
                      "them.\n"
                      "# TYPE statusd_store_bytes gauge\nstatusd_store_bytes %" PRId64 "\n"
                      "# HELP statusd_store_max_bytes memory_max_bytes, the cap of "
                      "statusd_store_bytes; 0 = none.\n"
                      "# TYPE statusd_store_max_bytes gauge\nstatusd_store_max_bytes %" PRId64
                      "\n",
                      info.bytes_held, info.bytes_max);
    sd_resp_header(r, "Cache-Control", "no-store");
    sd_resp_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

void api_admin_data_delete(sd_req *r)
{
    const char *confirm;
    if (!sd_req_query(r, "confirm", &confirm))
        return;
    if (confirm == NULL || strcmp(confirm, "true") != 0) {
        sd_resp_problem(r, SD_ERR_INVALID,
                        "this deletes every job, session and conversation; "
                        "add ?confirm=true to do it");
        return;
    }
    int64_t deleted = 0;
    sd_err err = sd_store_clear(sd_req_app(r)->store, &deleted);
    if (err != SD_OK) {
        sd_resp_problem(r, err == SD_ERR_UNAVAILABLE ? err : SD_ERR_INTERNAL,
                        "the store could not be cleared: %s", sd_err_name(err));
        return;
    }
    /* the instances' heartbeat records went too: this one's is back at
     * once, the others' at their next beat */
    sd_jobs_announce(sd_req_app(r)->jobs);
    sd_warn("admin: deleted %" PRId64 " records at the request of %s", deleted,
            sd_req_client(r));
    sd_buf b = SD_BUF_INIT;
    sd_buf_printf(&b, "{\"deleted\":%" PRId64 "}", deleted);
    sd_resp_json(r, 200, &b);
}
