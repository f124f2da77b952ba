/*
 * ratelimit_create: creating sessions and conversations is limited per
 * client address, on every route that creates (POST /sessions, PUT of a
 * new session, POST /chat for a user without a conversation) and on no
 * write to what exists; on both stores, shared by two instances on one
 * Redis. Then how clients are counted: IPv6 addresses by their /64
 * (ipv6_prefix), on a statusd bound to ::1 behind a trusted proxy on
 * loopback whose X-Forwarded-For carries IPv6 clients.
 *
 * Budgets are a minute's in a burst; the counts asserted hold while a
 * test's requests fit in one emission interval (20 s at 3 a minute), far
 * longer than they take.
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
#include "redis_server.h"
#include "statusd/util.h"

#define SESSION "{\"data\":{\"n\":1}}"
#define QUOTA 3

typedef struct fixture {
    test_statusd *a, *b;   /* b: a second instance on the same Redis, or NULL */
    bool ipv6;
} fixture;

/* ---- fixtures ---- */

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    if (f != NULL) {
        if (test_statusd_stop(f->b) != 0)
            rc = -1;
        if (test_statusd_stop(f->a) != 0)
            rc = -1;
        free(f);
    }
    http_client_use_ipv6(false);
    *state = NULL;
    return rc;
}

/* statusd with ratelimit_create = QUOTA then args, on memory or on the
 * group's Redis (emptied first); two of them with pair. */
static int start(void **state, bool redis, bool pair, bool ipv6, const char *const *args)
{
    *state = NULL;
    if (redis && test_redis_group_flush() != 0)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    f->ipv6 = ipv6;
    http_client_use_ipv6(ipv6);
    char quota[32];
    snprintf(quota, sizeof quota, "ratelimit_create=%d", QUOTA);
    const char *const head[] = {"--set", quota, NULL};
    f->a = test_statusd_start_store(NULL, head, redis, args);
    if (f->a != NULL && pair)
        f->b = test_statusd_start_store(NULL, head, redis, args);
    if (f->a == NULL || (pair && f->b == NULL)) {
        teardown(state);
        return -1;
    }
    return 0;
}

static int memory_setup(void **state) { return start(state, false, false, false, NULL); }
static int redis_setup(void **state) { return start(state, true, false, false, NULL); }
static int redis_pair_setup(void **state) { return start(state, true, true, false, NULL); }

static int off_setup(void **state)
{
    static const char *const args[] = {"--set", "ratelimit_create=0", NULL};
    return start(state, false, false, false, args);
}

/* ::1-bound, loopback proxies trusted. */
#define PROXIED "--set", "bind=::1", "--set", "trusted_proxies=::1, 127.0.0.1"

static int ipv6_memory_setup(void **state)
{
    static const char *const args[] = {PROXIED, NULL};
    return start(state, false, false, true, args);
}

static int ipv6_redis_setup(void **state)
{
    static const char *const args[] = {PROXIED, NULL};
    return start(state, true, false, true, args);
}

static int ipv6_whole_address_setup(void **state)
{
    static const char *const args[] = {PROXIED, "--set", "ipv6_prefix=128", NULL};
    return start(state, false, false, true, args);
}

static int ipv6_submit_setup(void **state)
{
    static const char *const args[] = {PROXIED, "--set", "ratelimit_submit=2", "--set",
                                       "demo_step_ms=60000", "--set", "drain_timeout=1", NULL};
    return start(state, false, false, true, args);
}

static unsigned port_a(void **state) { return ((fixture *)*state)->a->proc.port; }

/* ---- requests and what they answer ---- */

/* One request from client xff (an X-Forwarded-For value, or NULL). */
static void call(unsigned port, const char *method, const char *path, const char *xff,
                 const char *body, http_resp *r)
{
    char headers[256] = "";
    if (xff != NULL)
        snprintf(headers, sizeof headers, "X-Forwarded-For: %s\r\n", xff);
    test_call(port, method, path, headers, body, r);
}

