/*
 * POST /uploads, GET /upload-status, POST /uploads/retry: request
 * validation and HTTP semantics (Location, ETag/304, Retry-After,
 * Cache-Control, Idempotency-Key). The runs themselves are in
 * jobs/uploads.c.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/etag.h"
#include "api/held.h"
#include "statusd/app.h"
#include "statusd/idempotency.h"
#include "statusd/log.h"
#include "statusd/uploads.h"

#define IDEM_SCOPE "uploads"

static const char ID_RULE[] = "1 to 128 characters of A-Z a-z 0-9 . _ : + @ -";

static sd_uploads uploads_of(const sd_app *app)
{
    sd_uploads u = {.store = app->store, .jobs = app->jobs,
                    .ttl_ms = app->cfg->job_ttl * 1000,
                    .max_age_ms = app->cfg->job_max_age * 1000};
    return u;
}

static void answer_error(sd_req *r, sd_err err, const char *post_id, const char *run_id)
{
    switch (err) {
    case SD_ERR_NOT_FOUND:
        sd_resp_problem(r, err, "no upload run with post_id %s and run_id %s "
                        "(unknown or expired)", post_id, run_id);
        break;
    case SD_ERR_EXISTS:
        sd_resp_problem(r, err, "the upload run with post_id %s and run_id %s exists "
                        "already; a run is created once (read it with GET /upload-status, "
                        "re-queue its failed fields with POST /uploads/retry)",
                        post_id, run_id);
        break;
    case SD_ERR_QUEUE_FULL:
        sd_resp_problem(r, err, "the job queue is full; no field could be queued; retry later");
        break;
    case SD_ERR_SHUTTING_DOWN:
        sd_resp_problem(r, err, "this instance is shutting down; retry on another");
        break;
    case SD_ERR_STORE_FULL:
        sd_resp_problem(r, err, "the store is full; retry after Retry-After");
        break;
    case SD_ERR_UNAVAILABLE:
        sd_resp_problem(r, err, "the store or the workers cannot take uploads now");
        break;
    case SD_ERR_INTERNAL:
        sd_resp_problem(r, err, "upload run %s/%s is not a well-formed record", post_id,
                        run_id);
        break;
    default:
        sd_resp_problem(r, err, "upload operation failed: %s", sd_err_name(err));
        break;
    }
}

/* Appends s to out (at pos, cap bytes), percent-encoding every byte but
 * the unreserved ones, so '+' is not read back as a space. */
static size_t query_put(char *out, size_t pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0' && pos + 4 < cap; s++) {
        char c = *s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            out[pos++] = c;
        } else {
            out[pos++] = '%';
            out[pos++] = hex[(unsigned char)c >> 4];
            out[pos++] = hex[(unsigned char)c & 15];
        }
    }
    out[pos] = '\0';
    return pos;
}

/* Location of a run's status: /upload-status?post_id=..&run_id=.. */
#define LOCATION_LEN (sizeof "/upload-status?post_id=&run_id=" + 6 * SD_UPLOAD_ID_MAX + 8)

static void location_of(char out[LOCATION_LEN], const char *post_id, const char *run_id)
{
    size_t pos = (size_t)snprintf(out, LOCATION_LEN, "/upload-status?post_id=");
    pos = query_put(out, pos, LOCATION_LEN, post_id);
    pos += (size_t)snprintf(out + pos, LOCATION_LEN - pos, "&run_id=");
    query_put(out, pos, LOCATION_LEN, run_id);
}

/* ETag, Cache-Control and, while the run is processing, Retry-After. */
static void set_view_headers(sd_req *r, const sd_upload_view *v, char etag[API_ETAG_LEN])
{
    api_etag_text(v->etag, etag);
    api_view_headers(r, etag, strcmp(v->status, "processing") == 0);
}

/* ---- the run as held requests read it (api/held.h): id is the run key
 * "<post_id>/<run_id>" ---- */

/* The ids of run key into post_id and run_id (each SD_UPLOAD_ID_MAX + 1). */
static void split_key(const char *key, char *post_id, char *run_id)
{
    size_t n = strcspn(key, "/");
    snprintf(post_id, SD_UPLOAD_ID_MAX + 1, "%.*s", (int)n, key);
    snprintf(run_id, SD_UPLOAD_ID_MAX + 1, "%s", key[n] == '/' ? key + n + 1 : "");
}

