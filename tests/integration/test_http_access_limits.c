/*
 * The per-client limit on POST /research (ratelimit_submit), over real
 * HTTP against a real statusd: the RateLimit-Policy and RateLimit headers
 * counting down, the 429 after the budget, which client a request counts
 * against (the peer, or the right-most untrusted X-Forwarded-For hop
 * behind a trusted proxy), what is refused before the limit is taken, no
 * headers with the limit off, and one budget shared by two instances on
 * one Redis.
 *
 * Every test starts its own statusd (and Redis), so budgets never carry
 * over. The limits are a minute's budget spent in a burst: the counts
 * asserted hold as long as a test's requests fit in one emission interval
 * (12 s at 5 a minute, 20 s at 3), far longer than they take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "redis_server.h"
#include "statusd/util.h"

#define JOB "{\"query\":\"limits\"}"
#define TOKEN "tok-4f9c2a7e1b6d8035c1e9"
#define BEARER "Authorization: Bearer " TOKEN "\r\n"

/* ---- helpers ---- */

/* POST /research with these header lines; asserts that the server answered. */
static void post(unsigned port, const char *headers, const char *body, http_resp *r)
{
    assert_int_equal(http_do(port, "POST", "/research", headers, body, r), 0);
}

/* POST /research from "client" xff (an X-Forwarded-For value, or NULL for
 * none). */
static void post_from(unsigned port, const char *xff, http_resp *r)
{
    char headers[256];
    headers[0] = '\0';
    if (xff != NULL)
        snprintf(headers, sizeof headers, "X-Forwarded-For: %s\r\n", xff);
    post(port, headers, JOB, r);
}

/* The seconds after "<prefix>" in value, which must end there; asserts. */
static int64_t value_after(const char *value, const char *prefix)
{
    assert_non_null(value);
    size_t n = strlen(prefix);
    if (strncmp(value, prefix, n) != 0)
        fail_msg("'%s' does not start with '%s'", value, prefix);
    int64_t v = 0;
    if (sd_parse_i64(value + n, 0, 3600, &v) != SD_OK)
        fail_msg("'%s': no number of seconds after '%s'", value, prefix);
    return v;
}

/* Asserts the headers of a limited answer: the policy of `quota` a
 * minute and `remaining` left; returns the seconds until the budget is
 * whole (RateLimit's t), which it asserts is in 1..60. */
static int64_t assert_ratelimit(const http_resp *r, int quota, int remaining)
{
    char want[64];
    snprintf(want, sizeof want, "\"submit\";q=%d;w=60", quota);
    test_assert_header(r, "RateLimit-Policy", want);
    snprintf(want, sizeof want, "\"submit\";r=%d;t=", remaining);
    int64_t t = value_after(http_header(r, "RateLimit"), want);
    assert_in_range(t, 1, 60);
    return t;
}

/* Asserts a 202 with `remaining` left of a quota of `quota`. The budget
 * is whole again after one interval per request spent, rounded up. */
static void assert_accepted(const http_resp *r, int quota, int remaining)
{
    if (r->status != 202)
        fail_msg("expected 202 with r=%d, got %d: %s", remaining, r->status,
                 r->body != NULL ? r->body : "");
    int64_t t = assert_ratelimit(r, quota, remaining);
    int64_t interval = 60 / quota, spent = quota - remaining;
    assert_in_range(t, interval * (spent - 1) + 1, interval * spent);
}

/* Asserts a 429 rate-limited answer with its headers: nothing left,
 * Retry-After at most one interval. */
static void assert_limited(const http_resp *r, int quota)
{
    test_assert_problem(r, 429, "rate-limited", "requests a minute for this client");
    int64_t t = assert_ratelimit(r, quota, 0);
    int64_t interval = 60 / quota;
    assert_in_range(t, 60 - interval + 1, 60);
    int64_t retry = value_after(http_header(r, "Retry-After"), "");
    assert_in_range(retry, 1, interval);
}

/* POSTs from xff and asserts a 202 with `remaining` left. */
static void expect_accepted(unsigned port, const char *xff, int quota, int remaining)
{
    http_resp r;
    post_from(port, xff, &r);
    assert_accepted(&r, quota, remaining);
    http_resp_free(&r);
}

static void expect_limited(unsigned port, const char *xff, int quota)
{
    http_resp r;
    post_from(port, xff, &r);
    assert_limited(&r, quota);
    http_resp_free(&r);
}

