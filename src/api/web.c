/*
 * The browser kit: GET /statusd.js (web/statusd.js, the ES module that
 * follows jobs) and, with web_ui on, GET / (web/index.html, a page that
 * starts a research job and shows it move). Both files are embedded in
 * the binary at build time, so an image needs nothing beside it.
 */
#include <string.h>

#include "api/api.h"
#include "statusd/app.h"
#include "web.h"

static void answer_file(sd_req *r, const char *type, const char *data, size_t len)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_append(&b, data, len);
    sd_resp_header(r, "Cache-Control", "no-cache");
    sd_resp_header(r, "X-Content-Type-Options", "nosniff");
    sd_resp_body(r, 200, type, &b);
}

void api_web_module_get(sd_req *r)
{
    answer_file(r, "text/javascript; charset=utf-8", web_statusd, web_statusd_len);
}

void api_web_page_get(sd_req *r)
{
    if (sd_req_app(r)->cfg->web_ui != SD_ON) {
        sd_resp_problem(r, SD_ERR_NOT_FOUND, "no resource at / (the demo page is off: "
                        "web_ui = off)");
        return;
    }
    answer_file(r, "text/html; charset=utf-8", web_index, web_index_len);
}
