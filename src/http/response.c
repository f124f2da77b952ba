/*
 * Responses: what route handlers call to answer, and the one function that
 * turns the answer into an MHD response. Every response carries
 * X-Request-Id; errors are application/problem+json (RFC 9457) with the
 * status and type from problem.c.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/problem.h"
#include "http/request.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/log.h"
#include "statusd/ratelimit.h"

static const char JSON_TYPE[] = "application/json";
static const char PROBLEM_TYPE[] = "application/problem+json";

/* ---- request ids ---- */

static atomic_uint_fast64_t id_counter;
static uint64_t id_prefix;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_init(void)
{
    char u[SD_UUID_LEN + 1];
    sd_uuid_new(u);
    uint64_t v = 0;
    for (const char *p = u; *p; p++) {
        if (*p == '-')
            continue;
        v = (v << 4) | (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
    }
    id_prefix = v;
}

static bool request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                  c == ':';
        if (!ok || n >= SD_REQUEST_ID_MAX)
            return false;
    }
    return n > 0;
}

void sd_req_assign_id(sd_req *r)
{
    const char *given = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                    "X-Request-Id");
    if (given != NULL && request_id_ok(given)) {
        size_t n = strlen(given);
        memcpy(r->request_id, given, n + 1);
        return;
    }
    pthread_once(&id_once, id_init);
    uint64_t seq = atomic_fetch_add(&id_counter, 1) + 1;
    /* "%016llx%016llx" by hand: snprintf costs more than the rest of a
     * poll's routing. */
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        r->request_id[i] = hex[(id_prefix >> (60 - 4 * i)) & 15];
        r->request_id[16 + i] = hex[(seq >> (60 - 4 * i)) & 15];
    }
    r->request_id[32] = '\0';
}

/* ---- answers from route handlers ---- */

void sd_resp_header(sd_req *r, const char *name, const char *value)
{
    sd_buf_append(&r->resp_headers, name, strlen(name) + 1);
    sd_buf_append(&r->resp_headers, value, strlen(value) + 1);
}

static void set_body(sd_req *r, unsigned status, const char *type, char *body,
                     size_t len)
{
    if (r->responded) {
        sd_error("request %s: second response ignored", r->request_id);
        free(body);
        return;
    }
    r->responded = true;
    r->status = status;
    r->content_type = type;
    r->resp_body = body;
    r->resp_len = len;
}

void sd_resp_body(sd_req *r, unsigned status, const char *content_type, sd_buf *body)
{
    size_t len = 0;
    char *data = sd_buf_steal(body, &len);
    if (data == NULL) {
        sd_resp_problem(r, SD_ERR_NOMEM, "could not build the response");
        return;
    }
    set_body(r, status, content_type, data, len);
}

void sd_resp_json(sd_req *r, unsigned status, sd_buf *body)
{
    sd_resp_body(r, status, JSON_TYPE, body);
}

void sd_resp_empty(sd_req *r, unsigned status)
{
    set_body(r, status, NULL, NULL, 0);
}

void sd_resp_problem(sd_req *r, sd_err err, const char *detail_fmt, ...)
{
    const sd_problem *pb = sd_problem_for(err);
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    int n = vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    if (n < 0)
        detail[0] = '\0';

    sd_buf b = SD_BUF_INIT;
    sd_buf_printf(&b, "{\"type\":\"/problems/%s\",\"title\":", pb->slug);
    sd_json_append_string(&b, pb->title, strlen(pb->title));
    sd_buf_printf(&b, ",\"status\":%u,\"detail\":", pb->status);
    sd_json_append_string(&b, detail, strlen(detail));
    sd_buf_puts(&b, "}");
    if (pb->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", pb->retry_after);
        sd_resp_header(r, "Retry-After", ra);
    }
    if (err == SD_ERR_METHOD && r->allow[0] != '\0')
        sd_resp_header(r, "Allow", r->allow);
    if (err == SD_ERR_UNAVAILABLE && r->app->metrics != NULL)
        sd_metrics_store_error(r->app->metrics);
    if (err == SD_ERR_STORE_FULL && r->app->metrics != NULL)
        sd_metrics_store_full(r->app->metrics);
    if (err == SD_ERR_UNAUTHORIZED)
        sd_resp_header(r, "WWW-Authenticate", "Bearer realm=\"statusd\"");
    /* 503s come in floods during an outage the store already logs; a 500
     * is a bug worth a line each. */
    if (pb->status == 500)
        sd_warn("request %s %s %s: %u %s: %s", r->request_id, r->method,
                r->url, pb->status, pb->slug, detail);

    size_t len = 0;
    char *data = sd_buf_steal(&b, &len);
    if (data == NULL) {
        set_body(r, 503, NULL, NULL, 0);
        return;
    }
    set_body(r, pb->status, PROBLEM_TYPE, data, len);
}

