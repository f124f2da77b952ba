/*
 * POST /research, POST /jobs/<kind>, GET /status/<id>, DELETE
 * /status/<id>: request validation and HTTP semantics (Location,
 * ETag/304, Retry-After, Cache-Control, Idempotency-Key). The job's life
 * itself is in jobs/jobs.c; the app's reports (PATCH) in job_report.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/etag.h"
#include "api/held.h"
#include "statusd/app.h"
#include "statusd/handler.h"
#include "statusd/idempotency.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define QUERY_MAX_CHARS 1000
#define IDEM_SCOPE "research"
#define JOBS_IDEM_SCOPE "jobs"

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

void api_job_error(sd_req *r, sd_err err, const char *id)
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

void api_job_view_headers(sd_req *r, const sd_job_view *v, const char *etag)
{
    api_view_headers(r, etag, !v->terminal);
}

/* ---- the job as held requests read it (api/held.h) ---- */

static sd_err held_job_read(sd_app *app, const char *id, held_view *out)
{
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get(app->jobs, id, &v);
    if (err == SD_OK) {
        out->json = v.json;
        v.json = (sd_buf)SD_BUF_INIT;
        api_etag_text(v.etag, out->etag);
        out->terminal = v.terminal;
        out->expires_ms = v.expires_ms;
    }
    sd_job_view_clear(&v);
    return err;
}

static void held_job_headers(sd_req *r, const held_view *v)
{
    api_view_headers(r, v->etag, !v->terminal);
}

static const held_source job_source = {SD_JOBS_NS, held_job_read, held_job_headers,
                                       api_job_error};

/* Answers with a job's view: Location, ETag, Cache-Control, Retry-After
 * while it runs. */