/* The number after "r=" in the RateLimit header of class cls; asserts the
 * policy header too. */
static int remaining_of(const http_resp *r, const char *cls, int quota)
{
    char want[64];
    snprintf(want, sizeof want, "\"%s\";q=%d;w=60", cls, quota);
    const char *policy = http_header(r, "RateLimit-Policy");
    if (policy == NULL || strcmp(policy, want) != 0)
        fail_msg("RateLimit-Policy: expected '%s', got '%s'", want, policy ? policy : "none");
    const char *v = http_header(r, "RateLimit");
    assert_non_null(v);
    snprintf(want, sizeof want, "\"%s\";r=", cls);
    if (strncmp(v, want, strlen(want)) != 0)
        fail_msg("RateLimit '%s' does not start with '%s'", v, want);
    int64_t n = -1;
    const char *p = v + strlen(want);
    const char *end = strchr(p, ';');
    assert_non_null(end);
    char num[16];
    snprintf(num, sizeof num, "%.*s", (int)(end - p), p);
    assert_int_equal(sd_parse_i64(num, 0, quota, &n), SD_OK);
    return (int)n;
}

/* Asserts status and `left` of the create budget. */
static void assert_counted(const http_resp *r, int status, int left)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body ? r->body : "");
    assert_int_equal(remaining_of(r, "create", QUOTA), left);
}

/* Asserts a write the create limit does not see: status, no headers. */
static void assert_not_counted(const http_resp *r, int status)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body ? r->body : "");
    assert_null(http_header(r, "RateLimit"));
    assert_null(http_header(r, "RateLimit-Policy"));
}

/* Asserts the 429 of a spent create budget with its headers. */
static void assert_create_limited(const http_resp *r)
{
    test_assert_problem(r, 429, "rate-limited", "requests a minute for this client");
    assert_int_equal(remaining_of(r, "create", QUOTA), 0);
    const char *retry = http_header(r, "Retry-After");
    int64_t s = 0;
    assert_non_null(retry);
    assert_int_equal(sd_parse_i64(retry, 1, 60 / QUOTA, &s), SD_OK);
}

static void post_session(unsigned port, const char *xff, http_resp *r)
{
    call(port, "POST", "/sessions", xff, SESSION, r);
}

static void expect_session_created(unsigned port, const char *xff, int left)
{
    http_resp r;
    post_session(port, xff, &r);
    assert_counted(&r, 201, left);
    http_resp_free(&r);
}

static void expect_session_limited(unsigned port, const char *xff)
{
    http_resp r;
    post_session(port, xff, &r);
    assert_create_limited(&r);
    http_resp_free(&r);
}

static void chat(unsigned port, const char *user, http_resp *r)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"user_id\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", user);
    call(port, "POST", "/chat", NULL, body, r);
}

/* What one request answers, asserted: status with `left` of the create
 * budget (NOT_COUNTED: no RateLimit headers), or LIMITED: the 429. */
#define NOT_COUNTED (-1)
#define LIMITED (-2)

static void expect(unsigned port, const char *method, const char *path, const char *body,
                   int status, int left)
{
    http_resp r;
    if (strcmp(path, "/chat") == 0)
        chat(port, body, &r);
    else
        test_call(port, method, path, NULL, body, &r);
    if (left == LIMITED)
        assert_create_limited(&r);
    else if (left == NOT_COUNTED)
        assert_not_counted(&r, status);
    else
        assert_counted(&r, status, left);
    http_resp_free(&r);
}

/* ---- the routes that create ---- */

static void test_post_sessions_past_the_create_budget_is_429(void **state)
{
    unsigned port = port_a(state);
    for (int i = 0; i < QUOTA; i++)
        expect_session_created(port, NULL, QUOTA - 1 - i);
    expect_session_limited(port, NULL);
    expect_session_limited(port, NULL);
    /* Reading is not limited. */
    http_resp r;
    test_call(port, "GET", "/sessions", NULL, NULL, &r);
    assert_not_counted(&r, 200);
    http_resp_free(&r);
}

