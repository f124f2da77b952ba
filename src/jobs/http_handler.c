/*
 * http://... and https://... handlers: a job runs as one POST to the app.
 *
 * The request carries {"id","kind","input","attempt"} as JSON and the
 * headers Statusd-Job-Id and Statusd-Run-Token (the run's token, with
 * which the app may also report through PATCH /status/<id>). What the
 * app answers decides the run:
 *   2xx application/json      the body is the result: completed (an
 *                             empty body, as a 204's, is a null result)
 *   2xx application/x-ndjson  each line as it arrives, in exec's line
 *                             protocol (progress, stage, result, error);
 *                             the end of the body completes the run with
 *                             the last result, an error line fails it
 *   202                       handed off: the app reports itself
 *   408, 429, 5xx, transport  failed "handler_failed", retried; 429 and
 *   errors, job_timeout       503 with Retry-After set the earliest retry
 *   other answers             failed "handler_rejected", never retried
 *
 * DESIGN. Each worker thread keeps one easy handle inside one multi
 * handle of its own (thread-specific data, freed when the thread ends),
 * whatever the handler: connections stay open between jobs (keep-alive)
 * and no lock is taken on the way. The transfer is driven through the
 * multi handle in steps of at most CANCEL_TICK_MS so that a cancel (or a
 * shutdown) stops the request within that time; the easy handle's own
 * progress callback would only be called about once a second when the
 * app is silent. HTTPS verifies the peer and its name (libcurl's
 * defaults); redirects are not followed (an answer 3xx is a rejection).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "jobs/exec_protocol.h"
#include "jobs/handlers.h"
#include "statusd/json.h"
#include "statusd/log.h"
#include "statusd/util.h"

#define CANCEL_TICK_MS 100
#define CONNECT_TIMEOUT_MS 10000
/* Largest JSON answer kept as a result. */
#define BODY_MAX (8 * 1024 * 1024)
/* Start of a failing answer's body quoted in the error message. */
#define EXCERPT_MAX 200

typedef struct http_handler {
    sd_handler base;
    char *url;
    char *shown;      /* url without user, password, query or fragment: for messages */
} http_handler;

/* A worker thread's transfer handles. */
typedef struct http_conn {
    CURLM *multi;
    CURL *easy;
} http_conn;

typedef enum body_mode {
    BODY_UNKNOWN = 0,   /* no byte of the body seen yet */
    BODY_BUFFER,        /* kept (JSON result, or an excerpt for the error) */
    BODY_STREAM         /* NDJSON: read line by line */
} body_mode;

/* One run's state, on its thread's stack. */
typedef struct http_run {
    const sd_job_run *job;
    CURL *easy;
    body_mode mode;
    long status;
    sd_buf body;                  /* BODY_BUFFER */
    bool body_cut;                /* more than it keeps arrived */
    sd_exec_lines lines;          /* BODY_STREAM */
    char *result;                 /* the last result line's, NULL = null */
    bool failed_line;             /* an error line ended the stream */
    char error_code[SD_ERROR_CODE_MAX];
    char *error_message;
    bool nomem;
} http_run;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;
static pthread_key_t conn_key;

static void conn_free(void *p)
{
    http_conn *c = p;
    if (c == NULL)
        return;
    if (c->easy != NULL)
        curl_easy_cleanup(c->easy);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    free(c);
}

/* libcurl's global set-up is not thread-safe: done once, before the
 * first handler exists (handlers are built at start-up, on one thread). */
static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK &&
                 pthread_key_create(&conn_key, conn_free) == 0;
}

/* The calling thread's handles, made on first use; NULL when they cannot
 * be. */
static http_conn *conn_get(void)
{
    http_conn *c = pthread_getspecific(conn_key);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (c->multi == NULL || c->easy == NULL || pthread_setspecific(conn_key, c) != 0) {
        conn_free(c);
        return NULL;
    }
    return c;
}

/* ---- the answer's body ---- */

static bool status_ok(long status) { return status >= 200 && status < 300 && status != 202; }

