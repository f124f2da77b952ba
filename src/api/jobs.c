/*
 * POST /research, GET /status/<id>, DELETE /status/<id>: request
 * validation and HTTP semantics (Location, ETag/304, Retry-After,
 * Cache-Control, Idempotency-Key). The job's life itself is in
 * jobs/jobs.c.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/etag.h"
#include "statusd/app.h"
#include "statusd/idempotency.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define QUERY_MAX_CHARS 1000
#define IDEM_SCOPE "research"

/* Validates {"query": "1..1000 chars", "params": {...}} and writes the
 * job's input, normalised, into in. SD_ERR_INVALID with a reason. */
static sd_err research_input(const cJSON *body, sd_buf *in, char *why, size_t whylen)
{
    if (!cJSON_IsObject(body)) {
        snprintf(why, whylen, "body must be a JSON object");
        return SD_ERR_INVALID;
    }
    const cJSON *query = NULL, *params = NULL;
    for (const cJSON *it = body->child; it != NULL; it = it->next) {
        if (strcmp(it->string, "query") == 0 && query == NULL) {
            query = it;
        } else if (strcmp(it->string, "params") == 0 && params == NULL) {
            params = it;
        } else {
            snprintf(why, whylen, "unknown or repeated field '%.64s'", it->string);
            return SD_ERR_INVALID;
        }
    }
    if (query == NULL) {
        snprintf(why, whylen, "'query' is required");
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsString(query)) {
        snprintf(why, whylen, "'query' must be a string");
        return SD_ERR_INVALID;
    }
    size_t qlen = strlen(query->valuestring);
    size_t chars = sd_utf8_length(query->valuestring, qlen);
    if (chars == 0 || chars > QUERY_MAX_CHARS) {
        snprintf(why, whylen, "'query' must be 1 to %d characters, got %zu",
                 QUERY_MAX_CHARS, chars);
        return SD_ERR_INVALID;
    }
    if (params != NULL && !cJSON_IsObject(params) && !cJSON_IsNull(params)) {
        snprintf(why, whylen, "'params' must be an object");
        return SD_ERR_INVALID;
    }
    sd_buf_puts(in, "{\"query\":");
    sd_json_append_string(in, query->valuestring, qlen);
    sd_buf_puts(in, ",\"params\":");
    if (params != NULL && cJSON_IsObject(params))
        sd_json_append_item(in, params);
    else
        sd_buf_puts(in, "{}");
    sd_buf_putc(in, '}');
    return sd_buf_ok(in) ? SD_OK : SD_ERR_NOMEM;
}

static void answer_error(sd_req *r, sd_err err, const char *id)
{
    switch (err) {
    case SD_ERR_NOT_FOUND:
        sd_resp_problem(r, err, "no job with id %s (unknown or expired)", id);
        break;
    case SD_ERR_QUEUE_FULL:
        sd_resp_problem(r, err, "the job queue is full; retry later");
        break;
    case SD_ERR_SHUTTING_DOWN:
        sd_resp_problem(r, err, "this instance is shutting down; retry on another");
        break;
    case SD_ERR_STORE_FULL:
        sd_resp_problem(r, err, "the store is full; retry after Retry-After");
        break;
    case SD_ERR_UNAVAILABLE:
        sd_resp_problem(r, err, "the store or the workers cannot take jobs now");
        break;
    default:
        sd_resp_problem(r, err, "job operation failed: %s", sd_err_name(err));
        break;
    }
}

/* ETag (etag: the view's, as api_etag_text gives it), Cache-Control and,
 * while the job runs, Retry-After. */
static void set_view_headers(sd_req *r, const sd_job_view *v, const char *etag)
{
    sd_resp_header(r, "ETag", etag);
    sd_resp_header(r, "Cache-Control", "no-cache");
    if (!v->terminal)
        sd_resp_header(r, "Retry-After", "1");
}

/* Answers with a job's view: Location, ETag, Cache-Control, Retry-After
 * while it runs. */
static void answer_job(sd_req *r, unsigned status, sd_job_view *v)
{
    char location[64], etag[API_ETAG_LEN];
    snprintf(location, sizeof location, "/status/%s", v->id);
    sd_resp_header(r, "Location", location);
    api_etag_text(v->etag, etag);
    set_view_headers(r, v, etag);
    sd_resp_json(r, status, &v->json);
}

typedef struct job_load {
    sd_jobs *jobs;
    sd_job_view view;
} job_load;

/* sd_idem_load_fn: the claimed job's view. */
static sd_err load_job(void *arg, const char *target)
{
    job_load *l = arg;
    return sd_jobs_get(l->jobs, target, &l->view);
}

/*
 * Claims the request's Idempotency-Key for job id. True when the caller
 * goes on submitting the job; false when it answered: a replay (200 with
 * the job's view), a key used with another body or still under way
 * (409), an error.
 */
