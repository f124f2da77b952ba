/*
 * The operations console (GET /console): a page, its script and its style,
 * embedded in the binary at build time (web/console/, cmake sd_embed), so
 * a deployment has nothing to copy beside the binary. The page holds no
 * data: it reads /stats and /jobs with the token the operator types in,
 * so serving it needs no token, and config `console = off` takes it away
 * (404 as for any unknown path).
 *
 * Its URLs are relative to the page (console/app.js, stats, jobs), so it
 * works under any sub-path a proxy maps to statusd; /console/ (which would
 * make them resolve under /console/) answers a relative redirect to
 * ../console.
 */
#include <stddef.h>
#include <string.h>

#include "api/api.h"
#include "console.h"
#include "statusd/app.h"

typedef struct asset {
    const char *data;
    const size_t *len;
    const char *content_type;
} asset;

/* The headers every console answer carries: the page loads only its own
 * files and talks only to its own origin, is never framed, and is asked
 * for again (it is small) so an upgrade shows at once. */
static void console_headers(sd_req *r)
{
    sd_resp_header(r, "Cache-Control", "no-cache");
    sd_resp_header(r, "X-Content-Type-Options", "nosniff");
    sd_resp_header(r, "Referrer-Policy", "no-referrer");
    sd_resp_header(r, "Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; "
                   "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'");
}

/* False (after a 404) when the console is off. */
static bool console_on(sd_req *r)
{
    if (sd_req_app(r)->cfg->console == SD_ON)
        return true;
    sd_resp_problem(r, SD_ERR_NOT_FOUND, "the console is off (console = off)");
    return false;
}

static void serve(sd_req *r, const asset *a)
{
    if (!console_on(r))
        return;
    sd_buf b = SD_BUF_INIT;
    sd_buf_append(&b, a->data, *a->len);
    console_headers(r);
    sd_resp_body(r, 200, a->content_type, &b);
}

void api_console_get(sd_req *r)
{
    static const asset page = {console_page, &console_page_len, "text/html; charset=utf-8"};
    serve(r, &page);
}

void api_console_script_get(sd_req *r)
{
    static const asset script = {console_app, &console_app_len,
                                 "text/javascript; charset=utf-8"};
    serve(r, &script);
}

void api_console_style_get(sd_req *r)
{
    static const asset style = {console_style, &console_style_len, "text/css; charset=utf-8"};
    serve(r, &style);
}

void api_console_slash_get(sd_req *r)
{
    if (!console_on(r))
        return;
    sd_resp_header(r, "Location", "../console");
    sd_resp_empty(r, 308);
}
