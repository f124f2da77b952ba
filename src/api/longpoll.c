/*
 * Long-polls (held.h): GET /status/<id> or GET /upload-status with a
 * wait (Prefer: wait=<n>, RFC 7240, or ?wait=<n>) and an If-None-Match.
 * While the tag is the resource's current one the request is held
 * (api/watch.h) and answered as soon as it changes (200 with the new
 * view), expires or is deleted (404), or the wait ends (304 with
 * Preference-Applied). At a drain it is answered with the resource as it
 * stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/etag.h"
#include "api/held.h"
#include "api/watch.h"
#include "statusd/app.h"
#include "statusd/jobs.h"
#include "statusd/uploads.h"
#include "statusd/log.h"

/* A wait's seconds: digits only; a longer wait than max is max (one of
 * more digits than any int64_t too). False for other text. */
static bool wait_seconds(const char *s, size_t n, int64_t max, int64_t *out)
{
    if (n == 0)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v <= max)
            v = v * 10 + (s[i] - '0');
    }
    *out = v > max ? max : v;
    return true;
}

/* Finds the wait preference of a Prefer header: its value into *v, *n
 * (quotes removed), or *v NULL when there is none. Preferences are
 * separated by commas, their parameters by semicolons. */
static void prefer_wait(const char *h, const char **v, size_t *n)
{
    *v = NULL;
    *n = 0;
    const char *p = h;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p != '\0' && *p != '=' && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t toklen = (size_t)(p - tok);
        while (*p == ' ' || *p == '\t')
            p++;
        const char *val = NULL;
        size_t vlen = 0;
        if (*p == '=') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            bool quoted = *p == '"';
            if (quoted)
                p++;
            val = p;
            while (*p != '\0' && (quoted ? *p != '"' : (*p != ',' && *p != ';' && *p != ' ' &&
                                                        *p != '\t')))
                p++;
            vlen = (size_t)(p - val);
            if (quoted && *p == '"')
                p++;
        }
        if (toklen == 4 && strncasecmp(tok, "wait", 4) == 0) {
            *v = val != NULL ? val : "";
            *n = vlen;
            return;
        }
        while (*p != '\0' && *p != ',')   /* the preference's parameters */
            p++;
    }
}

bool api_wait_param(sd_req *r, int64_t *wait_s)
{
    *wait_s = 0;
    const char *q = NULL;
    if (!sd_req_query(r, "wait", &q))
        return false;
    int64_t max = sd_req_app(r)->cfg->max_wait;
    if (q != NULL) {
        if (!wait_seconds(q, strlen(q), max, wait_s)) {
            sd_resp_problem(r, SD_ERR_INVALID, "wait must be a whole number of seconds "
                            "(0 to %lld; longer waits are cut to it)", (long long)max);
            return false;
        }
        return true;
    }
    const char *prefer = sd_req_header(r, "Prefer");
    if (prefer == NULL)
        return true;
    const char *v = NULL;
    size_t n = 0;
    prefer_wait(prefer, &v, &n);
    if (v != NULL && !wait_seconds(v, n, max, wait_s)) {
        sd_resp_problem(r, SD_ERR_INVALID, "Prefer: wait must be a whole number of seconds "
                        "(0 to %lld; longer waits are cut to it)", (long long)max);
        return false;
    }
    return true;
}

/* ---- what polls and streams share ---- */

void held_view_clear(held_view *v)
{
    sd_buf_free(&v->json);
    free(v->jobs);
    *v = (held_view){.json = SD_BUF_INIT};
}

bool held_keys_init(held_keys *k, sd_req *r, const held_source *src, const char *id)
{
    *k = (held_keys){0};
    k->wts = calloc(1, sizeof *k->wts);
    k->seqs = calloc(1, sizeof *k->seqs);
    if (k->wts == NULL || k->seqs == NULL)
        return false;
    k->n = k->cap = 1;
    sd_watch_key(&k->wts[0], r, src->ns, id);
    return true;
}

bool held_keys_follow(held_keys *k, const held_view *v, sd_err *err)
{
    *err = SD_OK;
    size_t n = 1 + v->njobs;
    bool same = n == k->n;
    for (size_t i = 0; same && i < v->njobs; i++) {
        char key[WATCH_KEY_MAX];
        snprintf(key, sizeof key, "%s\n%s", SD_JOBS_NS, v->jobs[i]);
        same = strcmp(key, k->wts[1 + i].key) == 0;
    }
    if (same)
        return false;
    if (n > k->cap) {
        watch_waiter *w = realloc(k->wts, n * sizeof *w);
        if (w != NULL)
            k->wts = w;
        uint64_t *s = w != NULL ? realloc(k->seqs, n * sizeof *s) : NULL;
        if (s == NULL) {
            *err = SD_ERR_NOMEM;
            return false;
        }
        k->seqs = s;
        k->cap = n;
    }
    for (size_t i = 0; i < v->njobs; i++) {
        k->wts[1 + i] = (watch_waiter){0};
        sd_watch_key(&k->wts[1 + i], k->wts[0].req, SD_JOBS_NS, v->jobs[i]);
    }
    k->n = n;
    return true;
}

