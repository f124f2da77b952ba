/*
 * statusd while its Redis stalls or is busy: with the server stopped
 * (SIGSTOP) and many clients polling jobs, GET /health and requests
 * refused before any store call (404) still answer within 1 s every time
 * (the polls wait on request threads, not on the HTTP threads), and every
 * poll gets an answer; many reads in flight at once over a single
 * Redis connection each get their own job back, read pipelined on the
 * store's one connection for polls (statusd_store_polls_total); requests
 * pipelined on one HTTP connection are answered in their order, each
 * with its own job; a poll of a missing job reads it once; and statusd stopped with polls in flight to a
 * stopped Redis answers them and exits cleanly.
 *
 * Each test runs its own redis-server and statusd, both stopped by pid in
 * teardown. The 1 s bound is the feature under test, for answers that
 * take milliseconds; the store's timeout (3 s) is far above it, so a
 * thread that waited on Redis could not meet it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_client.h"
#include "http_test.h"
#include "redis_fixture.h"
#include "statusd/util.h"

#define INLINE_BOUND_MS 1000
#define STALL_MS 5000
#define POLLERS 50
#define POLL_PAUSE_MS 20
#define READERS 16
#define READ_JOBS 64
#define READ_ROUNDS 4

typedef redis_fixture fixture;

/* A private Redis and one statusd on it with threads (a "threads=N"
 * value) and redis_timeout_ms=3000. The clients all come from one
 * address and reconnect for every request, faster than a slow build
 * (ThreadSanitizer) may close their old connections: no per-address
 * limit, which is not what is tested here. */
static int stall_setup(void **state, const char *threads)
{
    const char *const sets[] = {"redis_timeout_ms=3000", threads,
                                "per_ip_connection_limit=0", NULL};
    return redis_fixture_setup(state, false, sets);
}

static int two_threads_setup(void **state) { return stall_setup(state, "threads=2"); }
static int one_thread_setup(void **state) { return stall_setup(state, "threads=1"); }

/* ---- /health while Redis is stopped ---- */

typedef struct poller {
    unsigned port;
    const char *path;
    atomic_bool *stop;
    int answered;            /* 200 or 503 */
    int other;               /* no answer, or another status */
    int last_other;
} poller;

/* One poll by p, counted as answered (200 or 503) or other. */
static void poll_one(poller *p)
{
    http_resp a;
    int rc = http_do(p->port, "GET", p->path, NULL, NULL, &a);
    if (rc == 0 && (a.status == 200 || a.status == 503)) {
        p->answered++;
    } else {
        p->other++;
        p->last_other = rc == 0 ? a.status : -1;
    }
    http_resp_free(&a);
}

static void *poll_main(void *arg)
{
    poller *p = arg;
    while (!atomic_load(p->stop)) {
        poll_one(p);
        test_sleep_ms(POLL_PAUSE_MS);
    }
    return NULL;
}

/* GET path: true when it answered status within INLINE_BOUND_MS, else
 * false with what happened in why. */
static bool answers_fast(unsigned port, const char *path, int status, char *why,
                         size_t whylen)
{
    http_resp a;
    int64_t t0 = sd_mono_ms();
    int rc = http_do(port, "GET", path, NULL, NULL, &a);
    int64_t ms = sd_mono_ms() - t0;
    bool ok = rc == 0 && ms <= INLINE_BOUND_MS && a.status == status;
    if (!ok)
        snprintf(why, whylen, "GET %s: %s %d after %lld ms while Redis was stopped (bound %d)",
                 path, rc == 0 ? "status" : "no answer", rc == 0 ? a.status : -1,
                 (long long)ms, INLINE_BOUND_MS);
    http_resp_free(&a);
    return ok;
}

