/*
 * Who may call what, over real HTTP against a real statusd: the bearer
 * token on every route flagged SD_ROUTE_AUTH (set on the command line or
 * through API_TOKEN), its place before the body checks, the admin token,
 * and tokens kept out of the log. CORS is in test_http_access_cors.c,
 * rate limits in test_http_access_limits.c.
 *
 * Jobs run the demo handler with a step of a minute, so a job posted here
 * is still running when a test cancels it (200, never 409), and
 * drain_timeout=1 keeps the stop at the end of each test short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "statusd/http.h"

#define TOKEN "tok-4f9c2a7e1b6d8035c1e9"
#define ADMIN_TOKEN "adm-7d21e8f04c9b3a6e5f10"
#define BEARER "Authorization: Bearer " TOKEN "\r\n"
#define JOB "{\"query\":\"access\"}"
#define MAX_BODY 65536   /* the default max_body */

/* A well-formed id that no job has. */
static const char UNKNOWN_ID[] = "0b7c2c4e-9d1a-4f3b-8e6d-2a5f1c9e7b30";

/* ---- helpers ---- */

/* A request on its own connection; asserts that the server answered. */
static void request(unsigned port, const char *method, const char *path,
                    const char *headers, const char *body, http_resp *r)
{
    assert_int_equal(http_do(port, method, path, headers, body, r), 0);
}

/* Asserts a 401 problem with the Bearer challenge. */
static void assert_401(const http_resp *r)
{
    test_assert_problem(r, 401, "unauthorized", "Authorization: Bearer");
    test_assert_header(r, "WWW-Authenticate", "Bearer realm=\"statusd\"");
}

/* POST /research with these header lines; asserts 202 and returns the
 * job id (the caller frees it). */
static char *submit_with(unsigned port, const char *headers)
{
    http_resp r;
    request(port, "POST", "/research", headers, JOB, &r);
    if (r.status != 202)
        fail_msg("expected 202, got %d: %s", r.status, r.body != NULL ? r.body : "");
    assert_null(http_header(&r, "WWW-Authenticate"));
    cJSON *v = test_body_json(&r);
    assert_true(test_is_uuid_v4(test_jstr(v, "id")));
    char *id = strdup(test_jstr(v, "id"));
    assert_non_null(id);
    cJSON_Delete(v);
    http_resp_free(&r);
    return id;
}

/* DELETE /status/<id> with these header lines; the answer's status. */
static int delete_with(unsigned port, const char *id, const char *headers)
{
    char path[64];
    test_status_path(path, sizeof path, id);
    http_resp r;
    request(port, "DELETE", path, headers, NULL, &r);
    int status = r.status;
    if (status == 401)
        assert_401(&r);
    http_resp_free(&r);
    return status;
}

/* POSTs JOB with "Authorization: <value>" and asserts the status. */
static void post_authorization(unsigned port, const char *value, int status)
{
    char headers[256];
    snprintf(headers, sizeof headers, "Authorization: %s\r\n", value);
    http_resp r;
    request(port, "POST", "/research", headers, JOB, &r);
    if (r.status != status)
        fail_msg("Authorization '%s': expected %d, got %d: %s", value, status, r.status,
                 r.body != NULL ? r.body : "");
    if (status == 401)
        assert_401(&r);
    http_resp_free(&r);
}

/* The route's pattern with every ":name" segment replaced by UNKNOWN_ID. */
static void route_path(const sd_route *rt, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = rt->pattern; *p != '\0';) {
        const char *seg = *p == ':' ? UNKNOWN_ID : NULL;
        size_t len = seg != NULL ? strlen(seg) : 1;
        if (seg == NULL)
            seg = p;
        assert_true(n + len < outlen);
        memcpy(out + n, seg, len);
        n += len;
        p = *p == ':' ? strchrnul(p, '/') : p + 1;
    }
    out[n] = '\0';
}

/* ---- fixtures ---- */

#define SLOW_JOBS "--set", "demo_step_ms=60000", "--set", "drain_timeout=1"

static int open_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, NULL};
    return test_statusd_setup(state, args);
}

static int token_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "api_token=" TOKEN,
                                       "--set", "admin_token=" ADMIN_TOKEN,
                                       "--set", "log_level=debug", NULL};
    return test_statusd_setup(state, args);
}