static void stream_line(void *arg, const char *line, size_t len)
{
    http_run *r = arg;
    if (r->failed_line)
        return;
    sd_exec_line l;
    sd_err err = sd_exec_parse_line(line, len, &l);
    if (err == SD_ERR_NOMEM) {
        r->nomem = true;
        return;
    }
    if (err != SD_OK)
        return; /* not a report: the app's own output */
    if (l.has_progress || l.has_stage)
        r->job->report(r->job->report_arg, l.has_progress ? l.progress : -1,
                       l.has_stage ? (l.stage != NULL ? l.stage : "") : NULL);
    if (l.has_result) {
        free(r->result);
        r->result = l.result;
        l.result = NULL;
    }
    if (l.has_error) {
        r->failed_line = true;
        snprintf(r->error_code, sizeof r->error_code, "%s", l.error_code);
        r->error_message = l.error_message;
        l.error_message = NULL;
    }
    sd_exec_line_free(&l);
}

/* The first bytes of the body decide how it is read: the status and the
 * content type are known by then. */
static void body_start(http_run *r)
{
    const char *ctype = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
    bool stream = status_ok(r->status) && ctype != NULL &&
                  strncasecmp(ctype, "application/x-ndjson", 20) == 0;
    r->mode = stream ? BODY_STREAM : BODY_BUFFER;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    http_run *r = arg;
    size_t len = size * n;
    if (r->mode == BODY_UNKNOWN)
        body_start(r);
    if (r->mode == BODY_STREAM) {
        if (sd_exec_lines_feed(&r->lines, data, len, stream_line, r, NULL) != SD_OK)
            r->nomem = true;
        /* An error line ends the run: the rest is not waited for. */
        return r->failed_line ? 0 : len;
    }
    size_t room = BODY_MAX - r->body.len;
    if (len > room) {
        r->body_cut = true;
        len = room;
    }
    sd_buf_append(&r->body, data, len);
    return size * n;
}

/* ---- the outcome ---- */

/* "<what>: HTTP <status>: <start of the body>" */
static void fail_status(http_run *r, sd_outcome *out, const char *code)
{
    sd_buf msg = SD_BUF_INIT;
    sd_buf_printf(&msg, "the app answered HTTP %ld", r->status);
    if (r->body.len > 0 && sd_buf_ok(&r->body)) {
        size_t n = r->body.len < EXCERPT_MAX ? r->body.len : EXCERPT_MAX;
        sd_buf_puts(&msg, ": ");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)r->body.data[i];
            sd_buf_putc(&msg, c < 0x20 || c == 0x7f ? ' ' : (char)c);
        }
        if (n < r->body.len)
            sd_buf_puts(&msg, "...");
    }
    sd_outcome_fail(out, code, sd_buf_ok(&msg) ? msg.data : "the app failed the run");
    sd_buf_free(&msg);
}

static bool status_retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* A 2xx JSON answer: its body, checked as any JSON statusd keeps; an
 * empty body (204) completes the job with a null result. */
static void complete_json(http_run *r, sd_outcome *out)
{
    if (r->body.len == 0 && sd_buf_ok(&r->body)) {
        out->kind = SD_OUTCOME_COMPLETED;
        return;
    }
    if (r->body_cut) {
        sd_outcome_fail(out, "handler_rejected", "the app's answer is larger than 8 MiB");
        out->final = true;
        return;
    }
    cJSON *doc = NULL;
    sd_err err = sd_buf_ok(&r->body)
                     ? sd_json_parse(r->body.data, r->body.len, SD_JSON_MAX_DEPTH, &doc)
                     : SD_ERR_NOMEM;
    if (err == SD_ERR_NOMEM) {
        sd_outcome_fail(out, "handler_failed", "out of memory for the app's answer");
        return;
    }
    if (err != SD_OK) {
        sd_outcome_fail(out, "handler_rejected",
                        err == SD_ERR_TOO_DEEP  ? "the app's answer is JSON nested too deeply"
                        : err == SD_ERR_INVALID ? "the app's answer holds a number that is not "
                                                  "finite"
                                                : "the app's answer is not valid UTF-8 JSON");
        cJSON_Delete(doc);
        out->final = true;
        return;
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text == NULL) {
        sd_outcome_fail(out, "handler_failed", "out of memory for the result");
        return;
    }
    out->kind = SD_OUTCOME_COMPLETED;
    out->result = strdup(text);
    cJSON_free(text);
    if (out->result == NULL)
        sd_outcome_fail(out, "handler_failed", "out of memory for the result");
}