static void test_health_answers_within_1s_while_redis_is_stopped_and_clients_poll(
    void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char path[64];
    char *id = test_completed_job(port, "{\"query\":\"stall\"}", path, sizeof path);

    atomic_bool stop;
    atomic_init(&stop, false);
    pthread_t th[POLLERS];
    poller p[POLLERS];
    for (int i = 0; i < POLLERS; i++) {
        p[i] = (poller){.port = port, .path = path, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, poll_main, &p[i]), 0);
    }
    test_sleep_ms(200);
    assert_int_equal(test_redis_kill(&f->redis, SIGSTOP), 0);
    int64_t until = sd_mono_ms() + STALL_MS;
    int checks = 0;
    char why[200] = "";
    bool fast = true;
    while (fast && sd_mono_ms() < until) {
        fast = answers_fast(port, "/health", 200, why, sizeof why) &&
               answers_fast(port, "/no-such-resource", 404, why, sizeof why);
        checks++;
        test_sleep_ms(50);
    }
    /* The pollers are stopped and joined before anything is asserted. */
    assert_int_equal(test_redis_kill(&f->redis, SIGCONT), 0);
    atomic_store(&stop, true);
    int answered = 0, other = 0, last_other = 0;
    for (int i = 0; i < POLLERS; i++) {
        pthread_join(th[i], NULL);
        answered += p[i].answered;
        other += p[i].other;
        if (p[i].other > 0)
            last_other = p[i].last_other;
    }
    if (!fast)
        fail_msg("%s", why);
    if (other > 0)
        fail_msg("%d polls got another status than 200/503, or no answer (last: %d)", other,
                 last_other);
    assert_true(checks > 10);
    assert_true(answered >= POLLERS);
    /* Served again once Redis is back. */
    cJSON_Delete(test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS));
    free(id);
}

/* ---- many reads in flight on one connection ---- */

/* The value of statusd_store_polls_total{way="<way>"} in /metrics. */
static long long polls_counted(unsigned port, const char *way)
{
    http_resp a;
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &a), 0);
    assert_int_equal(a.status, 200);
    char name[96];
    snprintf(name, sizeof name, "statusd_store_polls_total{way=\"%s\"} ", way);
    const char *at = strstr(a.body, name);
    assert_non_null(at);
    long long n = strtoll(at + strlen(name), NULL, 10);
    http_resp_free(&a);
    return n;
}

/* READ_JOBS completed jobs into ids, job i with the query "job-i". */
static void submit_numbered_jobs(unsigned port, char *ids[READ_JOBS])
{
    for (int i = 0; i < READ_JOBS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"query\":\"job-%d\"}", i);
        ids[i] = test_submit_job(port, body);
    }
    for (int i = 0; i < READ_JOBS; i++)
        cJSON_Delete(test_wait_job_status(port, ids[i], "completed", 100, TEST_DEADLINE_MS));
}

typedef struct reader {
    unsigned port;
    char **ids;
    int first;               /* reads ids[first], ids[first + READERS], ... */
    int wrong;               /* answers that were another job's, or not 200 */
    char last_wrong[256];
} reader;

static void *read_main(void *arg)
{
    reader *r = arg;
    for (int round = 0; round < READ_ROUNDS; round++) {
        for (int i = r->first; i < READ_JOBS; i += READERS) {
            http_resp a;
            char path[64];
            test_status_path(path, sizeof path, r->ids[i]);
            int rc = http_do(r->port, "GET", path, NULL, NULL, &a);
            cJSON *v = rc == 0 && a.status == 200 ? cJSON_Parse(a.body) : NULL;
            cJSON *res = cJSON_GetObjectItemCaseSensitive(v, "result");
            const char *got = test_jstr(res, "summary");
            if (got == NULL)
                got = "(none)";
            char want[32];
            snprintf(want, sizeof want, "\"job-%d\"", i);
            const char *vid = test_jstr(v, "id");
            if (strstr(got, want) == NULL || vid == NULL || strcmp(vid, r->ids[i]) != 0) {
                r->wrong++;
                snprintf(r->last_wrong, sizeof r->last_wrong, "%s: status %d, %.120s",
                         r->ids[i], rc == 0 ? a.status : -1, got);
            }
            cJSON_Delete(v);
            http_resp_free(&a);
        }
    }
    return NULL;
}

