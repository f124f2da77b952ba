/*
 * GET /metrics on the memory store and on Redis: the text exposition
 * format line by line and by `promtool check metrics`, request counters
 * by method, route and code (unmatched paths included), latency
 * histograms, job outcomes and run and wait times by kind, build info
 * and start time, the store's gauges, rate-limited
 * and store-error counters (Redis killed and restarted under a running
 * instance), the job queue's gauges and the retry counters, and, on
 * Redis, that every record and rate key statusd writes carries a TTL
 * while only the namespace indexes and the job queue's keys persist.
 *
 * Request counters are written once an answer has gone out, so a scrape
 * right after a request may not count it yet: the tests poll until a
 * counter reaches its value (long deadline) and then assert it exactly.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "ops_test.h"
#include "prom_check.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define RESEARCH "method=\"post\",route=\"/research\""
#define UNMATCHED "method=\"other\",route=\"unmatched\""
#define STATUS_GET "method=\"get\",route=\"/status/:id\""
#define RESEARCH_202 "statusd_http_requests_total{" RESEARCH ",code=\"202\"}"
#define RESEARCH_400 "statusd_http_requests_total{" RESEARCH ",code=\"400\"}"
#define RESEARCH_429 "statusd_http_requests_total{" RESEARCH ",code=\"429\"}"
#define UNMATCHED_404 "statusd_http_requests_total{" UNMATCHED ",code=\"404\"}"
#define STATUS_404 "statusd_http_requests_total{" STATUS_GET ",code=\"404\"}"
#define HIST "statusd_http_request_duration_seconds"
#define NBUCKETS 13          /* twelve bounds and +Inf */

/* ---- fixtures ---- */

static const char *const QUICK[] = {"--set", "demo_step_ms=0", "--set", "workers=2",
                                    "--set", "retry_backoff_ms=10", NULL};
static const char *const LIMITED[] = {"--set", "demo_step_ms=0", "--set", "ratelimit_submit=2",
                                      "--set", "ratelimit_chat=1", NULL};
static const char *const FAULTS[] = {"--set", "redis_timeout_ms=500", "--set",
                                     "demo_step_ms=0", NULL};
static const char *const SLOW[] = {"--set", "demo_step_ms=60000", "--set", "workers=1", NULL};
/* LIMITED without workers: every job runs on another instance. */
static const char *const LIMITED_API[] = {"--set", "ratelimit_submit=2", "--set",
                                          "ratelimit_chat=1", "--set", "workers=0", NULL};

static int quick_memory(void **state) { return test_fixture_setup(state, false, NULL, QUICK); }
static int quick_redis(void **state) { return test_fixture_setup(state, true, NULL, QUICK); }
static int limited_memory(void **state) { return test_fixture_setup(state, false, NULL, LIMITED); }
static int limited_redis(void **state) { return test_fixture_setup(state, true, NULL, LIMITED); }
static int limited_api_redis(void **state) { return test_fixture_setup(state, true, NULL, LIMITED_API); }
static int faults_redis(void **state) { return test_fixture_setup(state, true, NULL, FAULTS); }

/* Brings the group's Redis back should a test have left it down. */
static int faults_teardown(void **state)
{
    int rc = test_fixture_teardown(state);
    if (test_redis_group()->pid == 0 && test_redis_restart(test_redis_group()) != 0)
        rc = -1;
    return rc;
}

/* ---- reading values ---- */

/* GET /metrics; asserts 200 with the format's content type and returns the
 * body (the caller frees it). */
static char *scrape(unsigned port)
{
    http_resp r;
    test_call(port, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), CONTENT_TYPE);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    char *body = strdup(r.body);
    assert_non_null(body);
    http_resp_free(&r);
    return body;
}

/* The value of the sample line that starts with sample and a space; -1
 * when there is none. Asserts that the value is a whole number. */
static long long value_of(const char *body, const char *sample)
{
    size_t n = strlen(sample);
    for (const char *line = body; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
            char *end = NULL;
            long long v = strtoll(line + n + 1, &end, 10);
            if (end != eol)
                fail_msg("not a whole number: %.*s", (int)(eol - line), line);
            return v;
        }
        line = *eol == '\n' ? eol + 1 : eol;
    }
    return -1;
}