static sd_err held_run_read(sd_app *app, const char *key, held_view *out)
{
    char post_id[SD_UPLOAD_ID_MAX + 1], run_id[SD_UPLOAD_ID_MAX + 1];
    split_key(key, post_id, run_id);
    sd_uploads u = uploads_of(app);
    sd_upload_view v = SD_UPLOAD_VIEW_INIT;
    sd_err err = sd_uploads_status(&u, post_id, run_id, &v);
    if (err == SD_OK) {
        out->json = v.json;
        v.json = (sd_buf)SD_BUF_INIT;
        api_etag_text(v.etag, out->etag);
        out->terminal = strcmp(v.status, "processing") != 0;
        out->expires_ms = v.expires_ms;
        out->jobs = v.jobs;
        out->njobs = v.njobs;
        v.jobs = NULL;
        v.njobs = 0;
    }
    sd_upload_view_clear(&v);
    return err;
}

static void held_run_headers(sd_req *r, const held_view *v)
{
    api_view_headers(r, v->etag, !v->terminal);
}

static void held_run_error(sd_req *r, sd_err err, const char *key)
{
    char post_id[SD_UPLOAD_ID_MAX + 1], run_id[SD_UPLOAD_ID_MAX + 1];
    split_key(key, post_id, run_id);
    answer_error(r, err, post_id, run_id);
}

static const held_source run_source = {SD_UPLOADS_NS, held_run_read, held_run_headers,
                                       held_run_error};

/* The run named by the query's post_id and run_id; else a 400. */
static bool run_params(sd_req *r, const char **post_id, const char **run_id)
{
    static const char *const names[] = {"post_id", "run_id"};
    const char **out[] = {post_id, run_id};
    for (size_t i = 0; i < 2; i++) {
        const char *v;
        if (!sd_req_query(r, names[i], &v))
            return false;
        if (v == NULL) {
            sd_resp_problem(r, SD_ERR_INVALID, "the query parameter %s is required",
                            names[i]);
            return false;
        }
        if (!sd_upload_id_valid(v, strlen(v))) {
            sd_resp_problem(r, SD_ERR_INVALID, "%s must be %s", names[i], ID_RULE);
            return false;
        }
        *out[i] = v;
    }
    return true;
}

/* ---- POST /uploads ---- */

typedef struct run_load {
    sd_uploads u;
    const sd_upload_request *req;
    sd_upload_view view;
} run_load;

/* sd_idem_load_fn: the claimed run's status view. */
static sd_err load_run(void *arg, const char *target)
{
    run_load *l = arg;
    (void)target; /* the fingerprint covers the body, and so the run named */
    return sd_uploads_status(&l->u, l->req->post_id, l->req->run_id, &l->view);
}

/*
 * Claims the request's Idempotency-Key, if it has one. True when the
 * caller goes on creating the run (*claimed tells whether a key was
 * claimed); false when it answered: a replay (200 with the run's view),
 * a key used with another body or still under way (409), an error.
 */