/* ---- fixtures ---- */

#define SLOW_JOBS "--set", "demo_step_ms=60000", "--set", "drain_timeout=1"

static int limit5_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "ratelimit_submit=5", NULL};
    return test_statusd_setup(state, args);
}

static int limit2_token_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "ratelimit_submit=2",
                                       "--set", "api_token=" TOKEN, NULL};
    return test_statusd_setup(state, args);
}

static int proxy_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "ratelimit_submit=3",
                                       "--set", "trusted_proxies=127.0.0.1", NULL};
    return test_statusd_setup(state, args);
}

static int off_setup(void **state)
{
    static const char *const args[] = {SLOW_JOBS, "--set", "ratelimit_submit=0",
                                       "--set", "ratelimit_chat=0", NULL};
    return test_statusd_setup(state, args);
}

/* A redis-server and two statusd instances on it. */
typedef struct redis_pair {
    test_redis redis;
    test_statusd *a, *b;
} redis_pair;

static int redis_pair_teardown(void **state)
{
    redis_pair *p = *state;
    if (p == NULL)
        return 0;
    int rc = 0;
    if (test_statusd_stop(p->b) != 0)
        rc = -1;
    if (test_statusd_stop(p->a) != 0)
        rc = -1;
    test_redis_stop(&p->redis);
    free(p);
    *state = NULL;
    return rc;
}

static int redis_pair_setup(void **state)
{
    redis_pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    *state = p;
    if (test_redis_start(&p->redis) != 0) {
        free(p);
        *state = NULL;
        return -1;
    }
    char url[128];
    snprintf(url, sizeof url, "redis_url=redis://127.0.0.1:%u/0", p->redis.port);
    const char *const args[] = {SLOW_JOBS, "--store", "redis", "--set", url,
                                "--set", "ratelimit_submit=5", NULL};
    p->a = test_statusd_start(NULL, args);
    p->b = p->a != NULL ? test_statusd_start(NULL, args) : NULL;
    if (p->b == NULL) {
        redis_pair_teardown(state);
        return -1;
    }
    return 0;
}

/* ---- the budget ---- */

static void test_five_posts_count_down_then_the_sixth_is_429(void **state)
{
    test_statusd *f = *state;
    for (int i = 0; i < 5; i++)
        expect_accepted(f->proc.port, NULL, 5, 4 - i);
    expect_limited(f->proc.port, NULL, 5);
    expect_limited(f->proc.port, NULL, 5);
}

/* Reads and cancels are not limited, and carry no RateLimit headers,
 * even once the submit budget is spent. */
static void test_only_submits_are_limited(void **state)
{
    test_statusd *f = *state;
    char *id = NULL;
    for (int i = 0; i < 5; i++) {
        http_resp r;
        post_from(f->proc.port, NULL, &r);
        assert_accepted(&r, 5, 4 - i);
        if (id == NULL) {
            cJSON *v = test_body_json(&r);
            id = strdup(test_jstr(v, "id"));
            assert_non_null(id);
            cJSON_Delete(v);
        }
        http_resp_free(&r);
    }
    expect_limited(f->proc.port, NULL, 5);
    http_resp r;
    cJSON *v = test_get_job(f->proc.port, id, &r);
    assert_null(http_header(&r, "RateLimit"));
    assert_null(http_header(&r, "RateLimit-Policy"));
    cJSON_Delete(v);
    http_resp_free(&r);
    test_delete_job(f->proc.port, id, &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "RateLimit"));
    http_resp_free(&r);
    assert_true(test_health_ok(f->proc.port));
    free(id);
}

/* Without a trusted proxy, X-Forwarded-For is anyone's to write: the
 * client is the peer, whatever the header says. */
static void test_forged_forwarded_for_does_not_dodge_the_limit(void **state)
{
    test_statusd *f = *state;
    const char *forged[] = {"203.0.113.1", "203.0.113.2", "198.51.100.7, 203.0.113.3",
                            "2001:db8::1", "garbage"};
    for (int i = 0; i < 5; i++)
        expect_accepted(f->proc.port, forged[i], 5, 4 - i);
    expect_limited(f->proc.port, "203.0.113.99", 5);
    expect_limited(f->proc.port, NULL, 5);
}

/* A request refused before the limit is taken (401, 415, malformed JSON)
 * costs nothing and carries no RateLimit headers; one the route refuses
 * (unknown field) was counted. */