/* Scrapes until sample reaches at least want (long deadline), asserts
 * that it is exactly want, and returns that scrape (the caller frees). */
static char *wait_scrape(unsigned port, const char *sample, long long want)
{
    long long have = -1;
    char *body = NULL;
    for (int waited = 0; waited < TEST_DEADLINE_MS; waited += 20) {
        free(body);
        body = scrape(port);
        have = value_of(body, sample);
        if (have >= want)
            break;
        test_sleep_ms(20);
    }
    if (have != want)
        fail_msg("%s is %lld, expected %lld", sample, have, want);
    return body;
}

static void wait_value(unsigned port, const char *sample, long long want)
{
    free(wait_scrape(port, sample, want));
}

static void assert_value(const char *body, const char *sample, long long want)
{
    long long have = value_of(body, sample);
    if (have != want)
        fail_msg("%s is %lld, expected %lld", sample, have, want);
}

/* Asserts the histogram of labels (method="...",route="..."): NBUCKETS
 * buckets in rising order of le with non-decreasing counts, the last
 * le="+Inf" and equal to _count (which is want), and a _sum line. */
static void assert_histogram(const char *body, const char *labels, long long want)
{
    char prefix[192], sample[192];
    snprintf(prefix, sizeof prefix, HIST "_bucket{%s,le=\"", labels);
    size_t pn = strlen(prefix), nb = 0;
    double last_le = -1;
    long long last = 0;
    for (const char *p = strstr(body, prefix); p != NULL; p = strstr(p + 1, prefix)) {
        char *end = NULL;
        bool inf = strncmp(p + pn, "+Inf\"}", 6) == 0;
        double le = inf ? INFINITY : strtod(p + pn, &end);
        if (!inf && strncmp(end, "\"}", 2) != 0)
            fail_msg("bad le in %s", prefix);
        long long count = strtoll(strchr(p + pn, ' ') + 1, NULL, 10);
        if (le <= last_le || count < last)
            fail_msg("buckets of %s out of order at bucket %zu", labels, nb);
        last_le = le;
        last = count;
        nb++;
    }
    assert_int_equal(nb, NBUCKETS);
    assert_true(isinf(last_le));
    snprintf(sample, sizeof sample, HIST "_count{%s}", labels);
    assert_value(body, sample, want);
    assert_int_equal(last, want);
    snprintf(sample, sizeof sample, HIST "_sum{%s} ", labels);
    assert_non_null(strstr(body, sample));
}

/* Asserts the histogram of every route that has one. */
static void assert_histograms(const char *body)
{
    static const char count[] = HIST "_count{";
    size_t routes = 0;
    for (const char *p = strstr(body, count); p != NULL; p = strstr(p + 1, count), routes++) {
        char labels[160];
        const char *name = p + strlen(count), *brace = strchr(name, '}');
        assert_non_null(brace);
        assert_true((size_t)(brace - name) < sizeof labels);
        memcpy(labels, name, (size_t)(brace - name));
        labels[brace - name] = '\0';
        assert_histogram(body, labels, strtoll(strchr(brace, ' ') + 1, NULL, 10));
    }
    assert_true(routes > 0);
}

/* ---- tests ---- */

static void test_metrics_pass_the_format_check_and_promtool(void **state)
{
    unsigned port = test_fixture_port(state);
    free(ops_job(port, "one", false, "completed"));
    free(ops_create_session(port));
    ops_chat(port, "erin");
    http_resp r;
    test_call(port, "GET", "/no/such/path", NULL, NULL, &r);
    http_resp_free(&r);
    test_call(port, "POST", "/research", NULL, "{\"query\":\"\"}", &r);
    http_resp_free(&r);
    cJSON_Delete(ops_stats(port));
    wait_value(port, UNMATCHED_404, 1);
    char *body = scrape(port);
    prom_assert_exposition(body);
    prom_assert_promtool(body);
    assert_histograms(body);
    assert_value(body, "statusd_store_up", 1);
    assert_value(body, "statusd_workers", 2);
    assert_true(value_of(body, "statusd_uptime_seconds") >= 0);
    free(body);
}