void held_keys_count(held_keys *k, sd_watch *w)
{
    for (size_t i = 0; i < k->n; i++)
        k->seqs[i] = sd_watch_seq(w, &k->wts[i]);
}

void held_keys_free(held_keys *k)
{
    free(k->wts);
    free(k->seqs);
    *k = (held_keys){0};
}

int64_t held_due(const held_view *v, int64_t limit)
{
    if (v->expires_ms <= 0)
        return limit;
    int64_t now = sd_mono_ms();
    int64_t left = v->expires_ms - sd_now_ms() + 5;
    int64_t at = now + (left > 0 ? left : 0);
    return at < limit ? at : limit;
}

/* ---- long-polls ---- */

/* A held long-poll; lives from its first hold to the request's end. */
typedef struct poll_hold {
    held_keys keys;
    const held_source *src;
    sd_app *app;
    char id[SD_UPLOAD_RUN_KEY_LEN];
    int64_t wait_s;
    int64_t end_ms;        /* monotonic: when the wait is over */
    bool admitted;         /* counted against max_waiters */
} poll_hold;

static void hold_end(void *arg)
{
    poll_hold *h = arg;
    sd_watch_cancel(h->app->watch, &h->keys.wts[0]);
    if (h->admitted)
        sd_watch_leave(h->app->watch);
    held_keys_free(&h->keys);
    free(h);
}

static void poll_step(sd_req *r, poll_hold *h, watch_why why);

static void poll_again(sd_req *r, void *arg)
{
    poll_hold *h = arg;
    poll_step(r, h, h->keys.wts[0].why);
}

/* Reads the resource and answers, or holds the request again. */
static void poll_step(sd_req *r, poll_hold *h, watch_why why)
{
    char applied[32];
    snprintf(applied, sizeof applied, "wait=%lld", (long long)h->wait_s);
    for (;;) {
        held_keys_count(&h->keys, h->app->watch);
        held_view v = {.json = SD_BUF_INIT};
        sd_err err = h->src->read(h->app, h->id, &v);
        if (err != SD_OK) {
            held_view_clear(&v);
            sd_resp_header(r, "Preference-Applied", applied);
            h->src->error(r, err, h->id);
            return;
        }
        bool same = api_etag_listed(sd_req_header(r, "If-None-Match"), v.etag);
        if (!same || why == WATCH_DRAIN || sd_mono_ms() >= h->end_ms) {
            h->src->headers(r, &v);
            sd_resp_header(r, "Preference-Applied", applied);
            if (same && why != WATCH_DRAIN)
                sd_resp_empty(r, 304);
            else
                sd_resp_json(r, 200, &v.json);
            held_view_clear(&v);
            return;
        }
        /* Woken at the wait's end, or at the record's expiry to see
         * whether it is gone, whichever comes first. */
        h->keys.wts[0].due_ms = held_due(&v, h->end_ms);
        bool moved = held_keys_follow(&h->keys, &v, &err);
        held_view_clear(&v);
        if (moved)
            continue;
        if (err == SD_OK && !h->admitted && sd_watch_admit(h->app->watch) != SD_OK) {
            sd_resp_problem(r, SD_ERR_TOO_MANY_WAITERS, "%lld requests are held already "
                            "(max_waiters); poll again later",
                            (long long)h->app->cfg->max_waiters);
            return;
        }
        h->admitted = h->admitted || err == SD_OK;
        if (err == SD_OK)
            err = sd_watch_hold_group(h->app->watch, h->keys.wts, h->keys.n, h->keys.seqs,
                                      poll_again, h);
        if (err == SD_OK)
            return;
        if (err == SD_ERR_SHUTTING_DOWN)
            why = WATCH_DRAIN;
        else if (err != SD_ERR_CONFLICT) {
            h->src->error(r, err, h->id);
            return;
        }
    }
}

void api_hold_poll(sd_req *r, const held_source *src, const char *id, int64_t wait_s)
{
    sd_app *app = sd_req_app(r);
    poll_hold *h = calloc(1, sizeof *h);
    if (h == NULL || !held_keys_init(&h->keys, r, src, id)) {
        if (h != NULL)
            held_keys_free(&h->keys);
        free(h);
        src->error(r, SD_ERR_NOMEM, id);
        return;
    }
    h->src = src;
    h->app = app;
    snprintf(h->id, sizeof h->id, "%s", id);
    h->wait_s = wait_s;
    h->end_ms = sd_mono_ms() + wait_s * 1000;
    sd_req_on_end(r, hold_end, h);
    poll_step(r, h, WATCH_NONE);
}
