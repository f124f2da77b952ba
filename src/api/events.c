/*
 * Server-sent events of a resource (held.h): GET /status/<id>/events and
 * GET /upload-status/events. First the current view, then one event per
 * change, each
 *
 *     event: status
 *     id: <the view's ETag>
 *     data: <the view, JSON on one line>
 *
 * a comment line every HEARTBEAT_MS of silence (proxies and browsers
 * keep the stream open), and the end of the stream after the event of a
 * terminal view, when the resource expires or is deleted, or at a
 * drain. A Last-Event-ID equal to the current tag skips the first event
 * (a browser reconnecting). The stream is a streamed body whose reader
 * runs only when there is something to send: between events the request
 * is held (api/watch.h) and costs no HTTP thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/held.h"
#include "api/watch.h"
#include "statusd/app.h"
#include "statusd/log.h"
#include "statusd/uploads.h"

#define HEARTBEAT_MS 15000
#define RETRY_MS 1000   /* a store that failed a read is read again after */

typedef struct held_stream {
    held_keys keys;
    const held_source *src;
    sd_app *app;
    char id[SD_UPLOAD_RUN_KEY_LEN];
    char last[API_ETAG_LEN];    /* the tag of the last event sent */
    sd_buf out;                 /* what is to be sent, from off */
    size_t off;
    bool ending;                /* the stream ends once out is sent */
    int64_t beat_ms;            /* monotonic: a heartbeat is due then */
} held_stream;

static void stream_end(void *arg)
{
    held_stream *s = arg;
    sd_watch_cancel(s->app->watch, &s->keys.wts[0]);
    sd_watch_leave(s->app->watch);
    held_keys_free(&s->keys);
    sd_buf_free(&s->out);
    free(s);
}

/* Appends the event of view v (JSON text without newlines). */
static void put_event(held_stream *s, const held_view *v)
{
    sd_buf_puts(&s->out, "event: status\nid: ");
    sd_buf_puts(&s->out, v->etag);
    sd_buf_puts(&s->out, "\ndata: ");
    sd_buf_append(&s->out, v->json.data, v->json.len);
    sd_buf_puts(&s->out, "\n\n");
    snprintf(s->last, sizeof s->last, "%s", v->etag);
    if (v->terminal)
        s->ending = true;
}

/* Reads the resource and queues what changed; holds the request when
 * there is nothing to send. Returns what stream_read returns. */
static long stream_fill(held_stream *s)
{
    for (;;) {
        watch_why why = s->keys.wts[0].why;
        s->keys.wts[0].why = WATCH_NONE;
        if (why == WATCH_DRAIN)
            return -1;
        held_keys_count(&s->keys, s->app->watch);
        held_view v = {.json = SD_BUF_INIT};
        sd_err err = s->src->read(s->app, s->id, &v);
        int64_t now = sd_mono_ms();
        int64_t due = s->beat_ms;
        bool moved = false;
        if (err == SD_ERR_NOT_FOUND) {
            held_view_clear(&v);
            return -1;
        } else if (err != SD_OK) {
            /* the store is down: nothing to say but the heartbeat */
            if (now + RETRY_MS < due)
                due = now + RETRY_MS;
        } else {
            if (strcmp(v.etag, s->last) != 0)
                put_event(s, &v);
            due = held_due(&v, due);
            moved = held_keys_follow(&s->keys, &v, &err);
        }
        held_view_clear(&v);
        if (s->out.len == 0 && now >= s->beat_ms)
            sd_buf_puts(&s->out, ": heartbeat\n\n");
        if (!sd_buf_ok(&s->out) || err == SD_ERR_NOMEM)
            return -1;
        if (s->out.len > 0) {
            s->beat_ms = now + HEARTBEAT_MS;
            return 1;
        }
        if (moved)
            continue;
        s->keys.wts[0].due_ms = due;
        err = sd_watch_hold_group(s->app->watch, s->keys.wts, s->keys.n, s->keys.seqs,
                                  NULL, NULL);
        if (err == SD_OK)
            return 0;
        if (err != SD_ERR_CONFLICT)
            return -1;
    }
}

static long stream_read(void *arg, char *buf, size_t max)
{
    held_stream *s = arg;
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

void api_hold_events(sd_req *r, const held_source *src, const char *id)
{
    sd_app *app = sd_req_app(r);
    held_view v = {.json = SD_BUF_INIT};
    sd_err err = src->read(app, id, &v);
    if (err != SD_OK) {
        held_view_clear(&v);
        src->error(r, err, id);
        return;
    }
    err = sd_watch_admit(app->watch);
    if (err != SD_OK) {
        held_view_clear(&v);
        sd_resp_problem(r, err, "%lld requests are held already (max_waiters); poll "
                        "instead", (long long)app->cfg->max_waiters);
        return;
    }
    held_stream *s = calloc(1, sizeof *s);
    if (s == NULL || !held_keys_init(&s->keys, r, src, id)) {
        if (s != NULL)
            held_keys_free(&s->keys);
        free(s);
        sd_watch_leave(app->watch);
        held_view_clear(&v);
        src->error(r, SD_ERR_NOMEM, id);
        return;
    }
    s->src = src;
    s->app = app;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->beat_ms = sd_mono_ms() + HEARTBEAT_MS;
    sd_req_on_end(r, stream_end, s);

    const char *last = sd_req_header(r, "Last-Event-ID");
    if (last != NULL && strcmp(last, v.etag) == 0) {
        snprintf(s->last, sizeof s->last, "%s", v.etag);
        s->ending = v.terminal;
    } else {
        put_event(s, &v);
    }
    held_view_clear(&v);
    sd_resp_header(r, "Cache-Control", "no-cache");
    sd_resp_header(r, "X-Accel-Buffering", "no");
    sd_resp_stream(r, "text/event-stream", stream_read, s);
}