static void test_metrics_count_requests_by_route_and_status(void **state)
{
    unsigned port = test_fixture_port(state);
    char *body = scrape(port);
    assert_value(body, RESEARCH_202, -1);    /* no line before the first */
    free(body);
    for (int i = 0; i < 3; i++)
        free(test_submit_job(port, "{\"query\":\"counted\"}"));
    http_resp r;
    test_call(port, "POST", "/research", NULL, "{\"query\":\"\"}", &r);
    test_assert_problem(&r, 400, "invalid-request", NULL);
    http_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        test_call(port, "GET", "/nothing-here", NULL, NULL, &r);
        assert_int_equal(r.status, 404);
        http_resp_free(&r);
    }
    test_call(port, "GET", "/status/not-a-uuid", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);

    wait_value(port, RESEARCH_202, 3);
    wait_value(port, RESEARCH_400, 1);
    wait_value(port, UNMATCHED_404, 2);
    wait_value(port, STATUS_404, 1);
    /* a request's histogram entry is written just after its counter */
    wait_value(port, HIST "_count{" RESEARCH "}", 4);
    wait_value(port, HIST "_count{" UNMATCHED "}", 2);
    wait_value(port, HIST "_count{" STATUS_GET "}", 1);
    body = scrape(port);
    assert_histogram(body, RESEARCH, 4);
    assert_histogram(body, UNMATCHED, 2);
    assert_histogram(body, STATUS_GET, 1);
    assert_value(body, "statusd_http_requests_total{" UNMATCHED ",code=\"405\"}", -1);
    free(body);
}

static void test_metrics_job_gauges_follow_the_store(void **state)
{
    unsigned port = test_fixture_port(state);
    char *body = scrape(port);
    assert_value(body, "statusd_jobs{status=\"completed\"}", 0);
    free(body);
    for (int i = 0; i < 2; i++)
        free(ops_job(port, "done", false, "completed"));
    free(ops_job(port, "broken", true, "failed"));
    free(ops_create_session(port));
    ops_chat(port, "frank");
    ops_wait_stat(port, "workers", "busy", 0);
    body = scrape(port);
    assert_value(body, "statusd_jobs{status=\"queued\"}", 0);
    assert_value(body, "statusd_jobs{status=\"processing\"}", 0);
    assert_value(body, "statusd_jobs{status=\"completed\"}", 2);
    assert_value(body, "statusd_jobs{status=\"failed\"}", 1);
    assert_value(body, "statusd_jobs{status=\"canceled\"}", 0);
    assert_value(body, "statusd_sessions", 1);
    assert_value(body, "statusd_conversations", 1);
    assert_value(body, "statusd_queue_depth", 0);
    assert_value(body, "statusd_queue_jobs{state=\"ready\"}", 0);
    assert_value(body, "statusd_queue_jobs{state=\"delayed\"}", 0);
    assert_value(body, "statusd_queue_jobs{state=\"leased\"}", 0);
    assert_value(body, "statusd_workers_busy", 0);
    /* the broken job ran three times: two retries */
    assert_value(body, "statusd_job_retries_total", 2);
    assert_value(body, "statusd_job_leases_expired_total{outcome=\"requeued\"}", 0);
    assert_value(body, "statusd_job_leases_expired_total{outcome=\"worker_lost\"}", 0);
    assert_value(body, "statusd_job_handed_back_total", 0);
    assert_value(body, "statusd_store_up", 1);
    free(body);
}

/* Two jobs that complete and one that fails all three attempts: five
 * runs, each timed, with the wait before each; two retries. */
static void test_metrics_count_job_outcomes_and_durations_by_kind(void **state)
{
    unsigned port = test_fixture_port(state);
    char *body = scrape(port);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"completed\"}", 0);
    assert_null(strstr(body, "statusd_job_run_seconds_count"));
    free(body);
    for (int i = 0; i < 2; i++)
        free(ops_job(port, "done", false, "completed"));
    free(ops_job(port, "broken", true, "failed"));
    ops_wait_stat(port, "workers", "busy", 0);

    body = scrape(port);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"completed\"}", 2);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"failed\"}", 1);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"retried\"}", 2);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"canceled\"}", 0);
    assert_value(body, "statusd_jobs_total{kind=\"research\",outcome=\"lost\"}", 0);
    assert_value(body, "statusd_jobs_total{kind=\"upload\",outcome=\"completed\"}", 0);
    assert_value(body, "statusd_job_run_seconds_count{kind=\"research\"}", 5);
    assert_value(body, "statusd_job_run_seconds_bucket{kind=\"research\",le=\"+Inf\"}", 5);
    assert_value(body, "statusd_job_wait_seconds_count{kind=\"research\"}", 5);
    /* every wait was far below an hour, the largest bound */
    assert_value(body, "statusd_job_wait_seconds_bucket{kind=\"research\",le=\"3600\"}", 5);
    assert_null(strstr(body, "statusd_job_run_seconds_count{kind=\"upload\"}"));
    assert_value(body, "statusd_build_info{version=\"" STATUSD_VERSION "\"}", 1);
    const char *start = strstr(body, "\nprocess_start_time_seconds ");
    assert_non_null(start);
    double started = strtod(start + strlen("\nprocess_start_time_seconds "), NULL);
    double now = (double)time(NULL);
    assert_true(started > now - 600 && started <= now + 1);
    prom_assert_exposition(body);
    prom_assert_promtool(body);
    free(body);
}

