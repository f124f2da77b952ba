/* The route table: every endpoint, its method and what the router checks
 * before the handler runs. Reads of a job need only its unguessable id;
 * everything that changes state needs api_token when one is set. */
#include "api/api.h"
#include "statusd/app.h"

static const sd_route routes[] = {
    {"POST", "/research", api_research_post,
     SD_ROUTE_BODY | SD_ROUTE_AUTH | SD_ROUTE_LIMIT_SUBMIT, "application/json"},
    {"GET", "/status/:id", api_status_get, SD_ROUTE_NO_WAIT, NULL},
    {"GET", "/status/:id/events", api_status_events, 0, NULL},
    {"DELETE", "/status/:id", api_status_delete, SD_ROUTE_AUTH, NULL},
    /* the app's reports carry the run's token (or the admin token),
     * checked against the job by the handler */
    {"PATCH", "/status/:id", api_status_patch, SD_ROUTE_BODY,
     "application/json or application/merge-patch+json"},
    /* listing hands out every job's id, the capability to read it */
    {"GET", "/jobs", api_jobs_list, SD_ROUTE_OPS, NULL},
    {"POST", "/status/:id/retry", api_status_retry, SD_ROUTE_OPS | SD_ROUTE_LIMIT_SUBMIT, NULL},
    /* DELETE /status/<id> for the console, which holds the admin token */
    {"POST", "/status/:id/cancel", api_status_delete, SD_ROUTE_OPS, NULL},
    {"POST", "/jobs/:kind", api_jobs_post,
     SD_ROUTE_BODY | SD_ROUTE_AUTH | SD_ROUTE_LIMIT_SUBMIT, "application/json"},
    /* a run's status is read by its (post_id, run_id), like a job's */
    {"POST", "/uploads", api_uploads_post,
     SD_ROUTE_BODY | SD_ROUTE_AUTH | SD_ROUTE_LIMIT_SUBMIT, "application/json"},
    {"GET", "/upload-status", api_upload_status_get, 0, NULL},
    {"GET", "/upload-status/events", api_upload_status_events, 0, NULL},
    {"POST", "/uploads/retry", api_uploads_retry_post, SD_ROUTE_AUTH | SD_ROUTE_LIMIT_SUBMIT,
     NULL},
    /* user ids are guessable (phone numbers), so reading a history needs
     * the token too */
    {"POST", "/chat", api_chat_post, SD_ROUTE_BODY | SD_ROUTE_AUTH, "application/json"},
    {"GET", "/chat/history/:user_id", api_chat_history_get, SD_ROUTE_AUTH, NULL},
    {"DELETE", "/chat/history/:user_id", api_chat_history_delete, SD_ROUTE_AUTH, NULL},
    /* a session id may be chosen by the client, and the listing hands out
     * every id, so listing needs the token; reading one needs its id */
    {"POST", "/sessions", api_sessions_post, SD_ROUTE_BODY | SD_ROUTE_AUTH, "application/json"},
    {"GET", "/sessions", api_sessions_list, SD_ROUTE_AUTH, NULL},
    {"GET", "/sessions/:id", api_session_get, 0, NULL},
    {"PUT", "/sessions/:id", api_session_put, SD_ROUTE_BODY | SD_ROUTE_AUTH, "application/json"},
    {"PATCH", "/sessions/:id", api_session_patch, SD_ROUTE_BODY | SD_ROUTE_AUTH,
     "application/merge-patch+json"},
    {"DELETE", "/sessions/:id", api_session_delete, SD_ROUTE_AUTH, NULL},
    {"POST", "/sessions/:id/touch", api_session_touch, SD_ROUTE_AUTH, NULL},
    /* the browser kit and its demo page (web_ui) */
    {"GET", "/", api_web_page_get, SD_ROUTE_NO_STORE, NULL},
    {"GET", "/statusd.js", api_web_module_get, SD_ROUTE_NO_STORE, NULL},
    {"GET", "/health", api_health_get, SD_ROUTE_NO_STORE, NULL},
    {"GET", "/health/store", api_health_store_get, 0, NULL},
    {"GET", "/ready", api_ready_get, 0, NULL},
    {"GET", "/stats", api_stats_get, 0, NULL},
    {"GET", "/metrics", api_metrics_get, 0, NULL},
    {"DELETE", "/admin/data", api_admin_data_delete, SD_ROUTE_ADMIN, NULL},
    /* the console's files hold no data: the page asks for a token */
    {"GET", "/console", api_console_get, 0, NULL},
    {"GET", "/console/", api_console_slash_get, 0, NULL},
    {"GET", "/console/app.js", api_console_script_get, 0, NULL},
    {"GET", "/console/style.css", api_console_style_get, 0, NULL},
};

const sd_route *sd_api_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}

bool api_create_allowed(sd_req *r)
{
    return sd_req_ratelimit(r, "create", sd_req_client_key(r),
                            sd_req_app(r)->cfg->ratelimit_create);
}