static void test_concurrent_reads_on_one_redis_connection_each_get_their_own_job(
    void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char *ids[READ_JOBS];
    submit_numbered_jobs(port, ids);
    long long before = polls_counted(port, "pipelined");

    pthread_t th[READERS];
    reader r[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = (reader){.port = port, .ids = ids, .first = i};
        assert_int_equal(pthread_create(&th[i], NULL, read_main, &r[i]), 0);
    }
    int wrong = 0;
    const char *example = "";
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        wrong += r[i].wrong;
        if (r[i].wrong > 0)
            example = r[i].last_wrong;
    }
    if (wrong != 0)
        fail_msg("%d of %d reads answered another job or failed (%s)", wrong,
                 READ_JOBS * READ_ROUNDS, example);
    /* Each job was polled within a tenth of its TTL of its completion:
     * plain reads, which the pipelined connection answers, every one. */
    long long pipelined = polls_counted(port, "pipelined") - before;
    if (pipelined < READ_JOBS * READ_ROUNDS)
        fail_msg("%lld of %d polls were read pipelined", pipelined, READ_JOBS * READ_ROUNDS);
    for (int i = 0; i < READ_JOBS; i++)
        free(ids[i]);
}

/* ---- stopping with polls in flight ---- */

#define INFLIGHT 8

/* The polls are sent, each on its own connection, before the stop: they
 * wait on the stopped Redis, and their answers are read once statusd has
 * exited. */
static void test_stop_with_polls_in_flight_to_a_stopped_redis_answers_them_and_exits_0(
    void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char path[64];
    char *id = test_completed_job(port, "{\"query\":\"inflight\"}", path, sizeof path);
    /* Polls go pipelined once the store's connection for them is up. */
    int64_t until = sd_mono_ms() + TEST_DEADLINE_MS;
    while (polls_counted(port, "pipelined") == 0 && sd_mono_ms() < until) {
        assert_int_equal(test_get_status(port, path), 200);
        test_sleep_ms(50);
    }
    assert_true(polls_counted(port, "pipelined") > 0);

    assert_int_equal(test_redis_kill(&f->redis, SIGSTOP), 0);
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    int fd[INFLIGHT];
    for (int i = 0; i < INFLIGHT; i++) {
        fd[i] = http_connect(port, 20000);
        assert_true(fd[i] >= 0);
        assert_true(http_send_all(fd[i], req, (size_t)n));
    }
    test_sleep_ms(500); /* the polls are read and wait on Redis */
    /* Within the store's timeout (3 s) for the polls in flight, plus the
     * drain: far below the bound. */
    int st = statusd_stop(&f->statusd->proc, SIGTERM, 15000);
    for (int i = 0; i < INFLIGHT; i++) {
        http_resp a;
        int rc = http_read_response(fd[i], false, &a);
        if (rc != 0 || (a.status != 200 && a.status != 503))
            fail_msg("poll %d got no 200 or 503 (got %d)", i, rc == 0 ? a.status : -1);
        http_resp_free(&a);
        close(fd[i]);
    }
    if (st != 0) {
        statusd_dump_log(&f->statusd->proc);
        fail_msg("statusd ended with wait status %d", st);
    }
    free(id);
}

/* ---- requests pipelined on one HTTP connection ---- */

#define PIPELINED 48

/* The next response in *at (advanced past it): status, X-Request-Id
 * into rid, body (NUL-terminated copy, the caller frees). False when
 * there is none or it is cut short. */
static bool next_response(const char **at, int *status, char *rid, size_t ridlen,
                          char **body)
{
    const char *p = *at;
    const char *end = strstr(p, "\r\n\r\n");
    if (strncmp(p, "HTTP/1.1 ", 9) != 0 || end == NULL)
        return false;
    *status = (int)strtol(p + 9, NULL, 10);
    rid[0] = '\0';
    const char *h = strcasestr(p, "\r\nX-Request-Id: ");
    if (h != NULL && h < end)
        snprintf(rid, ridlen, "%.*s", (int)strcspn(h + 16, "\r"), h + 16);
    const char *cl = strcasestr(p, "\r\nContent-Length: ");
    if (cl == NULL || cl > end)
        return false;
    size_t len = (size_t)strtoul(cl + 18, NULL, 10);
    if (strlen(end + 4) < len)
        return false;
    *body = strndup(end + 4, len);
    *at = end + 4 + len;
    return *body != NULL;
}

