/*
 * The operations on jobs as a whole: GET /jobs (the listing, newest
 * first, filtered by status and kind) and POST /status/<id>/retry. The
 * listing's cursor is the order key of the last job it examined, handed
 * out as text that clients pass back unread.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "statusd/app.h"
#include "statusd/handler.h"
#include "statusd/jobs.h"

#define LIST_LIMIT_DEFAULT 50

/* The status parameter: NULL for none, else one of sd_job_statuses; a
 * 400 naming it for anything else. */
static bool status_param(sd_req *r, const char *text, const char **out)
{
    *out = NULL;
    if (text == NULL)
        return true;
    for (size_t i = 0; i < SD_JOB_STATUS_COUNT; i++)
        if (strcmp(text, sd_job_statuses[i]) == 0) {
            *out = sd_job_statuses[i];
            return true;
        }
    sd_resp_problem(r, SD_ERR_INVALID, "status must be one of queued, processing, "
                    "completed, failed, canceled");
    return false;
}

/* Reads the listing's query parameters into *q; false after a 400 that
 * names the bad one. */
static bool list_query(sd_req *r, sd_jobs_query *q)
{
    const char *status, *kind, *limit, *cursor, *full;
    if (!sd_req_query(r, "status", &status) || !sd_req_query(r, "kind", &kind) ||
        !sd_req_query(r, "limit", &limit) || !sd_req_query(r, "cursor", &cursor) ||
        !sd_req_query(r, "full", &full))
        return false;
    *q = (sd_jobs_query){.kind = kind, .limit = LIST_LIMIT_DEFAULT};
    if (!status_param(r, status, &q->status))
        return false;
    if (kind != NULL && !sd_kind_name_valid(kind, strlen(kind))) {
        sd_resp_problem(r, SD_ERR_INVALID, "kind must be a job kind: [a-z][a-z0-9_-] of at "
                        "most %d characters", SD_KIND_MAX);
        return false;
    }
    int64_t n = 0;
    if (limit != NULL && sd_parse_i64(limit, 1, SD_JOBS_LIST_MAX, &n) != SD_OK) {
        sd_resp_problem(r, SD_ERR_INVALID, "limit must be an integer from 1 to %d",
                        SD_JOBS_LIST_MAX);
        return false;
    }
    if (limit != NULL)
        q->limit = (size_t)n;
    if (cursor != NULL && cursor[0] != '\0' &&
        sd_parse_i64(cursor, 1, INT64_MAX, &q->before) != SD_OK) {
        sd_resp_problem(r, SD_ERR_INVALID,
                        "cursor must be a next_cursor that this listing handed out");
        return false;
    }
    if (full != NULL && strcmp(full, "1") != 0 && strcmp(full, "0") != 0) {
        sd_resp_problem(r, SD_ERR_INVALID, "full must be 1 (with input and result) or 0");
        return false;
    }
    q->full = full != NULL && full[0] == '1';
    return true;
}

void api_jobs_list(sd_req *r)
{
    sd_jobs_query q;
    if (!list_query(r, &q))
        return;
    sd_buf b = SD_BUF_INIT;
    sd_err err = sd_jobs_list(sd_req_app(r)->jobs, &q, &b);
    if (err != SD_OK) {
        api_job_error(r, err, "");
    } else {
        sd_resp_header(r, "Cache-Control", "no-store");
        sd_resp_json(r, 200, &b);
    }
    sd_buf_free(&b);
}

void api_status_retry(sd_req *r)
{
    char id[SD_UUID_LEN + 1];
    if (!api_job_id_param(r, id))
        return;
    char why[200];
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_retry(sd_req_app(r)->jobs, id, &v, why, sizeof why);
    if (err == SD_OK) {
        char location[64];
        snprintf(location, sizeof location, "/status/%s", id);
        sd_resp_header(r, "Location", location);
        sd_resp_header(r, "Cache-Control", "no-store");
        sd_resp_json(r, 200, &v.json);
    } else if (err == SD_ERR_CONFLICT || err == SD_ERR_UNKNOWN_KIND) {
        sd_resp_problem(r, err, "%s", why);
    } else {
        api_job_error(r, err, id);
    }
    sd_job_view_clear(&v);
}