static void decide(http_run *r, CURLcode cc, const http_handler *h, sd_outcome *out)
{
    if (r->mode == BODY_UNKNOWN)
        body_start(r);
    if (r->nomem) {
        sd_outcome_fail(out, "handler_failed", "out of memory reading the app's answer");
        return;
    }
    if (r->mode == BODY_STREAM) {
        if (r->failed_line) {
            sd_outcome_fail(out, r->error_code, r->error_message);
            out->final = true;
            return;
        }
        if (cc == CURLE_OK) {
            sd_exec_lines_end(&r->lines, stream_line, r);
            if (r->failed_line) {
                sd_outcome_fail(out, r->error_code, r->error_message);
                out->final = true;
                return;
            }
            out->kind = SD_OUTCOME_COMPLETED;
            out->result = r->result;
            r->result = NULL;
            return;
        }
    }
    if (cc == CURLE_OPERATION_TIMEDOUT && r->job->timeout_ms > 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "no whole answer from %s within job_timeout (%lld ms)",
                 h->shown, (long long)r->job->timeout_ms);
        sd_outcome_fail(out, "handler_failed", msg);
        return;
    }
    if (cc != CURLE_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "request to %s failed: %s", h->shown,
                 curl_easy_strerror(cc));
        sd_outcome_fail(out, "handler_failed", msg);
        return;
    }
    if (r->status == 202) {
        out->kind = SD_OUTCOME_HANDED_OFF;
        return;
    }
    if (status_ok(r->status)) {
        complete_json(r, out);
        return;
    }
    bool retry = status_retryable(r->status);
    fail_status(r, out, retry ? "handler_failed" : "handler_rejected");
    out->final = !retry;
    if (r->status == 429 || r->status == 503) {
        curl_off_t after = 0;
        if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
            after > 0)
            out->retry_after_ms = (int64_t)(after > 86400 ? 86400 : after) * 1000;
    }
}

/* ---- the run ---- */

/* The request body: {"id","kind","input","attempt"}. */
static void request_body(const sd_job_run *job, sd_buf *b)
{
    sd_buf_puts(b, "{\"id\":");
    sd_json_append_string(b, job->id, strlen(job->id));
    sd_buf_puts(b, ",\"kind\":");
    sd_json_append_string(b, job->kind, strlen(job->kind));
    sd_buf_puts(b, ",\"input\":");
    sd_buf_append(b, job->input, job->input_len);
    sd_buf_printf(b, ",\"attempt\":%lld}", (long long)job->attempt);
}

static struct curl_slist *request_headers(const sd_job_run *job)
{
    char line[160];
    struct curl_slist *list = NULL, *next;
    const char *fixed[] = {"Content-Type: application/json",
                           "Accept: application/json, application/x-ndjson", "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if ((next = curl_slist_append(list, fixed[i])) == NULL)
            goto fail;
        list = next;
    }
    snprintf(line, sizeof line, "Statusd-Job-Id: %s", job->id);
    if ((next = curl_slist_append(list, line)) == NULL)
        goto fail;
    list = next;
    if (job->run_token != NULL) {
        snprintf(line, sizeof line, "Statusd-Run-Token: %s", job->run_token);
        if ((next = curl_slist_append(list, line)) == NULL)
            goto fail;
        list = next;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

static bool easy_setup(CURL *e, const http_handler *h, const sd_job_run *job,
                       const sd_buf *body, struct curl_slist *headers, http_run *r)
{
    curl_easy_reset(e);
    bool ok = curl_easy_setopt(e, CURLOPT_URL, h->url) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
              curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
#endif
              curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len) ==
                  CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS) ==
                  CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_USERAGENT, "statusd") == CURLE_OK;
    if (ok && job->timeout_ms > 0)
        ok = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)job->timeout_ms) == CURLE_OK;
    return ok;
}

