/*
 * The deployment users run, on host processes: nginx with the project's
 * own config/nginx.conf (see nginx_proxy.h for the few lines a test
 * changes) in front of two statusd instances on one redis-server, all on
 * 127.0.0.1, configured as docs/operations.md says (trusted_proxies =
 * the proxy, per_ip_connection_limit = 0, drain_timeout below the stop
 * timeout).
 *
 * - 50 jobs posted through nginx; every poll through nginx answers 200
 *   until its job completes, whichever instance it lands on; one instance
 *   gets SIGTERM mid-run and drains; every job still completes;
 * - with an instance killed outright, reads and new jobs go to the other;
 * - the client address statusd rate-limits by is the one nginx forwards;
 * - nginx's body limit is statusd's max_body, to the byte;
 * - /metrics, /stats, /health/store and /admin/ answer 404 to a public
 *   client without reaching statusd, and reach it from a private one;
 * - one request id (the client's, else nginx's) is what the client, nginx's
 *   log and statusd see;
 * - the proxy is unbuffered, with a read timeout above a stream's
 *   heartbeat and a long-poll's longest wait;
 * - a job's event stream passes through nginx event by event, to its end,
 *   and long-polls are held through it (304 after the wait, 200 at once
 *   on a report, whichever instance takes it).
 *
 * One redis-server serves the group; each test starts its own instances
 * and nginx. Nothing depends on timing: waits poll with long deadlines.
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
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "http_test.h"
#include "nginx_proxy.h"
#include "redis_server.h"
#include "statusd/util.h"

#define INSTANCES 2
#define MAX_BODY 65536            /* statusd's default, and nginx.conf's 64k */
#define DEMO_STEP_MS "500"        /* three stages: a job takes 1.5 s */
#define JOBS 50
#define POLLERS 5
#define POLL_PAUSE_MS 100
#define DONE_BEFORE_STOP 8        /* jobs finished before the SIGTERM */
#define RUN_DEADLINE_MS 90000     /* for all 50 jobs, far beyond need */
#define DRAIN_WAIT_MS 30000
#define SD_REQUEST_ID_MAX_LEN 128 /* statusd's longest X-Request-Id */

typedef struct deploy {
    test_statusd *inst[INSTANCES];
    test_nginx nginx;
} deploy;

/* ---- fixtures ---- */

/* Both instances on the group's Redis, as behind a proxy on this host,
 * with extra arguments (NULL-terminated, may be NULL), then nginx. */
static int deploy_setup_with(void **state, const char *const *extra)
{
    const char *args[32] = {
        "--store", "redis", "--set", test_redis_group_url_set(),
        "--set", "demo_step_ms=" DEMO_STEP_MS,
        "--set", "trusted_proxies=127.0.0.1",
        "--set", "per_ip_connection_limit=0",
        "--set", "drain_timeout=8",
        "--set", "job_ttl=600"};
    size_t n = 14;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (n + 1 >= sizeof args / sizeof args[0])
            return -1;
        args[n++] = extra[i];
    }
    args[n] = NULL;
    deploy *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -1;
    *state = d;
    unsigned ports[INSTANCES];
    for (int i = 0; i < INSTANCES; i++) {
        d->inst[i] = test_statusd_start(NULL, args);
        if (d->inst[i] == NULL)
            goto fail;
        ports[i] = d->inst[i]->proc.port;
    }
    if (test_nginx_start(&d->nginx, ports, INSTANCES) != 0)
        goto fail;
    return 0;
fail:
    for (int i = 0; i < INSTANCES; i++)
        test_statusd_stop(d->inst[i]);
    free(d);
    *state = NULL;
    return -1;
}

static int deploy_setup(void **state) { return deploy_setup_with(state, NULL); }

/* statusd logs each request with its id at log_level debug. */
static int deploy_setup_debug(void **state)
{
    static const char *const debug[] = {"--set", "log_level=debug", NULL};
    return deploy_setup_with(state, debug);
}

/* An external job kind, which the test moves itself with reports. */
static int deploy_setup_external(void **state)
{
    static const char *const ext[] = {"--set", "handler_ext=external", "--set",
                                      "job_timeout=120", NULL};
    return deploy_setup_with(state, ext);
}