static void test_metrics_count_rate_limited_requests_by_limit(void **state)
{
    unsigned port = test_fixture_port(state);
    char *body = scrape(port);
    assert_value(body, "statusd_rate_limited_total{limit=\"submit\"}", 0);
    assert_value(body, "statusd_rate_limited_total{limit=\"chat\"}", 0);
    free(body);
    for (int i = 0; i < 2; i++)
        free(test_submit_job(port, "{\"query\":\"within\"}"));
    http_resp r;
    for (int i = 1; i <= 2; i++) {
        test_call(port, "POST", "/research", NULL, "{\"query\":\"over\"}", &r);
        test_assert_problem(&r, 429, "rate-limited", NULL);
        http_resp_free(&r);
        body = scrape(port);
        assert_value(body, "statusd_rate_limited_total{limit=\"submit\"}", i);
        assert_value(body, "statusd_rate_limited_total{limit=\"chat\"}", 0);
        free(body);
    }
    ops_chat(port, "gina");
    test_call(port, "POST", "/chat", NULL,
             "{\"user_id\":\"gina\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &r);
    test_assert_problem(&r, 429, "rate-limited", NULL);
    http_resp_free(&r);
    wait_value(port, RESEARCH_429, 2);
    wait_value(port, RESEARCH_202, 2);
    body = scrape(port);
    assert_value(body, "statusd_rate_limited_total{limit=\"submit\"}", 2);
    assert_value(body, "statusd_rate_limited_total{limit=\"chat\"}", 1);
    prom_assert_exposition(body);
    free(body);
}

static void test_metrics_count_store_errors_while_redis_is_down(void **state)
{
    unsigned port = test_fixture_port(state);
    free(ops_job(port, "before", false, "completed"));
    char *body = scrape(port);
    assert_value(body, "statusd_store_errors_total", 0);
    assert_value(body, "statusd_store_up", 1);
    assert_value(body, "statusd_jobs{status=\"completed\"}", 1);
    free(body);

    assert_int_equal(test_redis_kill(test_redis_group(), SIGKILL), 0);
    http_resp r;
    test_call(port, "GET", "/status/0f8fad5b-d9cb-469f-a165-70867728950e", NULL, NULL, &r);
    test_assert_problem(&r, 503, "store-unavailable", NULL);
    http_resp_free(&r);
    body = scrape(port);
    prom_assert_exposition(body);
    assert_value(body, "statusd_store_errors_total", 1);
    assert_value(body, "statusd_store_up", 0);
    /* the store's gauges are left out while it cannot answer */
    assert_null(strstr(body, "statusd_jobs{"));
    assert_null(strstr(body, "statusd_sessions"));
    assert_null(strstr(body, "statusd_conversations"));
    assert_null(strstr(body, "statusd_queue"));
    assert_value(body, "statusd_job_retries_total", 0);
    assert_value(body, "statusd_workers", 4);
    free(body);
    test_call(port, "GET", "/stats", NULL, NULL, &r);
    test_assert_problem(&r, 503, "store-unavailable", NULL);
    http_resp_free(&r);
    body = scrape(port);
    assert_value(body, "statusd_store_errors_total", 2);
    free(body);

    assert_int_equal(test_redis_restart(test_redis_group()), 0);
    /* Each HTTP thread reconnects on its own, so only the scrape that saw
     * the store up is sure to have its counts. */
    body = wait_scrape(port, "statusd_store_up", 1);
    assert_value(body, "statusd_store_errors_total", 2);
    /* the restarted server kept nothing (no persistence) */
    assert_value(body, "statusd_jobs{status=\"completed\"}", 0);
    free(body);
}

/* What SCAN finds under "statusd:" and what each key must look like:
 * its type and its TTL bound in ms, or -1 for a key without a TTL. */
typedef struct key_rule {
    char name[160];
    const char *type;
    long long max_pttl;
    bool seen;
} key_rule;

/* Whether key is rule's: its name, or for a name ending in '*' any key
 * that starts with what comes before (one key per such rule). */
static bool rule_matches(const key_rule *rule, const char *key)
{
    size_t n = strlen(rule->name);
    if (n > 0 && rule->name[n - 1] == '*')
        return !rule->seen && strncmp(rule->name, key, n - 1) == 0;
    return strcmp(rule->name, key) == 0;
}

/* Asserts the key's type and that it has no TTL. */
static void assert_untimed_key(redisContext *c, const char *key, const char *type)
{
    const char *t[] = {"TYPE", key, NULL}, *pttl[] = {"PTTL", key, NULL};
    redisReply *r = ops_redis_cmd(c, t);
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, type) != 0)
        fail_msg("%s is a %s, expected a %s", key, r->str, type);
    freeReplyObject(r);
    assert_int_equal(ops_redis_int(c, pttl), -1);
}