/* Drives the transfer to its end, or until the cancel flag is set
 * (*canceled). The transfer's own result into *cc. */
static bool transfer(http_conn *c, const sd_job_run *job, CURLcode *cc)
{
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
        *cc = CURLE_FAILED_INIT;
        return false;
    }
    bool canceled = false;
    *cc = CURLE_OK;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            *cc = CURLE_FAILED_INIT;
            break;
        }
        if (running == 0) {
            int left = 0;
            CURLMsg *m;
            while ((m = curl_multi_info_read(c->multi, &left)) != NULL)
                if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy)
                    *cc = m->data.result;
            break;
        }
        if (sd_run_stopping(job)) {
            canceled = true;
            break;
        }
        if (curl_multi_poll(c->multi, NULL, 0, CANCEL_TICK_MS, NULL) != CURLM_OK) {
            *cc = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(c->multi, c->easy);
    return canceled;
}

static sd_err http_run_job(sd_handler *hb, const sd_job_run *job, sd_outcome *out)
{
    http_handler *h = (http_handler *)hb;
    memset(out, 0, sizeof *out);
    http_conn *c = conn_get();
    sd_buf body = SD_BUF_INIT;
    request_body(job, &body);
    struct curl_slist *headers = request_headers(job);
    http_run r = {.job = job, .lines = SD_EXEC_LINES_INIT, .body = SD_BUF_INIT};
    r.easy = c != NULL ? c->easy : NULL;
    if (c == NULL || !sd_buf_ok(&body) || headers == NULL ||
        !easy_setup(c->easy, h, job, &body, headers, &r)) {
        sd_outcome_fail(out, "handler_failed", "cannot set up the request to the app");
        curl_slist_free_all(headers);
        sd_buf_free(&body);
        return SD_ERR_NOMEM;
    }
    CURLcode cc;
    if (transfer(c, job, &cc))
        out->kind = SD_OUTCOME_CANCELED;
    else
        decide(&r, cc, h, out);
    if (out->kind == SD_OUTCOME_FAILED)
        sd_debug("job %s: %s: %s", job->id, out->error_code,
                 out->error_message != NULL ? out->error_message : "");
    curl_slist_free_all(headers);
    sd_buf_free(&body);
    sd_buf_free(&r.body);
    sd_buf_free(&r.lines.line);
    free(r.result);
    free(r.error_message);
    return SD_OK;
}

static void http_free(sd_handler *hb)
{
    http_handler *h = (http_handler *)hb;
    free(h->url);
    free(h->shown);
    free(h);
}

static const sd_handler_ops http_ops = {
    .scheme = "http",
    .flags = SD_HANDLER_TOKEN,
    .run = http_run_job,
    .free = http_free,
};

sd_err sd_http_handler_new(const char *url, sd_handler **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_once(&curl_once, curl_setup);
    if (!curl_ready) {
        sd_errf(err, errlen, "libcurl could not be initialised");
        return SD_ERR_INTERNAL;
    }
    CURLU *u = curl_url();
    if (u == NULL)
        return SD_ERR_NOMEM;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *host = NULL;
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_free(host);
    /* What messages show of the URL: its credentials, query and fragment
     * never reach a job's error or a log line. */
    char *shown = NULL;
    if (uc == CURLUE_OK && curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_URL, &shown, 0);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK || shown == NULL || strchr(url, ' ') != NULL) {
        curl_free(shown);
        sd_errf(err, errlen, "'%s' is not a usable URL", url);
        return SD_ERR_INVALID;
    }
    http_handler *h = calloc(1, sizeof *h);
    if (h == NULL || (h->url = strdup(url)) == NULL || (h->shown = strdup(shown)) == NULL) {
        curl_free(shown);
        if (h != NULL)
            free(h->url);
        free(h);
        return SD_ERR_NOMEM;
    }
    curl_free(shown);
    h->base.ops = &http_ops;
    *out = &h->base;
    return SD_OK;
}