static int deploy_setup_limited(void **state)
{
    static const char *const limited[] = {"--set", "ratelimit_submit=2", NULL};
    return deploy_setup_with(state, limited);
}

/* Stops nginx and the instances still running; -1 when one of them did
 * not exit cleanly. */
static int deploy_teardown(void **state)
{
    deploy *d = *state;
    int rc = 0;
    test_nginx_stop(&d->nginx);
    for (int i = 0; i < INSTANCES; i++)
        if (test_statusd_stop(d->inst[i]) != 0)
            rc = -1;
    free(d);
    *state = NULL;
    return rc;
}

/* Prints what every process wrote, for a failing test. */
static void deploy_dump(const deploy *d)
{
    test_nginx_dump_log(&d->nginx);
    for (int i = 0; i < INSTANCES; i++)
        if (d->inst[i] != NULL)
            statusd_dump_log(&d->inst[i]->proc);
}

/* Lines of nginx's access log for method+path prefix answered by the
 * instance on port. */
static long answered_by(const deploy *d, const char *request, unsigned port)
{
    char upstream[48];
    snprintf(upstream, sizeof upstream, "upstream=127.0.0.1:%u ", port);
    const char *const has[] = {request, upstream, NULL};
    return test_nginx_log_count(&d->nginx, has);
}

/* ---- polling through nginx from several threads ---- */

typedef struct job_track {
    char id[SD_UUID_LEN + 1];
    char status[16];          /* the last status read; final once terminal */
    char error_code[32];      /* of the final view, "" for none */
} job_track;

typedef struct poller {
    unsigned port;            /* nginx */
    job_track *jobs;          /* this thread's: jobs[index], index += POLLERS */
    int first;
    atomic_int *terminal;     /* jobs in a terminal state, all threads */
    int64_t deadline_ms;
    long polls;
    long not_200;             /* answers other than 200 */
    long not_found;           /* 404 among them */
    long server_errors;       /* 5xx among them */
    long transport_errors;    /* no answer on a fresh connection */
    char first_bad[200];      /* the first answer other than 200 */
} poller;

/*
 * GET path on the poller's kept-alive connection *fd (opened when -1),
 * honouring Connection: close. A request that fails on a connection used
 * before is sent once more on a fresh one (the proxy may close an idle
 * connection at any time, as HTTP allows); 0 with *r filled, or -1 when a
 * fresh connection gave no answer.
 */
static int poll_get(poller *w, int *fd, const char *path, http_resp *r)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = *fd < 0;
        if (fresh && (*fd = http_connect(w->port, 10000)) < 0)
            return -1;
        if (http_request(*fd, "GET", path, NULL, NULL, 0, r) == 0) {
            const char *c = http_header(r, "Connection");
            if (c != NULL && strcasecmp(c, "close") == 0) {
                close(*fd);
                *fd = -1;
            }
            return 0;
        }
        http_resp_free(r);
        close(*fd);
        *fd = -1;
        if (fresh)
            return -1;
    }
    return -1;
}

/* Reads one job through nginx and records what it saw. Runs in a poller
 * thread, so it counts instead of asserting. */
static void poll_job(poller *w, int *fd, job_track *j)
{
    char path[64];
    test_status_path(path, sizeof path, j->id);
    http_resp r;
    w->polls++;
    if (poll_get(w, fd, path, &r) != 0) {
        w->transport_errors++;
        return;
    }
    if (r.status != 200) {
        w->not_200++;
        w->not_found += r.status == 404;
        w->server_errors += r.status >= 500;
        if (w->first_bad[0] == '\0')
            snprintf(w->first_bad, sizeof w->first_bad, "GET %s: %d %.120s", path,
                     r.status, r.body != NULL ? r.body : "");
        http_resp_free(&r);
        return;
    }
    cJSON *v = cJSON_ParseWithLength(r.body, r.body_len);
    const char *status = test_jstr(v, "status");
    snprintf(j->status, sizeof j->status, "%s", status != NULL ? status : "?");
    if (test_job_is_terminal(j->status)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "error");
        const char *code = test_jstr(e, "code");
        snprintf(j->error_code, sizeof j->error_code, "%s", code != NULL ? code : "");
        atomic_fetch_add(w->terminal, 1);
    }
    cJSON_Delete(v);
    http_resp_free(&r);
}