/* The instance under test takes no job (workers = 0): one instance runs
 * the finished jobs and stops, then one that holds its job for minutes
 * runs the canceled one, so the test knows where each job runs. */
static void test_redis_records_and_rate_keys_all_expire(void **state)
{
    static const char *const FAST[] = {"--set", "demo_step_ms=0", "--set",
                                       "retry_backoff_ms=10", NULL};
    unsigned port = test_fixture_port(state);
    test_statusd *runner = ops_start_on_redis(FAST);
    assert_non_null(runner);
    char *done = ops_job(port, "done", false, "completed");
    char *failed = ops_job(port, "broken", true, "failed");
    assert_int_equal(test_statusd_stop(runner), 0);
    http_resp r;
    test_call(port, "POST", "/research", NULL, "{\"query\":\"over\"}", &r);
    test_assert_problem(&r, 429, "rate-limited", NULL);
    http_resp_free(&r);
    test_statusd *other = ops_start_on_redis(SLOW);
    assert_non_null(other);
    char *held = ops_job(other->proc.port, "held", false, "processing");
    /* A queue's keys, while it holds a job, have no TTL either; an empty
     * queue has no keys at all. */
    redisContext *c = test_redis_connect(test_redis_group());
    assert_non_null(c);
    assert_untimed_key(c, "statusd:q:{jobs}:l", "zset");
    assert_untimed_key(c, "statusd:q:{jobs}:o", "hash");
    test_cancel_job(port, held);
    ops_wait_stat(other->proc.port, "workers", "busy", 0);
    ops_wait_stat(port, "queue", "leased", 0);
    char *sess = ops_create_session(port);
    ops_chat(port, "hank");
    test_call(port, "GET", "/ready", NULL, NULL, &r);   /* a probe key, removed */
    assert_int_equal(r.status, 200);
    http_resp_free(&r);

    /* Records: a hash per job, session and conversation id and live
     * instance, a list per conversation's messages. Rate state: a string per limited key. The
     * indexes (redis_scripts.c) have no TTL: exp:<ns> and lex:<ns> (ids by
     * expiry and by name), sorted sets; ixr:job, a hash of id -> counted
     * status; ix:job:<status>:o, sorted sets of the ids by status scored
     * by their order key (lib_ix.lua: the listing order, and the counts of
     * /stats); ixr:job:n, the counter that hands out those keys, and
     * ixr:job:v, the mark of the layout's check at start-up. Every
     * script that drops a record takes it out of them in the same step. */
    key_rule rules[] = {
        {"", "hash", 3600000, false}, {"", "hash", 3600000, false},
        {"", "hash", 3600000, false}, {"", "hash", 3600000, false},
        {"statusd:{chat:hank}", "list", 3600000, false},
        {"statusd:{chatmeta:hank}", "hash", 3605000, false},
        {"statusd:rl:{submit:127.0.0.1}", "string", 60000, false},
        {"statusd:rl:{chat:hank}", "string", 60000, false},
        {"statusd:exp:job", "zset", -1, false}, {"statusd:lex:job", "zset", -1, false},
        {"statusd:exp:session", "zset", -1, false}, {"statusd:lex:session", "zset", -1, false},
        {"statusd:exp:chat", "zset", -1, false}, {"statusd:lex:chat", "zset", -1, false},
        {"statusd:exp:chatmeta", "zset", -1, false},
        {"statusd:lex:chatmeta", "zset", -1, false},
        {"statusd:ixr:job", "hash", -1, false},
        {"statusd:ix:job:completed:o", "zset", -1, false},
        {"statusd:ix:job:failed:o", "zset", -1, false},
        {"statusd:ix:job:canceled:o", "zset", -1, false},
        {"statusd:ixr:job:n", "string", -1, false},
        {"statusd:ixr:job:v", "string", -1, false},
        /* the heartbeat records of the two live instances (job_lease) */
        {"statusd:{instance:*", "hash", 30000, false},
        {"statusd:{instance:*", "hash", 30000, false},
        {"statusd:exp:instance", "zset", -1, false},
        {"statusd:lex:instance", "zset", -1, false},
    };
    const size_t nrules = sizeof rules / sizeof rules[0];
    snprintf(rules[0].name, sizeof rules[0].name, "statusd:{job:%s}", done);
    snprintf(rules[1].name, sizeof rules[1].name, "statusd:{job:%s}", failed);
    snprintf(rules[2].name, sizeof rules[2].name, "statusd:{job:%s}", held);
    snprintf(rules[3].name, sizeof rules[3].name, "statusd:{session:%s}", sess);

    char cursor[32] = "0";
    size_t found = 0;
    do {
        const char *scan[] = {"SCAN", cursor, "MATCH", "statusd:*", "COUNT", "100", NULL};
        redisReply *rep = ops_redis_cmd(c, scan);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        for (size_t i = 0; i < rep->element[1]->elements; i++, found++) {
            const char *key = rep->element[1]->element[i]->str;
            key_rule *rule = NULL;
            for (size_t k = 0; k < nrules && rule == NULL; k++)
                if (rule_matches(&rules[k], key))
                    rule = &rules[k];
            if (rule == NULL || rule->seen)
                fail_msg("unexpected key %s", key);
            rule->seen = true;
            const char *type[] = {"TYPE", key, NULL}, *pttl[] = {"PTTL", key, NULL};
            redisReply *t = ops_redis_cmd(c, type);
            if (t->type != REDIS_REPLY_STATUS || strcmp(t->str, rule->type) != 0)
                fail_msg("%s is a %s, expected a %s", key, t->str, rule->type);
            freeReplyObject(t);
            long long ms = ops_redis_int(c, pttl);
            if (rule->max_pttl < 0 ? ms != -1 : (ms <= 0 || ms > rule->max_pttl))
                fail_msg("%s has a PTTL of %lld ms (bound %lld)", key, ms, rule->max_pttl);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    for (size_t k = 0; k < nrules; k++)
        if (!rules[k].seen)
            fail_msg("no key %s", rules[k].name);
    assert_int_equal(found, nrules);
    redisFree(c);
    assert_int_equal(test_statusd_stop(other), 0);
    free(done);
    free(failed);
    free(held);
    free(sess);
}

#define ON(test, setup, teardown, store) TEST_ON_STORE(test, setup, teardown, store)
#define BOTH(test, mem, red) TEST_ON_BOTH(test, mem, red, test_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_metrics_pass_the_format_check_and_promtool, quick_memory, quick_redis),
        BOTH(test_metrics_count_requests_by_route_and_status, quick_memory, quick_redis),
        BOTH(test_metrics_job_gauges_follow_the_store, quick_memory, quick_redis),
        BOTH(test_metrics_count_job_outcomes_and_durations_by_kind, quick_memory, quick_redis),
        BOTH(test_metrics_count_rate_limited_requests_by_limit, limited_memory, limited_redis),
        ON(test_redis_records_and_rate_keys_all_expire, limited_api_redis, test_fixture_teardown,
           "redis"),
        ON(test_metrics_count_store_errors_while_redis_is_down, faults_redis, faults_teardown,
           "redis"),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
