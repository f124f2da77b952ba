/*
 * GET /status/<id>/events: the job as server-sent events. First the
 * current view, then one event per change, each
 *
 *     event: status
 *     id: <the view's ETag>
 *     data: <the view, JSON on one line>
 *
 * a comment line every HEARTBEAT_MS of silence (proxies and browsers
 * keep the stream open), and the end of the stream after the event of a
 * terminal state, when the job expires or is deleted, or at a drain. A
 * Last-Event-ID equal to the current tag skips the first event (a
 * browser reconnecting). The stream is a streamed body whose reader runs
 * only when there is something to send: between events the request is
 * held (api/watch.h) and costs no HTTP thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/etag.h"
#include "api/watch.h"
#include "statusd/app.h"
#include "statusd/jobs.h"
#include "statusd/log.h"

#define HEARTBEAT_MS 15000
#define RETRY_MS 1000   /* a store that failed a read is read again after */

typedef struct job_stream {
    watch_waiter wt;
    sd_app *app;
    char id[SD_UUID_LEN + 1];
    char last[API_ETAG_LEN];    /* the tag of the last event sent */
    sd_buf out;                 /* what is to be sent, from off */
    size_t off;
    bool ending;                /* the stream ends once out is sent */
    int64_t beat_ms;            /* monotonic: a heartbeat is due then */
} job_stream;

static void stream_end(void *arg)
{
    job_stream *s = arg;
    sd_watch_cancel(s->app->watch, &s->wt);
    sd_watch_leave(s->app->watch);
    sd_buf_free(&s->out);
    free(s);
}

/* Appends the event of view v (JSON text without newlines). */
static void put_event(job_stream *s, const sd_job_view *v, const char *etag)
{
    sd_buf_puts(&s->out, "event: status\nid: ");
    sd_buf_puts(&s->out, etag);
    sd_buf_puts(&s->out, "\ndata: ");
    sd_buf_append(&s->out, v->json.data, v->json.len);
    sd_buf_puts(&s->out, "\n\n");
    snprintf(s->last, sizeof s->last, "%s", etag);
    if (v->terminal)
        s->ending = true;
}

/* Reads the job and queues what changed; holds the request when there is
 * nothing to send. Returns what stream_read returns. */
static long stream_fill(job_stream *s)
{
    for (;;) {
        watch_why why = s->wt.why;
        s->wt.why = WATCH_NONE;
        if (why == WATCH_DRAIN)
            return -1;
        uint64_t seq = sd_watch_seq(s->app->watch, &s->wt);
        sd_job_view v = SD_JOB_VIEW_INIT;
        sd_err err = sd_jobs_get(s->app->jobs, s->id, &v);
        int64_t now = sd_mono_ms();
        int64_t due = s->beat_ms;
        if (err == SD_ERR_NOT_FOUND) {
            sd_job_view_clear(&v);
            return -1;
        } else if (err != SD_OK) {
            /* the store is down: nothing to say but the heartbeat */
            if (now + RETRY_MS < due)
                due = now + RETRY_MS;
        } else {
            char etag[API_ETAG_LEN];
            api_etag_text(v.etag, etag);
            if (strcmp(etag, s->last) != 0)
                put_event(s, &v, etag);
            if (v.expires_ms > 0) {
                int64_t left = v.expires_ms - sd_now_ms() + 5;
                if (now + left < due)
                    due = now + (left > 0 ? left : 0);
            }
        }
        sd_job_view_clear(&v);
        if (s->out.len == 0 && now >= s->beat_ms)
            sd_buf_puts(&s->out, ": heartbeat\n\n");
        if (!sd_buf_ok(&s->out))
            return -1;
        if (s->out.len > 0) {
            s->beat_ms = now + HEARTBEAT_MS;
            return 1;
        }
        s->wt.due_ms = due;
        err = sd_watch_hold(s->app->watch, &s->wt, seq, NULL, NULL);
        if (err == SD_OK)
            return 0;
        if (err != SD_ERR_CONFLICT)
            return -1;
    }
}

static long stream_read(void *arg, char *buf, size_t max)
{
    job_stream *s = arg;
    if (s->off == s->out.len) {
        s->off = 0;
        s->out.len = 0;
        if (s->ending)
            return -1;
        long got = stream_fill(s);
        if (got <= 0)
            return got;
    }
    size_t n = s->out.len - s->off;
    if (n > max)
        n = max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    return (long)n;
}

void api_status_events(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!api_job_id_param(r, id))
        return;
    sd_app *app = sd_req_app(r);
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get(app->jobs, id, &v);
    if (err != SD_OK) {
        sd_job_view_clear(&v);
        api_job_error(r, err, id);
        return;
    }
    err = sd_watch_admit(app->watch);
    if (err != SD_OK) {
        sd_job_view_clear(&v);
        sd_resp_problem(r, err, "%lld requests are held already (max_waiters); poll "
                        "GET /status/%s instead", (long long)app->cfg->max_waiters, id);
        return;
    }
    job_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        sd_watch_leave(app->watch);
        sd_job_view_clear(&v);
        api_job_error(r, SD_ERR_NOMEM, id);
        return;
    }
    s->app = app;
    snprintf(s->id, sizeof s->id, "%s", id);
    sd_watch_key(&s->wt, r, SD_JOBS_NS, id);
    s->beat_ms = sd_mono_ms() + HEARTBEAT_MS;
    sd_req_on_end(r, stream_end, s);

    char etag[API_ETAG_LEN];
    api_etag_text(v.etag, etag);
    const char *last = sd_req_header(r, "Last-Event-ID");
    if (last != NULL && strcmp(last, etag) == 0) {
        snprintf(s->last, sizeof s->last, "%s", etag);
        s->ending = v.terminal;
    } else {
        put_event(s, &v, etag);
    }
    sd_job_view_clear(&v);
    sd_resp_header(r, "Cache-Control", "no-cache");
    sd_resp_header(r, "X-Accel-Buffering", "no");
    sd_resp_stream(r, "text/event-stream", stream_read, s);
}