static void test_requests_refused_before_the_limit_cost_nothing(void **state)
{
    test_statusd *f = *state;
    for (int i = 0; i < 3; i++) {
        http_resp r;
        post(f->proc.port, NULL, JOB, &r);
        assert_int_equal(r.status, 401);
        assert_null(http_header(&r, "RateLimit"));
        http_resp_free(&r);
        post(f->proc.port, BEARER "Content-Type: text/plain\r\n", JOB, &r);
        assert_int_equal(r.status, 415);
        assert_null(http_header(&r, "RateLimit"));
        http_resp_free(&r);
        post(f->proc.port, BEARER, "{\"query\":", &r);
        assert_int_equal(r.status, 400);
        assert_null(http_header(&r, "RateLimit"));
        http_resp_free(&r);
    }
    /* A body the route itself refuses has been counted. */
    http_resp r;
    post(f->proc.port, BEARER, "{\"nope\":1}", &r);
    test_assert_problem(&r, 400, "invalid-request", "nope");
    assert_ratelimit(&r, 2, 1);
    http_resp_free(&r);
    post(f->proc.port, BEARER, JOB, &r);
    assert_accepted(&r, 2, 0);
    http_resp_free(&r);
    post(f->proc.port, BEARER, JOB, &r);
    assert_limited(&r, 2);
    http_resp_free(&r);
    /* Without the token, the 401 still comes first. */
    post(f->proc.port, NULL, JOB, &r);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
}

static void test_limit_zero_sends_no_ratelimit_headers(void **state)
{
    test_statusd *f = *state;
    for (int i = 0; i < 12; i++) {
        http_resp r;
        post_from(f->proc.port, NULL, &r);
        assert_int_equal(r.status, 202);
        assert_null(http_header(&r, "RateLimit"));
        assert_null(http_header(&r, "RateLimit-Policy"));
        test_assert_header(&r, "Retry-After", "1");   /* the poll hint */
        http_resp_free(&r);
    }
}

/* ---- behind a trusted proxy ---- */

static void test_trusted_proxy_gives_each_forwarded_client_a_budget(void **state)
{
    test_statusd *f = *state;
    for (int i = 0; i < 3; i++)
        expect_accepted(f->proc.port, "203.0.113.7", 3, 2 - i);
    expect_limited(f->proc.port, "203.0.113.7", 3);
    expect_accepted(f->proc.port, "203.0.113.8", 3, 2);
    expect_accepted(f->proc.port, "2001:db8::7", 3, 2);
    /* The proxy's own requests count against the proxy. */
    expect_accepted(f->proc.port, NULL, 3, 2);
    expect_limited(f->proc.port, "203.0.113.7", 3);
}

/* The right-most hop the proxy did not write itself is the client; what
 * the client put to its left is its own forgery. */
static void test_trusted_proxy_chain_counts_against_rightmost_untrusted_hop(void **state)
{
    test_statusd *f = *state;
    expect_accepted(f->proc.port, "1.2.3.4", 3, 2);
    expect_accepted(f->proc.port, "1.2.3.4, 127.0.0.1", 3, 1);
    expect_accepted(f->proc.port, "9.9.9.9, 1.2.3.4, 127.0.0.1", 3, 0);
    expect_limited(f->proc.port, "1.2.3.4", 3);
    expect_accepted(f->proc.port, "9.9.9.9", 3, 2);
}

/* One client written with a port or as an IPv4-mapped IPv6 address is
 * still one client. */
static void test_trusted_proxy_one_client_in_several_spellings_shares_a_budget(void **state)
{
    test_statusd *f = *state;
    expect_accepted(f->proc.port, "198.51.100.4:5678", 3, 2);
    expect_accepted(f->proc.port, "::ffff:198.51.100.4", 3, 1);
    expect_accepted(f->proc.port, " [::ffff:198.51.100.4]:443 ", 3, 0);
    expect_limited(f->proc.port, "198.51.100.4", 3);
}

/* A proxy that adds its own X-Forwarded-For line after the client's
 * (instead of appending to it): the lines are read as one list, so the
 * address the proxy wrote is the client, whatever the client forged. */