static void test_pipelined_requests_on_one_connection_are_answered_in_order(void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    char *ids[READ_JOBS];
    submit_numbered_jobs(port, ids);

    /* Polls of different jobs, with a /health (answered without the
     * store) and a poll of an unknown job (404) between them: request k
     * polls job k % READ_JOBS, or is one of those every sixth. */
    static char raw[PIPELINED * 160];
    size_t n = 0;
    for (int k = 0; k < PIPELINED; k++) {
        const char *path = k % 6 == 5   ? "/health"
                           : k % 6 == 2 ? "/status/00000000-0000-4000-8000-000000000000"
                                        : NULL;
        char job[64];
        if (path == NULL) {
            test_status_path(job, sizeof job, ids[k % READ_JOBS]);
            path = job;
        }
        n += (size_t)snprintf(raw + n, sizeof raw - n,
                              "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: req-%d\r\n%s\r\n",
                              path, k, k == PIPELINED - 1 ? "Connection: close\r\n" : "");
        assert_true(n < sizeof raw);
    }
    static char out[PIPELINED * 4096];
    assert_true(http_raw(port, raw, n, out, sizeof out, 20000) > 0);

    const char *at = out;
    for (int k = 0; k < PIPELINED; k++) {
        int status = 0;
        char rid[64], want_rid[32];
        char *body = NULL;
        if (!next_response(&at, &status, rid, sizeof rid, &body))
            fail_msg("response %d of %d missing or cut short", k, PIPELINED);
        snprintf(want_rid, sizeof want_rid, "req-%d", k);
        assert_string_equal(rid, want_rid);
        cJSON *v = cJSON_Parse(body);
        if (k % 6 == 5) {
            assert_int_equal(status, 200);
            assert_string_equal(test_jstr(v, "status"), "ok");
        } else if (k % 6 == 2) {
            assert_int_equal(status, 404);
        } else {
            int i = k % READ_JOBS;
            char want[32];
            snprintf(want, sizeof want, "\"job-%d\"", i);
            assert_int_equal(status, 200);
            assert_string_equal(test_jstr(v, "id"), ids[i]);
            const char *summary =
                test_jstr(cJSON_GetObjectItemCaseSensitive(v, "result"), "summary");
            assert_non_null(summary);
            assert_non_null(strstr(summary, want));
        }
        cJSON_Delete(v);
        free(body);
    }
    assert_string_equal(at, "");
    for (int i = 0; i < READ_JOBS; i++)
        free(ids[i]);
}

/* ---- a poll the plain reads cannot answer ---- */

#define MISSING_POLLS 20

/* The poll of a job that is not there: the pipelined reads find no
 * record, and the get script that answers 404 on a request thread does
 * not make them again. PEXPIRETIME is one of those reads and no script
 * sends it, so the server counts exactly one per poll. */
static void test_poll_of_a_missing_job_makes_its_reads_once(void **state)
{
    fixture *f = *state;
    unsigned port = f->statusd->proc.port;
    redisContext *raw = test_redis_connect(&f->redis);
    assert_non_null(raw);
    long long before = test_redis_info(raw, "commandstats", "cmdstat_pexpiretime:calls=");
    for (int i = 0; i < MISSING_POLLS; i++) {
        char id[SD_UUID_LEN + 1], path[64];
        sd_uuid_new(id);
        test_status_path(path, sizeof path, id);
        http_resp a;
        assert_int_equal(http_do(port, "GET", path, NULL, NULL, &a), 0);
        assert_int_equal(a.status, 404);
        http_resp_free(&a);
    }
    long long reads =
        test_redis_info(raw, "commandstats", "cmdstat_pexpiretime:calls=") - before;
    redisFree(raw);
    assert_int_equal(reads, MISSING_POLLS);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_health_answers_within_1s_while_redis_is_stopped_and_clients_poll,
            two_threads_setup, redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_concurrent_reads_on_one_redis_connection_each_get_their_own_job,
            one_thread_setup, redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_pipelined_requests_on_one_connection_are_answered_in_order, two_threads_setup,
            redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_stop_with_polls_in_flight_to_a_stopped_redis_answers_them_and_exits_0,
            two_threads_setup, redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_poll_of_a_missing_job_makes_its_reads_once,
                                        two_threads_setup, redis_fixture_teardown),
    };
    return cmocka_run_group_tests_name("redis_stall", tests, NULL, NULL);
}