/* api_token from the environment (API_TOKEN), not the command line. */
static int env_token_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, NULL};
    static const char *const env[] = {"API_TOKEN=" TOKEN, NULL};
    test_statusd *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    if (statusd_start(&s->proc, args, env) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

/* ---- tokens ---- */

static void test_without_api_token_post_and_delete_need_no_authorization(void **state)
{
    test_statusd *f = *state;
    char *id = submit_with(f->proc.port, NULL);
    assert_int_equal(delete_with(f->proc.port, id, NULL), 200);
    free(id);
    /* A header nobody asked for is not checked either. */
    id = submit_with(f->proc.port, "Authorization: Bearer whatever-it-says-here\r\n");
    assert_int_equal(delete_with(f->proc.port, id, "Authorization: Basic eDp5\r\n"), 200);
    free(id);
}

static void test_missing_token_is_401_with_bearer_challenge(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "POST", "/research", NULL, JOB, &r);
    assert_401(&r);
    http_resp_free(&r);

    char *id = submit_with(f->proc.port, BEARER);
    assert_int_equal(delete_with(f->proc.port, id, NULL), 401);
    /* The 401 did not cancel the job. */
    char status[32];
    test_job_status(f->proc.port, id, status, sizeof status);
    assert_true(strcmp(status, "queued") == 0 || strcmp(status, "processing") == 0);
    /* Auth is checked before the job is looked up. */
    assert_int_equal(delete_with(f->proc.port, UNKNOWN_ID, NULL), 401);
    assert_int_equal(delete_with(f->proc.port, id, BEARER), 200);
    free(id);
}