static void test_trusted_proxy_own_header_line_beats_a_forged_line(void **state)
{
    test_statusd *f = *state;
    char xff[96];
    for (int i = 0; i < 3; i++) {
        snprintf(xff, sizeof xff, "1.1.1.%d\r\nX-Forwarded-For: 203.0.113.50", i);
        expect_accepted(f->proc.port, xff, 3, 2 - i);
    }
    snprintf(xff, sizeof xff, "1.1.1.9\r\nX-Forwarded-For: 203.0.113.50");
    expect_limited(f->proc.port, xff, 3);
}

/* A malformed hop ends the reading: the client is the last good hop, here
 * the proxy itself. */
static void test_trusted_proxy_malformed_hop_counts_against_the_proxy(void **state)
{
    test_statusd *f = *state;
    expect_accepted(f->proc.port, "not-an-address", 3, 2);
    expect_accepted(f->proc.port, "1.2.3.4, 300.1.1.1", 3, 1);
    expect_accepted(f->proc.port, NULL, 3, 0);
    expect_limited(f->proc.port, "", 3);
    expect_accepted(f->proc.port, "1.2.3.4", 3, 2);
}

/* ---- open connections per client address ---- */

static int conn_limit_setup(void **state)
{
    static const char *const args[] = {"--set", "per_ip_connection_limit=2", NULL};
    return test_statusd_setup(state, args);
}

/* A kept-alive connection that has answered one request; -1 when the
 * server refused it. */
static int open_conn(unsigned port)
{
    int fd = http_connect(port, 2000);
    if (fd < 0)
        return -1;
    http_resp r;
    int rc = http_request(fd, "GET", "/health", NULL, NULL, 0, &r);
    if (rc != 0) {
        close(fd);
        return -1;
    }
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    return fd;
}

/* open_conn, tried until the server has seen the close of connections
 * that went before (it notices a close a moment after the client). */
static int open_conn_soon(unsigned port)
{
    int fd = -1;
    int64_t until = sd_mono_ms() + 5000;
    while ((fd = open_conn(port)) < 0 && sd_mono_ms() < until)
        test_sleep_ms(20);
    assert_true(fd >= 0);
    return fd;
}

static void test_connections_past_the_per_ip_limit_are_refused_until_one_closes(void **state)
{
    test_statusd *f = *state;
    int a = open_conn_soon(f->proc.port), b = open_conn_soon(f->proc.port);
    assert_int_equal(open_conn(f->proc.port), -1);
    assert_int_equal(open_conn(f->proc.port), -1);
    close(a);
    int c = open_conn_soon(f->proc.port);
    assert_int_equal(open_conn(f->proc.port), -1);
    close(b);
    close(c);
}

/* ---- one budget for every instance on one Redis ---- */

static void test_instances_on_one_redis_share_the_budget(void **state)
{
    redis_pair *p = *state;
    for (int i = 0; i < 3; i++)
        expect_accepted(p->a->proc.port, NULL, 5, 4 - i);
    expect_accepted(p->b->proc.port, NULL, 5, 1);
    expect_accepted(p->b->proc.port, NULL, 5, 0);
    expect_limited(p->b->proc.port, NULL, 5);
    expect_limited(p->a->proc.port, NULL, 5);
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, test_statusd_teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        WITH(test_five_posts_count_down_then_the_sixth_is_429, limit5_setup),
        WITH(test_only_submits_are_limited, limit5_setup),
        WITH(test_forged_forwarded_for_does_not_dodge_the_limit, limit5_setup),
        WITH(test_requests_refused_before_the_limit_cost_nothing, limit2_token_setup),
        WITH(test_limit_zero_sends_no_ratelimit_headers, off_setup),
        WITH(test_trusted_proxy_gives_each_forwarded_client_a_budget, proxy_setup),
        WITH(test_trusted_proxy_chain_counts_against_rightmost_untrusted_hop, proxy_setup),
        WITH(test_trusted_proxy_one_client_in_several_spellings_shares_a_budget,
             proxy_setup),
        WITH(test_trusted_proxy_own_header_line_beats_a_forged_line, proxy_setup),
        WITH(test_trusted_proxy_malformed_hop_counts_against_the_proxy, proxy_setup),
        WITH(test_connections_past_the_per_ip_limit_are_refused_until_one_closes,
             conn_limit_setup),
        cmocka_unit_test_setup_teardown(test_instances_on_one_redis_share_the_budget,
                                        redis_pair_setup, redis_pair_teardown),
    };
    return cmocka_run_group_tests_name("http_access_limits", tests, NULL, NULL);
}