static void *poller_main(void *arg)
{
    poller *w = arg;
    int fd = -1;
    for (;;) {
        bool pending = false;
        for (int i = w->first; i < JOBS; i += POLLERS) {
            if (test_job_is_terminal(w->jobs[i].status))
                continue;
            pending = true;
            poll_job(w, &fd, &w->jobs[i]);
        }
        if (!pending || sd_mono_ms() > w->deadline_ms)
            break;
        test_sleep_ms(POLL_PAUSE_MS);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* "17 canceled (shutdown), 1 failed (worker_lost)": the jobs that did not
 * complete, by status and error code, into out. */
static void outcome_tally(const job_track *jobs, char *out, size_t outlen)
{
    enum { KINDS = 8 };
    char kind[KINDS][64];
    int count[KINDS] = {0};
    int kinds = 0;
    for (int i = 0; i < JOBS; i++) {
        if (strcmp(jobs[i].status, "completed") == 0)
            continue;
        char k[64];
        snprintf(k, sizeof k, "%.15s (%.31s)", jobs[i].status,
                 jobs[i].error_code[0] ? jobs[i].error_code : "no error");
        int at = 0;
        while (at < kinds && strcmp(kind[at], k) != 0)
            at++;
        if (at == kinds && kinds == KINDS)
            at = KINDS - 1;    /* more kinds than room: counted with the last */
        else if (at == kinds)
            memcpy(kind[kinds++], k, sizeof k);
        count[at]++;
    }
    out[0] = '\0';
    for (int i = 0; i < kinds; i++) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%d %s", i ? ", " : "", count[i], kind[i]);
    }
}

static bool enough_done(void *arg) { return atomic_load((atomic_int *)arg) >= DONE_BEFORE_STOP; }

/* ---- the tests ---- */

static void test_fifty_jobs_complete_through_nginx_while_an_instance_drains(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    static job_track jobs[JOBS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < JOBS; i++) {
        char *id = test_submit_job(port, "{\"query\":\"through the proxy\"}");
        snprintf(jobs[i].id, sizeof jobs[i].id, "%s", id);
        snprintf(jobs[i].status, sizeof jobs[i].status, "queued");
        free(id);
    }
    /* Round robin: both instances took jobs. */
    for (int i = 0; i < INSTANCES; i++)
        assert_true(answered_by(d, "\"POST /research ", d->inst[i]->proc.port) > 0);

    atomic_int terminal;
    atomic_init(&terminal, 0);
    static poller w[POLLERS];
    pthread_t threads[POLLERS];
    for (int t = 0; t < POLLERS; t++) {
        w[t] = (poller){.port = port, .jobs = jobs, .first = t, .terminal = &terminal,
                        .deadline_ms = sd_mono_ms() + RUN_DEADLINE_MS};
        assert_int_equal(pthread_create(&threads[t], NULL, poller_main, &w[t]), 0);
    }

    /* Mid-run: the first jobs are done, the rest running or queued. */
    bool mid_run = test_wait_until(enough_done, &terminal, TEST_DEADLINE_MS);
    statusd_proc *stopping = &d->inst[1]->proc;
    unsigned stopped_port = stopping->port;
    int st = statusd_stop(stopping, SIGTERM, DRAIN_WAIT_MS);

    for (int t = 0; t < POLLERS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    if (!mid_run)
        deploy_dump(d);
    assert_true(mid_run);

    long polls = 0, not_200 = 0, not_found = 0, server_errors = 0, transport = 0;
    const char *first_bad = "";
    for (int t = 0; t < POLLERS; t++) {
        polls += w[t].polls;
        not_200 += w[t].not_200;
        not_found += w[t].not_found;
        server_errors += w[t].server_errors;
        transport += w[t].transport_errors;
        if (first_bad[0] == '\0')
            first_bad = w[t].first_bad;
    }
    if (not_200 != 0 || transport != 0) {
        deploy_dump(d);
        fail_msg("%ld of %ld polls were not 200 (%ld 404, %ld 5xx), %ld without an "
                 "answer; first: %s", not_200, polls, not_found, server_errors, transport,
                 first_bad);
    }

    /* The stopped instance drained and exited cleanly, and polls landed
     * on both instances, the stopped one included. */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    for (int i = 0; i < INSTANCES; i++) {
        unsigned p = i == 1 ? stopped_port : d->inst[i]->proc.port;
        assert_true(answered_by(d, "\"GET /status/", p) > 0);
    }

    /* Every job reached an end, and that end is completed: the draining
     * instance hands its unfinished jobs to the other through Redis. */
    int unfinished = 0, completed = 0;
    for (int i = 0; i < JOBS; i++) {
        unfinished += !test_job_is_terminal(jobs[i].status);
        completed += strcmp(jobs[i].status, "completed") == 0;
    }
    assert_int_equal(unfinished, 0);
    if (completed != JOBS) {
        char others[512];
        outcome_tally(jobs, others, sizeof others);
        fail_msg("%d of %d jobs completed; the others: %s", completed, JOBS, others);
    }
}

static void test_reads_and_new_jobs_go_to_the_other_instance_when_one_is_killed(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    char *before = test_submit_job(port, "{\"query\":\"before\"}");
    cJSON_Delete(test_wait_job_status(port, before, "completed", 100, TEST_DEADLINE_MS));

    int st = statusd_stop(&d->inst[1]->proc, SIGKILL, 5000);
    assert_true(WIFSIGNALED(st));
    /* Reads are passed on to the live instance. */
    for (int i = 0; i < 10; i++) {
        http_resp r;
        assert_int_equal(http_do(port, "GET", "/health", NULL, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
        cJSON *v = test_get_job(port, before, NULL);
        assert_string_equal(test_jstr(v, "status"), "completed");
        cJSON_Delete(v);
    }
    /* A POST that never reached the dead instance goes to the live one. */
    for (int i = 0; i < 6; i++) {
        char *id = test_submit_job(port, "{\"query\":\"after\"}");
        cJSON_Delete(test_wait_job_status(port, id, "completed", 100, TEST_DEADLINE_MS));
        free(id);
    }
    free(before);
}

/* POST /research through nginx as the client at xff (NULL: no header);
 * asserts the status and returns the RateLimit header's r= value, or -1. */
static int post_as(unsigned port, const char *xff, int want_status)
{
    char headers[128] = "";
    if (xff != NULL)
        snprintf(headers, sizeof headers, "X-Forwarded-For: %s\r\n", xff);
    http_resp r;
    assert_int_equal(http_do(port, "POST", "/research", headers[0] ? headers : NULL,
                             "{\"query\":\"limited\"}", &r), 0);
    if (r.status != want_status)
        fail_msg("as %s: expected %d, got %d: %s", xff != NULL ? xff : "(none)",
                 want_status, r.status, r.body != NULL ? r.body : "");
    const char *rl = http_header(&r, "RateLimit");
    const char *at = rl != NULL ? strstr(rl, ";r=") : NULL;
    int left = -1;
    if (at != NULL) {
        char digits[16];
        snprintf(digits, sizeof digits, "%.*s", (int)strspn(at + 3, "0123456789"), at + 3);
        int64_t v = 0;
        assert_int_equal(sd_parse_i64(digits, 0, 1000000, &v), SD_OK);
        left = (int)v;
    }
    http_resp_free(&r);
    return left;
}

static void test_rate_limit_counts_the_client_nginx_forwards(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    /* Two requests each (ratelimit_submit = 2), alternating between the
     * instances: the budget is the client's, on both. */
    assert_int_equal(post_as(port, "203.0.113.7", 202), 1);
    assert_int_equal(post_as(port, "203.0.113.7", 202), 0);
    assert_int_equal(post_as(port, "203.0.113.7", 429), 0);
    /* Another client behind the same proxy has a budget of its own. */
    assert_int_equal(post_as(port, "198.51.100.9", 202), 1);
    /* No header: nginx sends the peer (127.0.0.1), a trusted proxy that is
     * then the client, with its own budget too. */
    assert_int_equal(post_as(port, NULL, 202), 1);
}

/* An access log line of a POST /research that nginx refused with 413. */
static const char *const REFUSED[] = {"\"POST /research ", " 413 ", "upstream=- ", NULL};

static bool refused_logged(void *arg) { return test_nginx_log_count(arg, REFUSED) > 0; }

static void test_body_limit_of_nginx_is_max_body(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    /* {"query":"aaa..."} of exactly n bytes. */
    char *body = malloc(MAX_BODY + 2);
    assert_non_null(body);
    for (int n = MAX_BODY; n <= MAX_BODY + 1; n++) {
        size_t len = (size_t)n;
        memcpy(body, "{\"query\":\"", 10);
        memset(body + 10, 'a', len - 12);
        memcpy(body + len - 2, "\"}", 3);
        http_resp r;
        assert_int_equal(http_do(port, "POST", "/research", NULL, body, &r), 0);
        if (n == MAX_BODY) {
            /* Passed on: statusd reads it and refuses the long query. */
            test_assert_problem(&r, 400, "invalid-request", "query");
        } else {
            assert_int_equal(r.status, 413);
        }
        http_resp_free(&r);
    }
    free(body);
    /* The 413 came from nginx itself: no instance saw that request. nginx
     * logs it once the connection's lingering close is over. */
    assert_true(test_wait_until(refused_logged, &d->nginx, TEST_DEADLINE_MS));
    assert_int_equal(test_nginx_log_count(&d->nginx, REFUSED), 1);
}

/* ---- private paths ---- */

/* A request through nginx from source (NULL: 127.0.0.1, a public client). */
static int via_nginx(const deploy *d, const char *source, const char *method,
                     const char *path, const char *headers, http_resp *r)
{
    return http_do_from(source, d->nginx.port, method, path, headers, NULL, r);
}

typedef struct log_wait {
    const test_nginx *nginx;
    const char *const *has;
    long want;
} log_wait;

static bool log_reached(void *arg)
{
    const log_wait *w = arg;
    return test_nginx_log_count(w->nginx, w->has) >= w->want;
}

/* Waits until nginx logged want lines with every string of has (nginx
 * writes the line once the answer is out); the count then. */
static long nginx_logged(const deploy *d, const char *const *has, long want)
{
    log_wait w = {&d->nginx, has, want};
    test_wait_until(log_reached, &w, TEST_DEADLINE_MS);
    return test_nginx_log_count(&d->nginx, has);
}

static void test_private_paths_answer_404_to_the_public_and_reach_statusd_privately(
    void **state)
{
    deploy *d = *state;
    static const struct {
        const char *method, *path;
    } private_paths[] = {
        {"GET", "/metrics"}, {"GET", "/stats"}, {"GET", "/health/store"},
        {"DELETE", "/admin/data?confirm=true"},
        /* other spellings of the same paths */
        {"GET", "/metrics?format=text"}, {"GET", "/%6detrics"}, {"GET", "//stats"},
        {"GET", "/health/./store"}, {"GET", "/METRICS"}, {"GET", "/admin"},
        {"GET", "/public/../stats"}};
    size_t n = sizeof private_paths / sizeof private_paths[0];
    for (size_t i = 0; i < n; i++) {
        http_resp r;
        assert_int_equal(via_nginx(d, NULL, private_paths[i].method, private_paths[i].path,
                                   NULL, &r), 0);
        if (r.status != 404)
            fail_msg("%s %s from a public client: %d %s", private_paths[i].method,
                     private_paths[i].path, r.status, r.body != NULL ? r.body : "");
        test_assert_problem(&r, 404, "not-found", NULL);
        http_resp_free(&r);
    }
    /* nginx answered them itself: no instance saw any of them. */
    static const char *const public_404[] = {"127.0.0.1 [", "\" 404 ", "upstream=- ", NULL};
    assert_int_equal(nginx_logged(d, public_404, (long)n), (long)n);

    /* The public paths stay public. */
    http_resp r;
    assert_int_equal(via_nginx(d, NULL, "GET", "/health", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(via_nginx(d, NULL, "GET", "/ready", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);

    /* From the private network, statusd answers them. */
    static const char *const private_200[] = {"/metrics", "/stats", "/health/store"};
    for (size_t i = 0; i < sizeof private_200 / sizeof private_200[0]; i++) {
        assert_int_equal(via_nginx(d, TEST_NGINX_PRIVATE_CLIENT, "GET", private_200[i],
                                   NULL, &r), 0);
        if (r.status != 200)
            fail_msg("GET %s from a private client: %d %s", private_200[i], r.status,
                     r.body != NULL ? r.body : "");
        http_resp_free(&r);
    }
    /* The admin endpoint is statusd's to answer (it is off: no admin_token). */
    assert_int_equal(via_nginx(d, TEST_NGINX_PRIVATE_CLIENT, "DELETE",
                               "/admin/data?confirm=true", NULL, &r), 0);
    http_resp_free(&r);
    static const char *const reached[] = {TEST_NGINX_PRIVATE_CLIENT " [",
                                          "upstream=127.0.0.1:", NULL};
    assert_int_equal(nginx_logged(d, reached, 4), 4);
}

/* ---- request ids ---- */

typedef struct id_seen {
    const deploy *d;
    char needle[160];    /* "id=<id>" as statusd logs it */
} id_seen;

static bool statusd_logged_id(void *arg)
{
    const id_seen *s = arg;
    for (int i = 0; i < INSTANCES; i++) {
        FILE *f = fopen(s->d->inst[i]->proc.log_path, "r");
        if (f == NULL)
            continue;
        char line[2048];
        bool found = false;
        while (!found && fgets(line, sizeof line, f) != NULL) {
            char *at = strstr(line, s->needle);
            found = at != NULL && (at[strlen(s->needle)] == '\n' ||
                                   at[strlen(s->needle)] == ' ');
        }
        fclose(f);
        if (found)
            return true;
    }
    return false;
}

/* GET path through nginx with X-Request-Id sent (NULL: none); asserts
 * the answer's status and that the answer, nginx's log and (when
 * upstream) statusd's log carry one id, which goes to id (129 bytes). */
static void request_id_through(const deploy *d, const char *path, const char *sent,
                               int want_status, bool upstream, char *id)
{
    char headers[256] = "";
    if (sent != NULL)
        snprintf(headers, sizeof headers, "X-Request-Id: %s\r\n", sent);
    http_resp r;
    assert_int_equal(via_nginx(d, NULL, "GET", path, headers[0] ? headers : NULL, &r), 0);
    assert_int_equal(r.status, want_status);
    const char *got = http_header(&r, "X-Request-Id");
    assert_non_null(got);
    assert_true(strlen(got) <= SD_REQUEST_ID_MAX_LEN);
    snprintf(id, SD_REQUEST_ID_MAX_LEN + 1, "%s", got);
    /* One X-Request-Id header, not nginx's and statusd's both. */
    size_t count = 0;
    for (size_t i = 0; i < r.nheaders; i++)
        count += strcasecmp(r.names[i], "X-Request-Id") == 0;
    assert_int_equal(count, 1);
    http_resp_free(&r);

    char in_log[200];
    snprintf(in_log, sizeof in_log, "request_id=%s\n", id);
    const char *const has[] = {in_log, NULL};
    if (nginx_logged(d, has, 1) != 1) {
        deploy_dump(d);
        fail_msg("nginx's log has no line with %s", in_log);
    }
    if (upstream) {
        id_seen s = {.d = d};
        snprintf(s.needle, sizeof s.needle, "id=%s", id);
        if (!test_wait_until(statusd_logged_id, &s, TEST_DEADLINE_MS)) {
            deploy_dump(d);
            fail_msg("no statusd log line has %s", s.needle);
        }
    }
}

static bool is_nginx_request_id(const char *id)
{
    return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

static void test_request_id_is_one_for_client_nginx_and_statusd(void **state)
{
    deploy *d = *state;
    char id[SD_REQUEST_ID_MAX_LEN + 1];

    /* The client's own id, kept as it is. */
    request_id_through(d, "/health", "client-7.Ab_c:9", 200, true, id);
    assert_string_equal(id, "client-7.Ab_c:9");

    /* None sent: nginx's $request_id, which statusd takes as given. */
    char first[SD_REQUEST_ID_MAX_LEN + 1];
    request_id_through(d, "/health", NULL, 200, true, first);
    assert_true(is_nginx_request_id(first));
    request_id_through(d, "/health", NULL, 200, true, id);
    assert_true(is_nginx_request_id(id));
    assert_string_not_equal(id, first);

    /* An id statusd would refuse (a '/', 129 bytes) is replaced by nginx's,
     * so statusd does not make up a third one. */
    request_id_through(d, "/health", "a/b", 200, true, id);
    assert_true(is_nginx_request_id(id));
    char longest[SD_REQUEST_ID_MAX_LEN + 2];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    request_id_through(d, "/health", longest, 200, true, id);
    assert_true(is_nginx_request_id(id));
    longest[SD_REQUEST_ID_MAX_LEN] = '\0';    /* 128 bytes: kept */
    request_id_through(d, "/health", longest, 200, true, id);
    assert_string_equal(id, longest);

    /* nginx's own answers carry it too. */
    request_id_through(d, "/metrics", "hidden-1", 404, false, id);
    assert_string_equal(id, "hidden-1");
    request_id_through(d, "/stats", NULL, 404, false, id);
    assert_true(is_nginx_request_id(id));
}

/* ---- streams and long-polls ---- */

/* The value of the first directive `name value;` in text, into out. */
static bool directive(const char *text, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *line = text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        const char *t = line + strspn(line, " \t");
        if (strncmp(t, name, n) == 0 && (t[n] == ' ' || t[n] == '\t')) {
            const char *v = t + n + strspn(t + n, " \t");
            snprintf(out, outlen, "%.*s", (int)strcspn(v, ";\n"), v);
            return true;
        }
        line += len + (line[len] == '\n');
    }
    return false;
}

#define STREAM_HEARTBEAT_S 15
#define LONG_POLL_MAX_WAIT_S 30

static void test_proxy_is_unbuffered_and_outwaits_heartbeat_and_long_poll(void **state)
{
    (void)state;
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/config/nginx.conf", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';

    char v[64];
    assert_true(directive(text, "proxy_buffering", v, sizeof v));
    assert_string_equal(v, "off");
    assert_true(directive(text, "proxy_read_timeout", v, sizeof v));
    size_t digits = strspn(v, "0123456789");
    assert_true(digits > 0);
    assert_true(strcmp(v + digits, "s") == 0 || v[digits] == '\0');
    v[digits] = '\0';
    int64_t secs = 0;
    assert_int_equal(sd_parse_i64(v, 1, 86400, &secs), SD_OK);
    assert_true(secs > STREAM_HEARTBEAT_S);
    assert_true(secs > LONG_POLL_MAX_WAIT_S);
}

/* ---- streams and long-polls through nginx ---- */

typedef struct ext_job {
    char id[64], token[64], etag[40];
} ext_job;

static ext_job ext_submit(unsigned port)
{
    http_resp r;
    test_call(port, "POST", "/jobs/ext", NULL, "{}", &r);
    assert_int_equal(r.status, 202);
    cJSON *v = test_body_json(&r);
    ext_job j;
    snprintf(j.id, sizeof j.id, "%s", test_jstr(v, "id"));
    snprintf(j.token, sizeof j.token, "%s", test_jstr(v, "run_token"));
    snprintf(j.etag, sizeof j.etag, "%s", http_header(&r, "ETag"));
    cJSON_Delete(v);
    http_resp_free(&r);
    return j;
}

static void ext_report(unsigned port, const ext_job *j, const char *body)
{
    char path[96], headers[160];
    snprintf(path, sizeof path, "/status/%s", j->id);
    snprintf(headers, sizeof headers,
             "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n", j->token);
    http_resp r;
    test_call(port, "PATCH", path, headers, body, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* Reads from fd into buf (at *len, NUL-terminated) until it holds want;
 * fails the test when the connection ends or times out first. */
static void read_until(int fd, char *buf, size_t cap, size_t *len, const char *want)
{
    while (strstr(buf, want) == NULL) {
        assert_true(*len + 1 < cap);
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            fail_msg("the stream ended or stalled before '%s'; got:\n%s", want, buf);
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

static void test_events_pass_through_nginx_as_they_happen(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    ext_job j = ext_submit(port);
    int fd = http_connect(port, TEST_DEADLINE_MS);
    assert_true(fd >= 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET /status/%s/events HTTP/1.1\r\nHost: statusd\r\n"
                     "Accept: text/event-stream\r\n\r\n", j.id);
    assert_int_equal(write(fd, req, (size_t)n), n);
    static char buf[65536];
    size_t len = 0;
    buf[0] = '\0';
    /* each event arrives while the stream is open: nginx does not hold it */
    read_until(fd, buf, sizeof buf, &len, "\"progress\":0");
    assert_non_null(strstr(buf, "text/event-stream"));
    ext_report(port, &j, "{\"progress\":60,\"stage\":\"half\"}");
    read_until(fd, buf, sizeof buf, &len, "\"progress\":60");
    ext_report(port, &j, "{\"status\":\"completed\",\"result\":1}");
    read_until(fd, buf, sizeof buf, &len, "\"status\":\"completed\"");
    /* and the stream's end too: the last chunk */
    read_until(fd, buf, sizeof buf, &len, "\r\n0\r\n\r\n");
    close(fd);
}

static void test_long_polls_are_held_through_nginx(void **state)
{
    deploy *d = *state;
    unsigned port = d->nginx.port;
    ext_job j = ext_submit(port);
    char path[96], headers[128];
    snprintf(path, sizeof path, "/status/%s", j.id);
    snprintf(headers, sizeof headers, "Prefer: wait=2\r\nIf-None-Match: %s\r\n", j.etag);
    int64_t t0 = sd_mono_ms();
    http_resp r;
    test_call(port, "GET", path, headers, NULL, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Preference-Applied"), "wait=2");
    assert_true(sd_mono_ms() - t0 >= 1500);
    http_resp_free(&r);

    /* woken by a report, whichever instance holds the poll or takes it */
    snprintf(headers, sizeof headers, "Prefer: wait=30\r\nIf-None-Match: %s\r\n", j.etag);
    int fd = http_connect(port, TEST_DEADLINE_MS);
    assert_true(fd >= 0);
    char req[320];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: statusd\r\n%s\r\n", path,
                     headers);
    assert_int_equal(write(fd, req, (size_t)n), n);
    test_sleep_ms(300);
    ext_report(port, &j, "{\"progress\":25}");
    static char buf[16384];
    size_t len = 0;
    buf[0] = '\0';
    read_until(fd, buf, sizeof buf, &len, "\"progress\":25");
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    close(fd);
}

/* ---- the group ---- */

#define ON_DEPLOY(test, setup) cmocka_unit_test_setup_teardown(test, setup, deploy_teardown)

int main(void)
{
    /* A write to a process a test stopped must fail, not end us. */
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        ON_DEPLOY(test_fifty_jobs_complete_through_nginx_while_an_instance_drains,
                  deploy_setup),
        ON_DEPLOY(test_reads_and_new_jobs_go_to_the_other_instance_when_one_is_killed,
                  deploy_setup),
        ON_DEPLOY(test_rate_limit_counts_the_client_nginx_forwards, deploy_setup_limited),
        ON_DEPLOY(test_body_limit_of_nginx_is_max_body, deploy_setup),
        ON_DEPLOY(test_private_paths_answer_404_to_the_public_and_reach_statusd_privately,
                  deploy_setup),
        ON_DEPLOY(test_request_id_is_one_for_client_nginx_and_statusd, deploy_setup_debug),
        cmocka_unit_test(test_proxy_is_unbuffered_and_outwaits_heartbeat_and_long_poll),
        ON_DEPLOY(test_events_pass_through_nginx_as_they_happen, deploy_setup_external),
        ON_DEPLOY(test_long_polls_are_held_through_nginx, deploy_setup_external),
    };
    return cmocka_run_group_tests_name("deploy_nginx", tests, test_redis_group_setup,
                                       test_redis_group_teardown);
}
