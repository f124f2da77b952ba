/*
 * POST /research, GET /status/<id>, DELETE /status/<id>: request
 * validation and HTTP semantics (Location, ETag/304, Retry-After,
 * Cache-Control). The job's life itself is in jobs/jobs.c.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/etag.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define QUERY_MAX_CHARS 1000

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

void api_research_post(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    if (atomic_load(&app->draining)) {
        answer_error(r, SD_ERR_SHUTTING_DOWN, "");
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
    sd_job_view v = SD_JOB_VIEW_INIT;
    err = sd_jobs_submit(app->jobs, "research", in.data, in.len, NULL, &v);
    sd_buf_free(&in);
    if (err != SD_OK) {
        sd_job_view_clear(&v);
        answer_error(r, err, "");
        return;
    }
    char location[64], etag[API_ETAG_LEN];
    snprintf(location, sizeof location, "/status/%s", v.id);
    sd_resp_header(r, "Location", location);
    api_etag_text(v.etag, etag);
    set_view_headers(r, &v, etag);
    sd_resp_json(r, 202, &v.json);
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
    const char *inm = sd_req_header(r, "If-None-Match");
    if (inm != NULL && api_etag_listed(inm, etag))
        sd_resp_empty(r, 304);
    else
        sd_resp_json(r, 200, &v.json);
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