/* ---- rate limits ---- */

static int64_t ms_to_s_up(int64_t ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

bool sd_req_ratelimit(sd_req *r, const char *cls, const char *key, int64_t per_minute)
{
    if (per_minute <= 0)
        return true;
    sd_rate rate;
    sd_err err = sd_ratelimit_take(r->app->store, cls, key, per_minute, &rate);
    if (err != SD_OK) {
        sd_resp_problem(r, err == SD_ERR_INVALID || err == SD_ERR_STORE_FULL
                               ? err : SD_ERR_UNAVAILABLE,
                        "the rate limit could not be checked%s",
                        err == SD_ERR_STORE_FULL ? ": the store is full" : "");
        return false;
    }
    /* draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window
     * w seconds) and what is left of it (r) until it is whole again (t). */
    char value[128];
    snprintf(value, sizeof value, "\"%s\";q=%lld;w=%d", cls, (long long)per_minute,
             SD_RATELIMIT_WINDOW_S);
    sd_resp_header(r, "RateLimit-Policy", value);
    snprintf(value, sizeof value, "\"%s\";r=%lld;t=%lld", cls, (long long)rate.remaining,
             (long long)ms_to_s_up(rate.reset_ms));
    sd_resp_header(r, "RateLimit", value);
    if (rate.allowed)
        return true;
    if (r->app->metrics != NULL)
        sd_metrics_rate_limited(r->app->metrics, cls);
    int64_t wait = ms_to_s_up(rate.retry_after_ms);
    snprintf(value, sizeof value, "%lld", (long long)(wait > 0 ? wait : 1));
    sd_resp_header(r, "Retry-After", value);
    sd_resp_problem(r, SD_ERR_RATE_LIMITED,
                    "more than %lld requests a minute for this %s; retry in %s s",
                    (long long)per_minute, strcmp(cls, "chat") == 0 ? "user" : "client",
                    value);
    return false;
}

/* ---- queueing ---- */

/* CORS: the allowed origin is echoed (never "*": requests may carry
 * Authorization), caches keep answers per Origin, and scripts may read the
 * headers a poller needs. */
static bool add_cors(const sd_req *r, struct MHD_Response *resp)
{
    bool ok = true;
    if (r->cors_on)
        ok = MHD_add_response_header(resp, "Vary", "Origin") == MHD_YES;
    if (ok && r->cors_origin != NULL) {
        ok = MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                                     r->cors_origin) == MHD_YES &&
             MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                     "Location, Retry-After, ETag, RateLimit, "
                                     "RateLimit-Policy, X-Request-Id, Idempotent-Replayed, "
                                     "Preference-Applied") == MHD_YES;
    }
    return ok;
}

enum MHD_Result sd_req_queue(sd_req *r)
{
    if (!r->responded)
        sd_resp_problem(r, SD_ERR_INTERNAL, "the route gave no answer");

    struct MHD_Response *resp = r->stream != NULL
                                    ? sd_req_stream_response(r)
                                    : MHD_create_response_from_buffer(
                                          r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        return MHD_NO;
    r->resp_body = NULL; /* MHD frees it with the response */

    bool ok = MHD_add_response_header(resp, "X-Request-Id", r->request_id) == MHD_YES;
    if (r->content_type != NULL)
        ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                           r->content_type) == MHD_YES;
    ok = ok && add_cors(r, resp);
    if (!sd_buf_ok(&r->resp_headers)) {
        ok = false;
    } else {
        const char *p = r->resp_headers.data;
        const char *end = p + r->resp_headers.len;
        while (ok && p != NULL && p < end) {
            const char *name = p;
            const char *value = name + strlen(name) + 1;
            ok = MHD_add_response_header(resp, name, value) == MHD_YES;
            p = value + strlen(value) + 1;
        }
    }
    enum MHD_Result res = ok ? MHD_queue_response(r->conn, r->status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    r->queued = true;
    return res;
}