/* PUT counts when it creates; a replace of an existing session does not,
 * however often; a refused PUT creates nothing. */
static void test_put_counts_only_when_it_creates_a_session(void **state)
{
    unsigned port = port_a(state);
    expect(port, "PUT", "/sessions/one", SESSION, 201, 2);
    for (int i = 0; i < 5; i++)
        expect(port, "PUT", "/sessions/one", SESSION, 200, NOT_COUNTED);
    http_resp r;
    test_call(port, "PATCH", "/sessions/one", "Content-Type: application/merge-patch+json\r\n",
              "{\"n\":2}", &r);
    assert_not_counted(&r, 200);
    http_resp_free(&r);
    expect(port, "PUT", "/sessions/two", SESSION, 201, 1);
    expect_session_created(port, NULL, 0);
    expect(port, "PUT", "/sessions/three", SESSION, 429, LIMITED);
    assert_int_equal(test_get_status(port, "/sessions/three"), 404);
    /* A replace still works with the budget spent. */
    expect(port, "PUT", "/sessions/two", SESSION, 200, NOT_COUNTED);
}

/* POST /chat counts for a user without a conversation only; sessions
 * and conversations spend one budget. */
static void test_chat_counts_only_a_new_conversation(void **state)
{
    unsigned port = port_a(state);
    expect(port, "POST", "/chat", "alice", 200, 2);
    for (int i = 0; i < 5; i++)
        expect(port, "POST", "/chat", "alice", 200, NOT_COUNTED);
    expect_session_created(port, NULL, 1);
    expect(port, "POST", "/chat", "bob", 200, 0);
    expect(port, "POST", "/chat", "carol", 429, LIMITED);
    assert_int_equal(test_get_status(port, "/chat/history/carol"), 404);
    expect(port, "POST", "/chat", "bob", 200, NOT_COUNTED);
}

static void test_create_limit_zero_sends_no_ratelimit_headers(void **state)
{
    unsigned port = port_a(state);
    for (int i = 0; i < QUOTA + 3; i++) {
        char user[32];
        snprintf(user, sizeof user, "user%d", i);
        expect(port, "POST", "/sessions", SESSION, 201, NOT_COUNTED);
        expect(port, "POST", "/chat", user, 200, NOT_COUNTED);
    }
}

/* ---- one budget for every instance on one Redis ---- */

static void test_instances_on_one_redis_share_the_create_budget(void **state)
{
    fixture *f = *state;
    unsigned a = f->a->proc.port, b = f->b->proc.port;
    expect_session_created(a, NULL, 2);
    expect(b, "PUT", "/sessions/shared", SESSION, 201, 1);
    expect(a, "POST", "/chat", "dave", 200, 0);
    expect_session_limited(b, NULL);
    expect(b, "POST", "/chat", "erin", 429, LIMITED);
    expect_session_limited(a, NULL);
}

/* ---- IPv6 clients by prefix ---- */

static void test_ipv6_clients_of_one_64_share_a_budget(void **state)
{
    unsigned port = port_a(state);
    expect_session_created(port, "2001:db8:1:2::a", 2);
    expect_session_created(port, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 1);
    expect_session_created(port, "[2001:db8:1:2::ffff]:5123", 0);
    expect_session_limited(port, "2001:db8:1:2::b");
    expect_session_limited(port, "2001:db8:1:2:ffff:ffff:ffff:ffff");
}

static void test_ipv6_clients_of_two_64s_have_a_budget_each(void **state)
{
    unsigned port = port_a(state);
    for (int i = 0; i < QUOTA; i++)
        expect_session_created(port, "2001:db8:1:2::a", QUOTA - 1 - i);
    expect_session_limited(port, "2001:db8:1:2::b");
    expect_session_created(port, "2001:db8:1:3::a", 2);
    expect_session_created(port, "2001:db8:1:3:ffff::b", 1);
    expect_session_created(port, "2001:db8:ffff:2::a", 2);
    /* The proxy itself (::1, no header) and IPv4 clients are others. */
    expect_session_created(port, NULL, 2);
    expect_session_created(port, "192.0.2.7", 2);
    expect_session_created(port, "192.0.2.8", 2);
}

