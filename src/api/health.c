/* GET /health (liveness), GET /ready (readiness) and GET /health/store
 * (a real round trip to the store, timed). */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/log.h"

void api_health_get(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    sd_store_info info;
    sd_store_info_get(app->store, &info);
    int64_t uptime = (sd_mono_ms() - app->started_mono_ms) / 1000;
    sd_buf b = SD_BUF_INIT;
    sd_buf_printf(&b,
                  "{\"status\":\"%s\",\"store\":\"%s\",\"fallback\":%s,"
                  "\"version\":\"%s\",\"uptime_s\":%" PRId64 "}",
                  atomic_load(&app->draining) ? "draining" : "ok", info.backend,
                  app->store_fallback ? "true" : "false", STATUSD_VERSION, uptime);
    sd_resp_header(r, "Cache-Control", "no-store");
    sd_resp_json(r, 200, &b);
}

void api_ready_get(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    sd_resp_header(r, "Cache-Control", "no-store");
    if (atomic_load(&app->draining)) {
        sd_resp_problem(r, SD_ERR_SHUTTING_DOWN, "this instance is shutting down");
        return;
    }
    sd_err err = sd_store_ping(app->store);
    if (err != SD_OK) {
        sd_resp_problem(r, SD_ERR_UNAVAILABLE, "the store does not answer: %s",
                        sd_err_name(err));
        return;
    }
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"ready\":true}");
    sd_resp_json(r, 200, &b);
}

void api_store_bytes_json(sd_store *s, sd_buf *b)
{
    sd_store_info info;
    sd_store_info_get(s, &info);
    if (info.bytes_held < 0)
        sd_buf_puts(b, "\"bytes_held\":null,\"bytes_max\":null");
    else
        sd_buf_printf(b, "\"bytes_held\":%" PRId64 ",\"bytes_max\":%" PRId64,
                      info.bytes_held, info.bytes_max);
}

void api_health_store_get(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    sd_store_info info;
    sd_store_info_get(app->store, &info);
    sd_resp_header(r, "Cache-Control", "no-store");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sd_err err = sd_store_ping(app->store);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double rtt = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (err != SD_OK) {
        sd_resp_problem(r, SD_ERR_UNAVAILABLE,
                        "the %s store at %s failed a write/read/delete after %.1f ms: %s",
                        info.backend, info.url[0] ? info.url : "(memory)", rtt, sd_err_name(err));
        return;
    }
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"connected\":true,\"backend\":");
    sd_json_append_string(&b, info.backend, strlen(info.backend));
    sd_buf_puts(&b, ",\"url\":");
    if (info.url[0] != '\0')
        sd_json_append_string(&b, info.url, strlen(info.url));
    else
        sd_buf_puts(&b, "null");
    sd_buf_printf(&b, ",\"fallback\":%s,\"round_trip_ms\":%.3f,\"test_operation\":\"ok\",",
                  app->store_fallback ? "true" : "false", rtt);
    api_store_bytes_json(app->store, &b);
    sd_buf_putc(&b, '}');
    sd_resp_json(r, 200, &b);
}
