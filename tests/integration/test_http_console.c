/*
 * The operations console's files (GET /console, /console/app.js,
 * /console/style.css, the /console/ redirect) as a real statusd serves
 * them from its binary: media types, the headers that keep the page to
 * its own origin, URLs relative to the page (so it works under a
 * sub-path), config `console = off`; and POST /status/<id>/cancel, the
 * cancel the console sends with the admin token. The console in a browser
 * is tests/browser/test_browser_console.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"

#define ADMIN "Authorization: Bearer admin-token-for-the-console\r\n"
#define API "Authorization: Bearer api-token-for-the-console\r\n"
#define CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "      \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const char *const ON_ARGS[] = {
    "--set", "admin_token=admin-token-for-the-console", "--set",
    "api_token=api-token-for-the-console", "--set", "handler_ext=external", NULL};
static const char *const OFF_ARGS[] = {"--set", "console=off", NULL};

static int on_setup(void **state) { return test_statusd_setup(state, ON_ARGS); }
static int off_setup(void **state) { return test_statusd_setup(state, OFF_ARGS); }

static unsigned port_of(void **state) { return ((test_statusd *)*state)->proc.port; }

/* GETs path (no token); asserts a 200 of the media type with the
 * console's headers; returns the body (the caller frees it). */
static char *get_file(unsigned port, const char *path, const char *type)
{
    http_resp r;
    test_call(port, "GET", path, NULL, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: %d", path, r.status);
    assert_string_equal(http_header(&r, "Content-Type"), type);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
    assert_string_equal(http_header(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(http_header(&r, "Referrer-Policy"), "no-referrer");
    assert_string_equal(http_header(&r, "Content-Security-Policy"), CSP);
    assert_true(r.body_len > 100);
    char *body = strdup(r.body);
    assert_non_null(body);
    http_resp_free(&r);
    return body;
}

static void test_console_page_and_files_are_served_from_the_binary(void **state)
{
    unsigned port = port_of(state);
    char *page = get_file(port, "/console", "text/html; charset=utf-8");
    assert_non_null(strstr(page, "<title>statusd console</title>"));
    /* relative to the page: behind a proxy at /ops/ they are /ops/... */
    assert_non_null(strstr(page, "<script src=\"console/app.js\"></script>"));
    assert_non_null(strstr(page, "href=\"console/style.css\""));
    assert_null(strstr(page, "=\"/"));
    free(page);
    char *script = get_file(port, "/console/app.js", "text/javascript; charset=utf-8");
    assert_non_null(strstr(script, "sessionStorage"));
    assert_non_null(strstr(script, "new URL('.', window.location.href)"));
    assert_null(strstr(script, "'/stats"));
    assert_null(strstr(script, "'/jobs"));
    free(script);
    char *style = get_file(port, "/console/style.css", "text/css; charset=utf-8");
    assert_non_null(strstr(style, "color-scheme"));
    free(style);

    http_resp r;
    test_call(port, "HEAD", "/console", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
}

static void test_console_with_a_slash_redirects_to_the_page(void **state)
{
    http_resp r;
    test_call(port_of(state), "GET", "/console/", NULL, NULL, &r);
    assert_int_equal(r.status, 308);
    assert_string_equal(http_header(&r, "Location"), "../console");
    http_resp_free(&r);
}

static void test_console_paths_it_does_not_serve(void **state)
{
    unsigned port = port_of(state);
    http_resp r;
    test_call(port, "GET", "/console/page.html", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
    test_call(port, "GET", "/console/app.js/x", NULL, NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
    test_call(port, "POST", "/console", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(http_header(&r, "Allow"), "GET, HEAD");
    http_resp_free(&r);
}

static void test_console_off_answers_404(void **state)
{
    unsigned port = port_of(state);
    static const char *const paths[] = {"/console", "/console/", "/console/app.js",
                                        "/console/style.css"};
    for (size_t i = 0; i < 4; i++) {
        http_resp r;
        test_call(port, "GET", paths[i], NULL, NULL, &r);
        test_assert_problem(&r, 404, "not-found", "console = off");
        http_resp_free(&r);
    }
}

/* A job of the external kind "ext": processing until reported. */
static char *submit_ext(unsigned port)
{
    http_resp r;
    test_call(port, "POST", "/jobs/ext", API, "{\"n\":1}", &r);
    assert_int_equal(r.status, 202);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "processing");
    char *id = strdup(test_jstr(v, "id"));
    assert_non_null(id);
    cJSON_Delete(v);
    http_resp_free(&r);
    return id;
}

static void test_cancel_by_post_takes_the_admin_token(void **state)
{
    unsigned port = port_of(state);
    char *id = submit_ext(port);
    char path[128];
    snprintf(path, sizeof path, "/status/%s/cancel", id);
    http_resp r;
    test_call(port, "POST", path, NULL, NULL, &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);
    /* DELETE still wants the api_token */
    char del[128];
    snprintf(del, sizeof del, "/status/%s", id);
    test_call(port, "DELETE", del, ADMIN, NULL, &r);
    test_assert_problem(&r, 401, "unauthorized", NULL);
    http_resp_free(&r);

    test_call(port, "POST", path, ADMIN, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *v = test_body_json(&r);
    assert_string_equal(test_jstr(v, "status"), "canceled");
    assert_string_equal(test_jstr(v, "id"), id);
    cJSON_Delete(v);
    http_resp_free(&r);
    test_call(port, "POST", path, ADMIN, NULL, &r);
    test_assert_problem(&r, 409, "conflict", "already canceled");
    http_resp_free(&r);

    /* the api_token opens it too, as the other operations routes */
    char *other = submit_ext(port);
    snprintf(path, sizeof path, "/status/%s/cancel", other);
    test_call(port, "POST", path, API, NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    test_call(port, "POST", "/status/0f8fad5b-d9cb-469f-a165-70867728950e/cancel", ADMIN,
              NULL, &r);
    test_assert_problem(&r, 404, "not-found", NULL);
    http_resp_free(&r);
    test_call(port, "POST", "/status/not-a-uuid/cancel", ADMIN, NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    free(id);
    free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_console_page_and_files_are_served_from_the_binary,
                                        on_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_console_with_a_slash_redirects_to_the_page,
                                        on_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_console_paths_it_does_not_serve, on_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_console_off_answers_404, off_setup,
                                        test_statusd_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_by_post_takes_the_admin_token, on_setup,
                                        test_statusd_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