static void answer_job(sd_req *r, unsigned status, sd_job_view *v)
{
    char location[64], etag[API_ETAG_LEN];
    snprintf(location, sizeof location, "/status/%s", v->id);
    sd_resp_header(r, "Location", location);
    api_etag_text(v->etag, etag);
    api_job_view_headers(r, v, etag);
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
 * Claims the request's Idempotency-Key for job id in scope. True when the
 * caller goes on submitting the job; false when it answered: a replay
 * (200 with the job's view), a key used with another body or still under
 * way (409), an error. The fingerprint covers the kind and the body.
 */
static bool idem_claim(sd_req *r, const char *scope, const char *kind, const char *key,
                       const char *id)
{
    sd_app *app = sd_req_app(r);
    size_t len = 0;
    const char *body = sd_req_body(r, &len);
    sd_buf print = SD_BUF_INIT;
    sd_buf_puts(&print, kind);
    sd_buf_putc(&print, '\n');
    sd_buf_append(&print, body, len);
    if (!sd_buf_ok(&print)) {
        sd_buf_free(&print);
        api_job_error(r, SD_ERR_NOMEM, "");
        return false;
    }
    uint64_t fingerprint = strcmp(kind, "research") == 0
                               ? sd_idem_fingerprint(scope, body, len)
                               : sd_idem_fingerprint(scope, print.data, print.len);
    sd_buf_free(&print);
    job_load l = {app->jobs, SD_JOB_VIEW_INIT};
    sd_idem_claim claim;
    sd_err err = sd_idem_begin(app->store, scope, key, fingerprint, id,
                               app->cfg->job_max_age * 1000, load_job, &l, &claim);
    bool go_on = false;
    if (err != SD_OK) {
        api_job_error(r, err, "");
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

/* Adds "run_token" to a view's JSON (the 202 of an external job). */
static void view_add_token(sd_job_view *v, const char *token)
{
    if (token[0] == '\0' || v->json.len == 0 || v->json.data[v->json.len - 1] != '}')
        return;
    v->json.len--;
    sd_buf_puts(&v->json, ",\"run_token\":\"");
    sd_buf_puts(&v->json, token);
    sd_buf_puts(&v->json, "\"}");
}

/*
 * What POST /research and POST /jobs/<kind> share once the input is
 * known good: the drain check, the Idempotency-Key, the submit and the
 * 202 (Location, ETag, Retry-After; run_token for an external kind).
 * in is the job's input, JSON text of an object.
 */
static void submit_answer(sd_req *r, const char *scope, const char *kind, const sd_buf *in)
{
    sd_app *app = sd_req_app(r);
    const char *key = sd_req_header(r, "Idempotency-Key");
    /* With a key the id comes first: the key is claimed for it before
     * the job exists, so a racing request with the same key finds it. */
    char id[SD_UUID_LEN + 1];
    sd_uuid_new(id);
    if (key != NULL && !idem_claim(r, scope, kind, key, id))
        return;
    sd_job_view v = SD_JOB_VIEW_INIT;
    char token[SD_RUN_TOKEN_LEN + 1];
    sd_err err = sd_jobs_submit(app->jobs, kind, in->data, in->len, key != NULL ? id : NULL,
                                &v, token);
    if (key != NULL) {
        sd_err kerr = err == SD_OK ? sd_idem_done(app->store, scope, key, id)
                                   : sd_idem_release(app->store, scope, key, id);
        if (kerr != SD_OK)
            sd_warn("job %s: idempotency key not %s: %s", id,
                    err == SD_OK ? "marked done" : "released", sd_err_name(kerr));
    }
    if (err != SD_OK) {
        api_job_error(r, err, "");
    } else {
        view_add_token(&v, token);
        answer_job(r, 202, &v);
    }
    sd_job_view_clear(&v);
}

/* The checks before any input is read: draining, a well-formed key. */
static bool submit_allowed(sd_req *r)
{
    if (atomic_load(&sd_req_app(r)->draining)) {
        api_job_error(r, SD_ERR_SHUTTING_DOWN, "");
        return false;
    }
    const char *key = sd_req_header(r, "Idempotency-Key");
    if (key != NULL && !sd_idem_key_valid(key)) {
        sd_resp_problem(r, SD_ERR_INVALID, "Idempotency-Key must be 1 to %d printable ASCII "
                        "characters without spaces", SD_IDEM_KEY_MAX);
        return false;
    }
    return true;
}

void api_research_post(sd_req *r)
{
    if (!submit_allowed(r))
        return;
    char why[160];
    sd_buf in = SD_BUF_INIT;
    sd_err err = research_input(sd_req_json(r), &in, why, sizeof why);
    if (err == SD_ERR_INVALID)
        sd_resp_problem(r, err, "%s", why);
    else if (err != SD_OK)
        api_job_error(r, err, "");
    else
        submit_answer(r, IDEM_SCOPE, "research", &in);
    sd_buf_free(&in);
}

/*
 * POST /jobs/<kind>: any JSON object as input, for a kind configured with
 * handler_<kind>. research and upload have endpoints of their own, with
 * their own input rules, and are not served here.
 */
void api_jobs_post(sd_req *r)
{
    size_t len = 0;
    const char *p = sd_req_param(r, 0, &len);
    char kind[SD_KIND_MAX + 1];
    if (!sd_kind_name_valid(p, len)) {
        sd_resp_problem(r, SD_ERR_UNKNOWN_KIND, "'%.*s' is not a job kind (a kind is "
                        "[a-z][a-z0-9_-] of at most %d characters)",
                        (int)(len > 64 ? 64 : len), p, SD_KIND_MAX);
        return;
    }
    memcpy(kind, p, len);
    kind[len] = '\0';
    if (strcmp(kind, "research") == 0 || strcmp(kind, "upload") == 0) {
        sd_resp_problem(r, SD_ERR_UNKNOWN_KIND, "jobs of kind %s are submitted through "
                        "POST /%s", kind, strcmp(kind, "research") == 0 ? "research" : "uploads");
        return;
    }
    if (!sd_jobs_has_kind(sd_req_app(r)->jobs, kind)) {
        sd_resp_problem(r, SD_ERR_UNKNOWN_KIND, "no handler is configured for job kind %s "
                        "(set handler_%s)", kind, kind);
        return;
    }
    if (!submit_allowed(r))
        return;
    const cJSON *body = sd_req_json(r);
    if (!cJSON_IsObject(body)) {
        sd_resp_problem(r, SD_ERR_INVALID, "body must be a JSON object (the job's input)");
        return;
    }
    sd_buf in = SD_BUF_INIT;
    sd_json_append_item(&in, body);
    if (!sd_buf_ok(&in))
        api_job_error(r, SD_ERR_NOMEM, "");
    else
        submit_answer(r, JOBS_IDEM_SCOPE, kind, &in);
    sd_buf_free(&in);
}

bool api_job_id_param(sd_req *r, char id[SD_UUID_LEN + 1])
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

/* The answer to a poll: the job, or the error. */
static void status_answer(sd_req *r, const char *id, sd_err err, sd_job_view *v)
{
    if (err != SD_OK) {
        api_job_error(r, err, id);
        return;
    }
    char etag[API_ETAG_LEN];
    api_etag_text(v->etag, etag);
    api_job_view_headers(r, v, etag);
    api_etag_answer(r, 200, etag, &v->json);
}

/* A poll read without waiting (sd_jobs_get_start): owned by its request,
 * freed when the request ends. */
typedef struct status_read {
    sd_poll poll;
    sd_req *r;
    char id[SD_UUID_LEN + 1];
} status_read;

static void status_read_free(void *arg)
{
    status_read *sr = arg;
    sd_record_clear(&sr->poll.rec);
    free(sr);
}

/* The store has the answer (its thread): the request goes on. */
static void status_read_done(void *arg)
{
    status_read *sr = arg;
    sd_req_resume(sr->r);
}

static void status_get_again(sd_req *r, void *arg)
{
    (void)arg;
    api_status_get(r);
}

/* A poll whose read did not answer, on a request thread. */
static void status_read_again(sd_req *r, void *arg)
{
    status_read *sr = arg;
    sd_metrics_poll(sd_req_app(r)->metrics, false);
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get_again(sd_req_app(r)->jobs, sr->id, &sr->poll, &v);
    status_answer(r, sr->id, err, &v);
    sd_job_view_clear(&v);
}

/* Resumed with the store's answer, on the HTTP thread. */
static void status_read_answer(sd_req *r, void *arg)
{
    status_read *sr = arg;
    if (sr->poll.retry) {
        /* The store wants to write or repair, or the read was lost: the
         * poll again, where it may wait. */
        sd_req_blocking(r, status_read_again, sr);
        return;
    }
    sd_metrics_poll(sd_req_app(r)->metrics, true);
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get_finish(sr->id, &sr->poll, &v);
    status_answer(r, sr->id, err, &v);
    sd_job_view_clear(&v);
}

/* Starts the poll of id without waiting: true when r is suspended until
 * the answer, false when it must be read the waiting way. */
static bool status_read_start(sd_req *r, const char *id)
{
    status_read *sr = malloc(sizeof *sr);
    if (sr == NULL)
        return false;
    *sr = (status_read){.poll = {.done = status_read_done, .arg = sr, .rec = SD_RECORD_INIT},
                        .r = r};
    memcpy(sr->id, id, sizeof sr->id);
    /* Suspended first: the answer may come before the start returns. */
    sd_req_on_end(r, status_read_free, sr);
    sd_req_suspend(r, status_read_answer, sr);
    if (!sd_jobs_get_start(sd_req_app(r)->jobs, id, &sr->poll)) {
        sr->poll.retry = true;
        sd_req_resume(r);
    }
    return true;
}

void api_status_get(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!api_job_id_param(r, id))
        return;
    int64_t wait_s = 0;
    if (!api_wait_param(r, &wait_s))
        return;
    bool hold = wait_s > 0 && sd_req_header(r, "If-None-Match") != NULL;
    if (!sd_req_may_block(r)) {
        /* On the HTTP thread (SD_ROUTE_NO_WAIT) with a store that waits. */
        if (hold || !status_read_start(r, id))
            sd_req_blocking(r, status_get_again, NULL);
        return;
    }
    if (hold) {
        api_hold_poll(r, &job_source, id, wait_s);
        return;
    }
    sd_metrics_poll(sd_req_app(r)->metrics, false);
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get(sd_req_app(r)->jobs, id, &v);
    status_answer(r, id, err, &v);
    sd_job_view_clear(&v);
}

void api_status_events(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (api_job_id_param(r, id))
        api_hold_events(r, &job_source, id);
}

void api_status_delete(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!api_job_id_param(r, id))
        return;
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_cancel(sd_req_app(r)->jobs, id, &v);
    if (err == SD_ERR_CONFLICT) {
        sd_resp_problem(r, err, "job %s is already %s", id, v.status);
    } else if (err != SD_OK) {
        api_job_error(r, err, id);
    } else {
        char etag[API_ETAG_LEN];
        api_etag_text(v.etag, etag);
        api_job_view_headers(r, &v, etag);
        sd_resp_json(r, 200, &v.json);
    }
    sd_job_view_clear(&v);
}

/* ---- PATCH /status/<id>: the app's reports ---- */

#define STAGE_MAX_CHARS 64

/* The job's error as a report gives it: {"code": 1..47 bytes, "message":
 * string}, other members refused; written compact into out. */
static bool report_error(const cJSON *e, sd_buf *out, char *why, size_t whylen)
{
    const cJSON *code = NULL, *message = NULL;
    if (!cJSON_IsObject(e)) {
        snprintf(why, whylen, "'error' must be an object {\"code\", \"message\"}");
        return false;
    }
    for (const cJSON *it = e->child; it != NULL; it = it->next) {
        if (strcmp(it->string, "code") == 0 && code == NULL) {
            code = it;
        } else if (strcmp(it->string, "message") == 0 && message == NULL) {
            message = it;
        } else {
            snprintf(why, whylen, "'error' has an unknown or repeated field '%.64s'",
                     it->string);
            return false;
        }
    }
    if (!cJSON_IsString(code) || code->valuestring[0] == '\0' ||
        strlen(code->valuestring) >= SD_ERROR_CODE_MAX) {
        snprintf(why, whylen, "'error.code' must be a string of 1 to %d bytes",
                 SD_ERROR_CODE_MAX - 1);
        return false;
    }
    if (!cJSON_IsString(message)) {
        snprintf(why, whylen, "'error.message' must be a string");
        return false;
    }
    sd_buf_puts(out, "{\"code\":");
    sd_json_append_string(out, code->valuestring, strlen(code->valuestring));
    sd_buf_puts(out, ",\"message\":");
    sd_json_append_string(out, message->valuestring, strlen(message->valuestring));
    sd_buf_putc(out, '}');
    return true;
}

/* The members of a report; false with the reason (naming the field). */
static bool report_fields(const cJSON *body, const cJSON *f[5], char *why, size_t whylen)
{
    static const char *const names[5] = {"progress", "stage", "status", "result", "error"};
    if (!cJSON_IsObject(body)) {
        snprintf(why, whylen, "body must be a JSON object");
        return false;
    }
    for (const cJSON *it = body->child; it != NULL; it = it->next) {
        size_t i = 0;
        while (i < 5 && strcmp(it->string, names[i]) != 0)
            i++;
        if (i == 5 || f[i] != NULL) {
            snprintf(why, whylen, "unknown or repeated field '%.64s' (a report has progress, "
                     "stage, status, result, error)", it->string);
            return false;
        }
        f[i] = it;
    }
    return true;
}

/* Reads a report body into *rep (result and error texts into the
 * buffers). False with the reason, naming the field. */
static bool report_parse(const cJSON *body, sd_job_report *rep, sd_buf *result,
                         sd_buf *error, char *why, size_t whylen)
{
    const cJSON *f[5] = {NULL};
    if (!report_fields(body, f, why, whylen))
        return false;
    const cJSON *progress = f[0], *stage = f[1], *status = f[2], *res = f[3], *err = f[4];
    *rep = (sd_job_report){.progress = -1};
    if (progress != NULL) {
        double v = cJSON_IsNumber(progress) ? progress->valuedouble : -1;
        if (!(v >= 0 && v <= 100) || (double)(int)v != v) {
            snprintf(why, whylen, "'progress' must be an integer from 0 to 100");
            return false;
        }
        rep->progress = (int)v;
    }
    if (stage != NULL) {
        if (!cJSON_IsString(stage) ||
            sd_utf8_length(stage->valuestring, strlen(stage->valuestring)) > STAGE_MAX_CHARS) {
            snprintf(why, whylen, "'stage' must be a string of at most %d characters",
                     STAGE_MAX_CHARS);
            return false;
        }
        rep->stage = stage->valuestring;
    }
    if (status != NULL) {
        if (!cJSON_IsString(status) || (strcmp(status->valuestring, "completed") != 0 &&
                                        strcmp(status->valuestring, "failed") != 0)) {
            snprintf(why, whylen, "'status' must be \"completed\" or \"failed\"");
            return false;
        }
        rep->status = status->valuestring;
    }
    bool completed = rep->status != NULL && strcmp(rep->status, "completed") == 0;
    bool failed = rep->status != NULL && !completed;
    if (res != NULL && !completed) {
        snprintf(why, whylen, "'result' goes with \"status\": \"completed\" only");
        return false;
    }
    if (err != NULL && !failed) {
        snprintf(why, whylen, "'error' goes with \"status\": \"failed\" only");
        return false;
    }
    if (failed && err == NULL) {
        snprintf(why, whylen, "'error' {\"code\", \"message\"} is required with "
                 "\"status\": \"failed\"");
        return false;
    }
    if (completed) {
        if (res != NULL)
            sd_json_append_item(result, res);
        else
            sd_buf_puts(result, "null");
        rep->result = result->data;
        rep->result_len = result->len;
    }
    if (failed) {
        if (!report_error(err, error, why, whylen))
            return false;
        rep->error = error->data;
        rep->error_len = error->len;
    }
    return true;
}

void api_status_patch(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!api_job_id_param(r, id))
        return;
    size_t tlen = 0;
    const char *bearer = sd_req_bearer(r, &tlen);
    if (bearer == NULL || tlen == 0 || tlen > 128) {
        sd_resp_problem(r, SD_ERR_UNAUTHORIZED, "a report needs Authorization: Bearer "
                        "<run token> of the job's run");
        return;
    }
    char token[129];
    memcpy(token, bearer, tlen);
    token[tlen] = '\0';
    char why[200];
    sd_job_report rep;
    sd_buf result = SD_BUF_INIT, error = SD_BUF_INIT;
    if (!report_parse(sd_req_json(r), &rep, &result, &error, why, sizeof why)) {
        sd_resp_problem(r, SD_ERR_INVALID, "%s", why);
    } else if (!sd_buf_ok(&result) || !sd_buf_ok(&error)) {
        api_job_error(r, SD_ERR_NOMEM, id);
    } else {
        sd_job_view v = SD_JOB_VIEW_INIT;
        sd_err err = sd_jobs_report(sd_req_app(r)->jobs, id,
                                    sd_req_is_admin(r) ? NULL : token, &rep, &v, why,
                                    sizeof why);
        if (err == SD_OK) {
            char etag[API_ETAG_LEN];
            api_etag_text(v.etag, etag);
            api_job_view_headers(r, &v, etag);
            sd_resp_json(r, 200, &v.json);
        } else if (err == SD_ERR_INVALID) {
            sd_resp_problem(r, err, "%s", why);
        } else if (err == SD_ERR_UNAUTHORIZED) {
            sd_resp_problem(r, err, "the token is not the run token of job %s", id);
        } else if (err == SD_ERR_STALE_RUN) {
            sd_resp_problem(r, err, "the token belongs to a run of job %s that has ended; "
                            "the job runs again or waits to", id);
        } else if (err == SD_ERR_JOB_FINISHED) {
            sd_resp_problem(r, err, "job %s is already %s", id, v.status);
        } else if (err == SD_ERR_CONFLICT) {
            sd_resp_header(r, "Retry-After", "1");
            sd_resp_problem(r, err, "job %s kept changing; report again", id);
        } else {
            api_job_error(r, err, id);
        }
        sd_job_view_clear(&v);
    }
    sd_buf_free(&result);
    sd_buf_free(&error);
}