static void test_wrong_token_or_scheme_is_401(void **state)
{
    test_statusd *f = *state;
    const char *values[] = {
        "Bearer tok-4f9c2a7e1b6d8035c1e8",   /* one character off */
        "Bearer tok-4f9c2a7e1b6d8035c1e",    /* a prefix of the token */
        "Bearer tok-4f9c2a7e1b6d8035c1e9x",  /* the token and more */
        "Bearer TOK-4F9C2A7E1B6D8035C1E9",   /* tokens are case-sensitive */
        "Bearer " ADMIN_TOKEN,               /* the admin token is another secret */
        "Bearer ",
        "Bearer",
        TOKEN,                               /* no scheme */
        "Token " TOKEN,
        "Bearer\t" TOKEN,                    /* SP, not a tab, follows the scheme */
        "BearerX " TOKEN,
        "Basic dXNlcjp0b2stNGY5YzJhN2UxYjZkODAzNWMxZTk=",   /* user:<token> */
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        post_authorization(f->proc.port, values[i], 401);
    char *id = submit_with(f->proc.port, BEARER);
    assert_int_equal(delete_with(f->proc.port, id, "Authorization: Bearer wrong-wrong-wrong\r\n"),
                     401);
    assert_int_equal(delete_with(f->proc.port, id, "Authorization: Basic eDp5\r\n"), 401);
    assert_int_equal(delete_with(f->proc.port, id, BEARER), 200);
    free(id);
}

static void test_spaces_and_tabs_around_the_token_are_ignored(void **state)
{
    test_statusd *f = *state;
    post_authorization(f->proc.port, "Bearer \t" TOKEN, 202);
    post_authorization(f->proc.port, "Bearer \t \t" TOKEN " \t ", 202);
    post_authorization(f->proc.port, "Bearer   " TOKEN "\t", 202);
    /* A tab inside the token is part of it. */
    post_authorization(f->proc.port, "Bearer tok-4f9c\t2a7e1b6d8035c1e9", 401);
}

static void test_bearer_scheme_is_case_insensitive(void **state)
{
    test_statusd *f = *state;
    post_authorization(f->proc.port, "Bearer " TOKEN, 202);
    post_authorization(f->proc.port, "bearer " TOKEN, 202);
    post_authorization(f->proc.port, "BEARER " TOKEN, 202);
    char *id = submit_with(f->proc.port, "Authorization: bEaReR " TOKEN "\r\n");
    assert_int_equal(delete_with(f->proc.port, id, "Authorization: bearer " TOKEN "\r\n"), 200);
    free(id);
}

/* Blanks around the token are not part of it: a token never holds one. */
static void test_blanks_around_the_token_are_ignored(void **state)
{
    test_statusd *f = *state;
    post_authorization(f->proc.port, "Bearer " TOKEN " ", 202);
    post_authorization(f->proc.port, "Bearer " TOKEN " \t ", 202);
    post_authorization(f->proc.port, "Bearer   " TOKEN, 202);
    /* ... but a blank inside is not ignored. */
    post_authorization(f->proc.port, "Bearer tok-4f9c2a7e1b6d8 035c1e9", 401);
    post_authorization(f->proc.port, "Bearer " TOKEN " x", 401);
}

static void test_reads_and_health_need_no_token(void **state)
{
    test_statusd *f = *state;
    char *id = submit_with(f->proc.port, BEARER);
    char path[64];
    test_status_path(path, sizeof path, id);
    const char *paths[] = {path, "/health", "/ready", "/health/store"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_resp r;
        request(f->proc.port, "GET", paths[i], NULL, NULL, &r);
        if (r.status != 200)
            fail_msg("GET %s: expected 200, got %d: %s", paths[i], r.status, r.body);
        assert_null(http_header(&r, "WWW-Authenticate"));
        http_resp_free(&r);
    }
    /* A wrong token on a route that needs none is not held against it. */
    http_resp r;
    request(f->proc.port, "GET", path, "Authorization: Bearer wrong-wrong-wrong\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    free(id);
}

/* Every route in the table: flagged SD_ROUTE_AUTH or SD_ROUTE_OPS -> 401
 * without a token (the api_token is set), unflagged -> never 401. */
static void test_every_route_flagged_auth_and_only_those_is_401(void **state)
{
    test_statusd *f = *state;
    size_t n = 0;
    const sd_route *routes = sd_api_routes(&n);
    size_t guarded = 0;
    for (size_t i = 0; i < n; i++) {
        if (routes[i].flags & SD_ROUTE_ADMIN)
            continue;
        char path[256];
        route_path(&routes[i], path, sizeof path);
        http_resp r;
        request(f->proc.port, routes[i].method, path, NULL, NULL, &r);
        if (routes[i].flags & (SD_ROUTE_AUTH | SD_ROUTE_OPS)) {
            assert_401(&r);
            guarded++;
        } else if (r.status == 401) {
            fail_msg("%s %s needs no token, yet answered 401", routes[i].method, path);
        }
        http_resp_free(&r);
    }
    assert_true(guarded >= 2);   /* POST /research, DELETE /status/:id */
}

static void test_401_comes_before_media_type_size_and_json_checks(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "POST", "/research", "Content-Type: text/plain\r\n", JOB, &r);
    assert_401(&r);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", NULL, "{\"query\":", &r);
    assert_401(&r);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", NULL, "{\"nope\":1}", &r);
    assert_401(&r);
    http_resp_free(&r);

    char *big = malloc(MAX_BODY + 2);
    assert_non_null(big);
    memset(big, ' ', MAX_BODY + 1);
    big[MAX_BODY + 1] = '\0';
    request(f->proc.port, "POST", "/research", NULL, big, &r);
    assert_401(&r);
    http_resp_free(&r);
    /* With the token, the same requests meet the checks behind it. */
    request(f->proc.port, "POST", "/research", BEARER "Content-Type: text/plain\r\n", JOB, &r);
    test_assert_problem(&r, 415, "unsupported-media-type", NULL);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", BEARER, big, &r);
    test_assert_problem(&r, 413, "body-too-large", NULL);
    http_resp_free(&r);
    request(f->proc.port, "POST", "/research", BEARER, "{\"query\":", &r);
    test_assert_problem(&r, 400, "invalid-json", NULL);
    http_resp_free(&r);
    free(big);
}

static void test_api_token_from_environment_guards_mutations(void **state)
{
    test_statusd *f = *state;
    http_resp r;
    request(f->proc.port, "POST", "/research", NULL, JOB, &r);
    assert_401(&r);
    http_resp_free(&r);
    post_authorization(f->proc.port, "Bearer not-the-env-token-at-all", 401);
    char *id = submit_with(f->proc.port, BEARER);
    assert_int_equal(delete_with(f->proc.port, id, NULL), 401);
    assert_int_equal(delete_with(f->proc.port, id, BEARER), 200);
    free(id);
}

typedef struct log_wait {
    const char *path;
    const char *needle;
    char *text;          /* the log as last read; the caller frees it */
} log_wait;

static bool log_has(void *arg)
{
    log_wait *w = arg;
    free(w->text);
    w->text = NULL;
    FILE *fp = fopen(w->path, "r");
    if (fp == NULL)
        return false;
    sd_buf b = SD_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sd_buf_append(&b, chunk, n);
    fclose(fp);
    sd_buf_append(&b, "", 1);
    size_t len = 0;
    w->text = sd_buf_steal(&b, &len);
    return w->text != NULL && strstr(w->text, w->needle) != NULL;
}

static void test_tokens_never_reach_the_log_even_at_debug(void **state)
{
    test_statusd *f = *state;
    post_authorization(f->proc.port, "Bearer " TOKEN, 202);
    post_authorization(f->proc.port, "Bearer wrong-token-6a1f0c93e2", 401);
    post_authorization(f->proc.port, "Basic " TOKEN, 401);
    char *id = submit_with(f->proc.port, BEARER);
    assert_int_equal(delete_with(f->proc.port, id, "Authorization: Bearer " ADMIN_TOKEN "\r\n"),
                     401);
    assert_int_equal(delete_with(f->proc.port, id, BEARER), 200);

    /* The debug line of the last request shows the log is written. */
    char needle[128];
    snprintf(needle, sizeof needle, "DELETE /status/%s 200", id);
    log_wait w = {f->proc.log_path, needle, NULL};
    if (!test_wait_until(log_has, &w, TEST_DEADLINE_MS))
        fail_msg("no debug line '%s' in the log:\n%s", needle, w.text != NULL ? w.text : "");
    const char *secrets[] = {TOKEN, ADMIN_TOKEN, "wrong-token-6a1f0c93e2",
                             "4f9c2a7e1b6d8035", "7d21e8f04c9b3a6e"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(w.text, secrets[i]) != NULL)
            fail_msg("the log holds '%s':\n%s", secrets[i], w.text);
    free(w.text);
    free(id);
}

/* Admin routes: 403 while admin_token is unset, 401 without it when set;
 * the api token never opens them. Skipped while no route is SD_ROUTE_ADMIN. */
static void check_admin_routes(unsigned port, bool admin_token_set)
{
    size_t n = 0, admin = 0;
    const sd_route *routes = sd_api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        if (!(routes[i].flags & SD_ROUTE_ADMIN))
            continue;
        admin++;
        char path[256];
        route_path(&routes[i], path, sizeof path);
        const char *headers[] = {NULL, BEARER, "Authorization: Bearer wrong-wrong-wrong\r\n"};
        for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
            http_resp r;
            request(port, routes[i].method, path, headers[h], NULL, &r);
            if (admin_token_set)
                assert_401(&r);
            else
                test_assert_problem(&r, 403, "forbidden", "admin_token is not set");
            http_resp_free(&r);
        }
    }
    if (admin == 0)
        skip();
}

