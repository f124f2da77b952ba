#ifndef SD_TEST_APP_SERVER_H
#define SD_TEST_APP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A small web app for the tests of http:// handlers: a real HTTP/1.1
 * server on a free port of 127.0.0.1, one thread per connection,
 * keep-alive, that answers statusd's POSTs by path:
 *   /json          200 application/json {"echo": <request body>,
 *                  "token": <Statusd-Run-Token>, "job": <Statusd-Job-Id>}
 *   /ndjson        200 application/x-ndjson, chunked: a progress line
 *                  {"progress":30,"stage":"analyzing"}, then, once the
 *                  gate is open, a line of plain text and
 *                  {"result":{"lines":3}}
 *   /ndjson-error  200 application/x-ndjson: a progress line, then
 *                  {"error":{"code":"quota","message":"out of credits"}}
 *   /no-content    204
 *   /html          200 text/html, not JSON
 *   /accept        202, empty: the app takes the job and reports itself
 *   /flaky         503 with Retry-After: 1 the first time, then as /json
 *   /flaky-accept  503 with Retry-After: 1 the first time, then 202
 *   /reject        400 {"detail":"input refused"}
 *   /slow          200 with a Content-Length it never sends, until the
 *                  gate opens or the client goes away
 * Every request is recorded; tests wait for them and read what statusd
 * sent.
 */

typedef struct app_server app_server;

/* Starts the app; NULL on failure. */
app_server *app_server_start(void);

unsigned app_server_port(const app_server *a);

/* "http://127.0.0.1:<port><path>" into out. */
void app_server_url(const app_server *a, const char *path, char *out, size_t outlen);

/* Lets /ndjson finish and /slow answer. */
void app_server_open_gate(app_server *a);

/* What statusd sent in one request. The body is NUL-terminated. */
typedef struct app_request {
    char path[64];
    char token[128];     /* Statusd-Run-Token, "" when absent */
    char job_id[64];     /* Statusd-Job-Id, "" when absent */
    char content_type[64];
    char body[4096];
    long long at_ms;     /* when it arrived, monotonic milliseconds */
} app_request;

/* Waits up to deadline_ms for the nth request (1 = the first) to path
 * and copies it to out. False when it did not come. */
bool app_server_wait_request(app_server *a, const char *path, int nth, app_request *out,
                             int deadline_ms);

/* Requests to path so far. */
int app_server_count(app_server *a, const char *path);

/* Waits up to deadline_ms until the client closed a /slow request's
 * connection before it was answered. */
bool app_server_wait_slow_dropped(app_server *a, int deadline_ms);

/* Closes every connection, joins every thread, frees a. NULL is fine. */
void app_server_stop(app_server *a);

#endif