static bool idem_claim(sd_req *r, const char *key, run_load *l, bool *claimed)
{
    *claimed = false;
    if (key == NULL)
        return true;
    sd_app *app = sd_req_app(r);
    size_t len = 0;
    const char *body = sd_req_body(r, &len);
    char target[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(target, l->req->post_id, l->req->run_id);
    sd_idem_claim claim;
    sd_err err = sd_idem_begin(app->store, IDEM_SCOPE, key,
                               sd_idem_fingerprint(IDEM_SCOPE, body, len), target,
                               app->cfg->job_max_age * 1000, load_run, l, &claim);
    if (err != SD_OK) {
        answer_error(r, err, l->req->post_id, l->req->run_id);
        return false;
    }
    switch (claim.outcome) {
    case SD_IDEM_NEW:
        *claimed = true;
        return true;
    case SD_IDEM_REPLAY: {
        char location[LOCATION_LEN], etag[API_ETAG_LEN];
        location_of(location, l->req->post_id, l->req->run_id);
        sd_resp_header(r, "Location", location);
        sd_resp_header(r, "Idempotent-Replayed", "true");
        set_view_headers(r, &l->view, etag);
        sd_resp_json(r, 200, &l->view.json);
        return false;
    }
    case SD_IDEM_MISMATCH:
        sd_resp_problem(r, SD_ERR_CONFLICT, "this Idempotency-Key was used with a different "
                        "body; use a new key for a new request");
        return false;
    case SD_IDEM_BUSY:
        break;
    }
    sd_resp_header(r, "Retry-After", "1");
    sd_resp_problem(r, SD_ERR_CONFLICT, "a request with this Idempotency-Key is still "
                    "being processed; retry shortly");
    return false;
}

void api_uploads_post(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    if (atomic_load(&app->draining)) {
        answer_error(r, SD_ERR_SHUTTING_DOWN, "", "");
        return;
    }
    const char *key = sd_req_header(r, "Idempotency-Key");
    if (key != NULL && !sd_idem_key_valid(key)) {
        sd_resp_problem(r, SD_ERR_INVALID, "Idempotency-Key must be 1 to %d printable ASCII "
                        "characters without spaces", SD_IDEM_KEY_MAX);
        return;
    }
    sd_upload_request req;
    char why[192];
    sd_err err = sd_upload_request_parse(sd_req_json(r), &req, why, sizeof why);
    if (err != SD_OK) {
        sd_resp_problem(r, err, "%s", why);
        return;
    }
    run_load l = {.u = uploads_of(app), .req = &req, .view = SD_UPLOAD_VIEW_INIT};
    bool claimed = false;
    if (!idem_claim(r, key, &l, &claimed)) {
        sd_upload_view_clear(&l.view);
        return;
    }
    char target[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(target, req.post_id, req.run_id);
    sd_upload_view v = SD_UPLOAD_VIEW_INIT;
    err = sd_uploads_create(&l.u, &req, &v);
    sd_err kerr = SD_OK;
    if (claimed)
        kerr = err == SD_OK ? sd_idem_done(app->store, IDEM_SCOPE, key, target)
                            : sd_idem_release(app->store, IDEM_SCOPE, key, target);
    if (kerr != SD_OK)
        sd_warn("upload %s: idempotency key not %s: %s", target,
                err == SD_OK ? "marked done" : "released", sd_err_name(kerr));
    if (err != SD_OK) {
        answer_error(r, err, req.post_id, req.run_id);
    } else {
        char location[LOCATION_LEN];
        location_of(location, req.post_id, req.run_id);
        sd_resp_header(r, "Location", location);
        sd_resp_header(r, "Retry-After", "1");
        sd_resp_header(r, "Cache-Control", "no-cache");
        sd_resp_json(r, 202, &v.json);
    }
    sd_upload_view_clear(&v);
    sd_upload_view_clear(&l.view);
}

/* ---- GET /upload-status ---- */

void api_upload_status_get(sd_req *r)
{
    const char *post_id = NULL, *run_id = NULL;
    if (!run_params(r, &post_id, &run_id))
        return;
    int64_t wait_s = 0;
    if (!api_wait_param(r, &wait_s))
        return;
    if (wait_s > 0 && sd_req_header(r, "If-None-Match") != NULL) {
        char key[SD_UPLOAD_RUN_KEY_LEN];
        sd_upload_run_key(key, post_id, run_id);
        api_hold_poll(r, &run_source, key, wait_s);
        return;
    }
    sd_uploads u = uploads_of(sd_req_app(r));
    sd_upload_view v = SD_UPLOAD_VIEW_INIT;
    sd_err err = sd_uploads_status(&u, post_id, run_id, &v);
    if (err != SD_OK) {
        answer_error(r, err, post_id, run_id);
    } else {
        char etag[API_ETAG_LEN];
        set_view_headers(r, &v, etag);
        api_etag_answer(r, 200, etag, &v.json);
    }
    sd_upload_view_clear(&v);
}

void api_upload_status_events(sd_req *r)
{
    const char *post_id = NULL, *run_id = NULL;
    if (!run_params(r, &post_id, &run_id))
        return;
    char key[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(key, post_id, run_id);
    api_hold_events(r, &run_source, key);
}

/* ---- POST /uploads/retry ---- */

void api_uploads_retry_post(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    if (atomic_load(&app->draining)) {
        answer_error(r, SD_ERR_SHUTTING_DOWN, "", "");
        return;
    }
    const char *post_id = NULL, *run_id = NULL;
    if (!run_params(r, &post_id, &run_id))
        return;
    sd_uploads u = uploads_of(app);
    sd_upload_view v = SD_UPLOAD_VIEW_INIT;
    sd_err err = sd_uploads_retry(&u, post_id, run_id, &v);
    if (err == SD_ERR_CONFLICT) {
        sd_resp_problem(r, err, "the upload run with post_id %s and run_id %s has no failed "
                        "field to retry (its status is %s)", post_id, run_id, v.status);
    } else if (err != SD_OK) {
        answer_error(r, err, post_id, run_id);
    } else {
        char etag[API_ETAG_LEN], location[LOCATION_LEN];
        location_of(location, post_id, run_id);
        sd_resp_header(r, "Location", location);
        set_view_headers(r, &v, etag);
        sd_resp_json(r, 202, &v.json);
    }
    sd_upload_view_clear(&v);
}