/* An IPv4 client spelt as an IPv4-mapped IPv6 address is that IPv4
 * client, not the ::ffff:0:0/64 network. */
static void test_mapped_ipv4_clients_stay_ipv4_addresses(void **state)
{
    unsigned port = port_a(state);
    expect_session_created(port, "192.0.2.7", 2);
    expect_session_created(port, "::ffff:192.0.2.7", 1);
    expect_session_created(port, "::ffff:192.0.2.8", 2);
    expect_session_created(port, "::ffff:192.0.2.9", 2);
}

static void test_ipv6_prefix_128_gives_each_address_a_budget(void **state)
{
    unsigned port = port_a(state);
    for (int i = 0; i < QUOTA; i++)
        expect_session_created(port, "2001:db8:1:2::a", QUOTA - 1 - i);
    expect_session_limited(port, "2001:db8:1:2::a");
    expect_session_created(port, "2001:db8:1:2::b", 2);
}

/* ratelimit_submit counts clients the same way. */
static void test_ipv6_submit_limit_is_kept_per_64(void **state)
{
    unsigned port = port_a(state);
    const char *body = "{\"query\":\"v6\"}";
    const char *clients[] = {"2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6::3",
                             "2001:db8:5:7::1"};
    const int want[] = {202, 202, 429, 202};
    for (int i = 0; i < 4; i++) {
        http_resp r;
        call(port, "POST", "/research", clients[i], body, &r);
        if (r.status != want[i])
            fail_msg("%s: expected %d, got %d: %s", clients[i], want[i], r.status,
                     r.body ? r.body : "");
        http_resp_free(&r);
    }
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, teardown)
#define NAMED(name, test, setup) {name, test, setup, teardown, NULL}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        NAMED("test_post_sessions_past_the_create_budget_is_429 (memory)",
              test_post_sessions_past_the_create_budget_is_429, memory_setup),
        NAMED("test_post_sessions_past_the_create_budget_is_429 (redis)",
              test_post_sessions_past_the_create_budget_is_429, redis_setup),
        NAMED("test_put_counts_only_when_it_creates_a_session (memory)",
              test_put_counts_only_when_it_creates_a_session, memory_setup),
        NAMED("test_put_counts_only_when_it_creates_a_session (redis)",
              test_put_counts_only_when_it_creates_a_session, redis_setup),
        NAMED("test_chat_counts_only_a_new_conversation (memory)",
              test_chat_counts_only_a_new_conversation, memory_setup),
        NAMED("test_chat_counts_only_a_new_conversation (redis)",
              test_chat_counts_only_a_new_conversation, redis_setup),
        WITH(test_create_limit_zero_sends_no_ratelimit_headers, off_setup),
        WITH(test_instances_on_one_redis_share_the_create_budget, redis_pair_setup),
        NAMED("test_ipv6_clients_of_one_64_share_a_budget (memory)",
              test_ipv6_clients_of_one_64_share_a_budget, ipv6_memory_setup),
        NAMED("test_ipv6_clients_of_one_64_share_a_budget (redis)",
              test_ipv6_clients_of_one_64_share_a_budget, ipv6_redis_setup),
        WITH(test_ipv6_clients_of_two_64s_have_a_budget_each, ipv6_memory_setup),
        WITH(test_mapped_ipv4_clients_stay_ipv4_addresses, ipv6_memory_setup),
        WITH(test_ipv6_prefix_128_gives_each_address_a_budget, ipv6_whole_address_setup),
        WITH(test_ipv6_submit_limit_is_kept_per_64, ipv6_submit_setup),
    };
    return cmocka_run_group_tests_name("http_create_limit", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