static bool idem_claim(sd_req *r, const char *key, const char *id)
{
    sd_app *app = sd_req_app(r);
    size_t len = 0;
    const char *body = sd_req_body(r, &len);
    job_load l = {app->jobs, SD_JOB_VIEW_INIT};
    sd_idem_claim claim;
    sd_err err = sd_idem_begin(app->store, IDEM_SCOPE, key,
                               sd_idem_fingerprint(IDEM_SCOPE, body, len), id,
                               app->cfg->job_max_age * 1000, load_job, &l, &claim);
    bool go_on = false;
    if (err != SD_OK) {
        answer_error(r, err, "");
    } else if (claim.outcome == SD_IDEM_NEW) {
        go_on = true;
    } else if (claim.outcome == SD_IDEM_REPLAY) {
        sd_resp_header(r, "Idempotent-Replayed", "true");
        answer_job(r, 200, &l.view);
    } else if (claim.outcome == SD_IDEM_MISMATCH) {
        sd_resp_problem(r, SD_ERR_CONFLICT, "this Idempotency-Key was used with a different "
                        "body; use a new key for a new request");
    } else {
        sd_resp_header(r, "Retry-After", "1");
        sd_resp_problem(r, SD_ERR_CONFLICT, "a request with this Idempotency-Key is still "
                        "being processed; retry shortly");
    }
    sd_job_view_clear(&l.view);
    return go_on;
}

void api_research_post(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    if (atomic_load(&app->draining)) {
        answer_error(r, SD_ERR_SHUTTING_DOWN, "");
        return;
    }
    const char *key = sd_req_header(r, "Idempotency-Key");
    if (key != NULL && !sd_idem_key_valid(key)) {
        sd_resp_problem(r, SD_ERR_INVALID, "Idempotency-Key must be 1 to %d printable ASCII "
                        "characters without spaces", SD_IDEM_KEY_MAX);
        return;
    }
    char why[160];
    sd_buf in = SD_BUF_INIT;
    sd_err err = research_input(sd_req_json(r), &in, why, sizeof why);
    if (err != SD_OK) {
        sd_buf_free(&in);
        if (err == SD_ERR_INVALID)
            sd_resp_problem(r, err, "%s", why);
        else
            answer_error(r, err, "");
        return;
    }
    /* With a key the id comes first: the key is claimed for it before
     * the job exists, so a racing request with the same key finds it. */
    char id[SD_UUID_LEN + 1];
    sd_uuid_new(id);
    if (key != NULL && !idem_claim(r, key, id)) {
        sd_buf_free(&in);
        return;
    }
    sd_job_view v = SD_JOB_VIEW_INIT;
    err = sd_jobs_submit(app->jobs, "research", in.data, in.len, key != NULL ? id : NULL,
                         &v);
    sd_buf_free(&in);
    if (key != NULL) {
        sd_err kerr = err == SD_OK ? sd_idem_done(app->store, IDEM_SCOPE, key, id)
                                   : sd_idem_release(app->store, IDEM_SCOPE, key, id);
        if (kerr != SD_OK)
            sd_warn("job %s: idempotency key not %s: %s", id,
                    err == SD_OK ? "marked done" : "released", sd_err_name(kerr));
    }
    if (err != SD_OK)
        answer_error(r, err, "");
    else
        answer_job(r, 202, &v);
    sd_job_view_clear(&v);
}

/* The :id parameter as a C string when it is a canonical UUID; else 404
 * before any store call. */
static bool job_id_param(sd_req *r, char id[SD_UUID_LEN + 1])
{
    size_t len = 0;
    const char *p = sd_req_param(r, 0, &len);
    if (!sd_uuid_valid(p, len)) {
        sd_resp_problem(r, SD_ERR_NOT_FOUND, "no job with id '%.*s'",
                        (int)(len > 64 ? 64 : len), p);
        return false;
    }
    memcpy(id, p, SD_UUID_LEN);
    id[SD_UUID_LEN] = '\0';
    return true;
}

void api_status_get(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!job_id_param(r, id))
        return;
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get(sd_req_app(r)->jobs, id, &v);
    if (err != SD_OK) {
        sd_job_view_clear(&v);
        answer_error(r, err, id);
        return;
    }
    char etag[API_ETAG_LEN];
    api_etag_text(v.etag, etag);
    set_view_headers(r, &v, etag);
    api_etag_answer(r, 200, etag, &v.json);
    sd_job_view_clear(&v);
}

void api_status_delete(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!job_id_param(r, id))
        return;
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_cancel(sd_req_app(r)->jobs, id, &v);
    if (err == SD_ERR_CONFLICT) {
        sd_resp_problem(r, err, "job %s is already %s", id, v.status);
    } else if (err != SD_OK) {
        answer_error(r, err, id);
    } else {
        char etag[API_ETAG_LEN];
        api_etag_text(v.etag, etag);
        set_view_headers(r, &v, etag);
        sd_resp_json(r, 200, &v.json);
    }
    sd_job_view_clear(&v);
}
