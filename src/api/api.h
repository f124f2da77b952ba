#ifndef STATUSD_API_H
#define STATUSD_API_H

#include "statusd/http.h"
#include "statusd/store.h"
#include "statusd/util.h"

/* Route handlers, one file per resource; the table is in routes.c. */

void api_research_post(sd_req *r);
void api_status_get(sd_req *r);
void api_status_delete(sd_req *r);
void api_status_patch(sd_req *r);
void api_jobs_post(sd_req *r);
void api_jobs_list(sd_req *r);
void api_status_retry(sd_req *r);
void api_status_events(sd_req *r);

void api_web_page_get(sd_req *r);
void api_web_module_get(sd_req *r);

/* ---- what the job routes share (api/jobs.c) ---- */

/* The :id parameter as a C string when it is a canonical UUID; else a
 * 404 was answered before any store call and false returned. */
bool api_job_id_param(sd_req *r, char id[SD_UUID_LEN + 1]);
/* The problem answer of a failed job operation on job id. */
void api_job_error(sd_req *r, sd_err err, const char *id);
struct sd_job_view;
/* ETag (etag: the view's, as api_etag_text gives it), Cache-Control and,
 * while the job runs, Retry-After. */
void api_job_view_headers(sd_req *r, const struct sd_job_view *v, const char *etag);

/* ---- long-polls (api/longpoll.c) ---- */

/*
 * The wait a request asks for: the query's wait=<seconds>, else the
 * Prefer header's wait=<seconds> (RFC 7240), cut to max_wait; 0 when
 * neither is given. False after a 400 for any other text.
 */
bool api_wait_param(sd_req *r, int64_t *wait_s);

void api_uploads_post(sd_req *r);
void api_upload_status_get(sd_req *r);
void api_upload_status_events(sd_req *r);
void api_uploads_retry_post(sd_req *r);

void api_chat_post(sd_req *r);
void api_chat_history_get(sd_req *r);
void api_chat_history_delete(sd_req *r);

void api_sessions_post(sd_req *r);
void api_sessions_list(sd_req *r);
void api_session_get(sd_req *r);
void api_session_put(sd_req *r);
void api_session_patch(sd_req *r);
void api_session_delete(sd_req *r);
void api_session_touch(sd_req *r);

void api_health_get(sd_req *r);
void api_ready_get(sd_req *r);
void api_health_store_get(sd_req *r);

/* The ratelimit_create check of a request about to create a session or
 * a conversation, per client address (sd_req_ratelimit: true to go on,
 * false when it answered). Writes to existing state are not counted. */
bool api_create_allowed(sd_req *r);

/* Appends "bytes_held":N,"bytes_max":M, what the store counts it holds
 * and its cap (0: none), both null for a store that does not count (Redis
 * bounds itself with maxmemory). */
void api_store_bytes_json(sd_store *s, sd_buf *b);

void api_stats_get(sd_req *r);
void api_metrics_get(sd_req *r);

/* console.c: the operations console's page and files */
void api_console_get(sd_req *r);
void api_console_slash_get(sd_req *r);
void api_console_script_get(sd_req *r);
void api_console_style_get(sd_req *r);
void api_admin_data_delete(sd_req *r);

#endif