static void test_admin_routes_are_403_while_admin_token_is_unset(void **state)
{
    test_statusd *f = *state;
    check_admin_routes(f->proc.port, false);
}

static void test_admin_routes_are_401_without_the_admin_token(void **state)
{
    test_statusd *f = *state;
    check_admin_routes(f->proc.port, true);
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_statusd_teardown)

int main(void)
{
    /* The fixtures decide the tokens; an inherited one would skew them. */
    unsetenv("API_TOKEN");
    unsetenv("STATUSD_API_TOKEN");
    unsetenv("STATUSD_ADMIN_TOKEN");
    static const struct CMUnitTest tests[] = {
        WITH(test_without_api_token_post_and_delete_need_no_authorization, open_setup),
        WITH(test_missing_token_is_401_with_bearer_challenge, token_setup),
        WITH(test_wrong_token_or_scheme_is_401, token_setup),
        WITH(test_spaces_and_tabs_around_the_token_are_ignored, token_setup),
        WITH(test_bearer_scheme_is_case_insensitive, token_setup),
        WITH(test_blanks_around_the_token_are_ignored, token_setup),
        WITH(test_reads_and_health_need_no_token, token_setup),
        WITH(test_every_route_flagged_auth_and_only_those_is_401, token_setup),
        WITH(test_401_comes_before_media_type_size_and_json_checks, token_setup),
        WITH(test_api_token_from_environment_guards_mutations, env_token_setup),
        WITH(test_tokens_never_reach_the_log_even_at_debug, token_setup),
        WITH(test_admin_routes_are_403_while_admin_token_is_unset, open_setup),
        WITH(test_admin_routes_are_401_without_the_admin_token, token_setup),
    };
    return cmocka_run_group_tests_name("http_access", tests, NULL, NULL);
}
