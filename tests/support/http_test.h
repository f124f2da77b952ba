#ifndef SD_TEST_HTTP_TEST_H
#define SD_TEST_HTTP_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "http_client.h"
#include "proc.h"
#include "test_stores.h"

/*
 * Shared pieces of the tests that talk HTTP to a real statusd: reading
 * JSON answers, the shapes of ids, times and tags, problem+json answers,
 * the job API (submit, read, wait, cancel) and a statusd process per
 * fixture.
 *
 * Functions named test_assert_* and those documented as "asserts" fail
 * the running cmocka test (they never return on failure), so call them
 * only from a test body. Everything that talks to the server takes the
 * port, so one test can drive several statusd processes (on one Redis,
 * say) at once.
 */

/* The deadline of every wait for a job or a process: far longer than a
 * correct server ever needs, so no test depends on timing. */
#define TEST_DEADLINE_MS 20000

/* Sleeps ms milliseconds, resuming after signals. */
void test_sleep_ms(long ms);

/* ---- JSON ---- */

/* The response body parsed as JSON; asserts that it is JSON. The caller
 * frees the result with cJSON_Delete. */
cJSON *test_body_json(const http_resp *r);

/* obj[key] when it is a string, else NULL (also when obj is NULL). The
 * string belongs to obj. */
const char *test_jstr(const cJSON *obj, const char *key);

/* obj[key] as an int; asserts that it is a number. */
int test_jint(const cJSON *obj, const char *key);

/* True when obj[key] is present and JSON null. */
bool test_jnull(const cJSON *obj, const char *key);

/* ---- shapes of values ---- */

/* True when the n bytes at s are all lowercase hex digits. */
bool test_is_hex(const char *s, size_t n);

/* A canonical lowercase UUID of version 4 (and the RFC 4122 variant). */
bool test_is_uuid_v4(const char *s);

/* A UTC time with milliseconds: 2026-11-22T02:00:06.123Z. */
bool test_is_rfc3339_ms(const char *s);

/* A weak entity tag of 16 lowercase hex digits: W/"0123456789abcdef". */
bool test_is_weak_etag(const char *s);

/* ---- requests ---- */

/* http_do; asserts that the server answered, and hands the answer to out
 * (the caller frees it with http_resp_free). */
void test_call(unsigned port, const char *method, const char *path, const char *headers,
               const char *body, http_resp *out);

/* The status a GET of path answers; asserts that the server answered. */
int test_get_status(unsigned port, const char *path);

/* GET path: the body as JSON when the server answers 200 with JSON, else
 * NULL; asserts nothing. The caller frees it with cJSON_Delete. */
cJSON *test_get_view(unsigned port, const char *path);

/* ---- problem answers ---- */

/*
 * Asserts that r is an application/problem+json answer with this status,
 * an X-Request-Id header, and a body of exactly type
 * "/problems/<slug>", status, title and detail. detail_has, when not
 * NULL, must occur in the detail; NULL does not check the detail's text.
 */
void test_assert_problem(const http_resp *r, int status, const char *slug,
                         const char *detail_has);

/* ---- the job API ---- */

/* Writes "/status/<id>" to path (len bytes; 64 hold any job id). */
void test_status_path(char *path, size_t len, const char *id);

/* POSTs body to /research; asserts 202 and an id in the answer. Returns
 * the job id, which the caller frees. */
char *test_submit_job(unsigned port, const char *body);

/* test_submit_job, then waits until the job completed; path (at least
 * 64 bytes) gets its /status path. Returns the id, which the caller
 * frees. */
char *test_completed_job(unsigned port, const char *body, char *path, size_t pathlen);

/*
 * GET /status/<id>; asserts 200 and a JSON body, which it returns (the
 * caller frees it with cJSON_Delete). When keep is not NULL the response
 * is handed over there (the caller frees it with http_resp_free), for
 * assertions on its headers; otherwise it is freed here.
 */
cJSON *test_get_job(unsigned port, const char *id, http_resp *keep);

/* Writes the job's status to out (outlen bytes), or "" when the server
 * does not answer 200 with a status; asserts nothing, so it serves
 * while a server is stopping too. */
void test_job_status(unsigned port, const char *id, char *out, size_t outlen);

/* True for the states a job never leaves: completed, failed, canceled. */
bool test_job_is_terminal(const char *status);

/* A condition on a job view, for test_wait_job. */
typedef bool (*test_job_pred)(const cJSON *view, void *arg);

/*
 * Reads the job (GET /status/<id>) every 20 ms until done(view, arg)
 * holds or deadline_ms passes; answers other than 200 with JSON are read
 * past. Returns whether done held. *last gets the last view read, or
 * NULL when none was (the caller frees it with cJSON_Delete). Asserts
 * nothing.
 */
bool test_wait_job(unsigned port, const char *id, test_job_pred done, void *arg,
                   int deadline_ms, cJSON **last);

/*
 * Waits until the job has this status and at least min_progress, and
 * returns that view (the caller frees it with cJSON_Delete). Asserts
 * that it gets there within deadline_ms; a job that ends in another
 * state fails the test at once, with its last view in the message.
 */
cJSON *test_wait_job_status(unsigned port, const char *id, const char *status,
                            int min_progress, int deadline_ms);

/* DELETE /status/<id>; asserts that the server answered, and hands the
 * answer to out (the caller frees it with http_resp_free). */
void test_delete_job(unsigned port, const char *id, http_resp *out);

/* DELETE /status/<id>; asserts 200. */
void test_cancel_job(unsigned port, const char *id);

/* Asserts that the view's error has this code and message; a NULL
 * message asserts only that there is a non-empty one. */
void test_assert_job_error(const cJSON *view, const char *code, const char *message);

/* GET /stats; asserts 200 and a JSON body, which it returns (the caller
 * frees it with cJSON_Delete). */
cJSON *test_get_stats(unsigned port);

/* The integer figure group.key of a /stats body. */
int test_stat(const cJSON *stats, const char *group, const char *key);

/* True when GET /health answers 200. Asserts nothing. */
bool test_health_ok(unsigned port);

/* ---- a statusd per fixture ---- */

typedef struct test_statusd {
    statusd_proc proc;
    char *dir;     /* owned temporary directory (scripts, marker files), or NULL */
} test_statusd;

/*
 * Starts statusd (see statusd_start: memory store, a free port) with the
 * given extra arguments (NULL-terminated, may be NULL). The result owns
 * dir (may be NULL) from here on, also on failure, when dir is removed
 * and freed and NULL returned. Stop it with test_statusd_stop.
 */
test_statusd *test_statusd_start(char *dir, const char *const *args);

/*
 * test_statusd_start with head, then "--store redis --set redis_url=..."
 * naming the group's server (see test_redis_group_setup) when redis,
 * then args: each list NULL-terminated and may be NULL, at most
 * TEST_STATUSD_ARGS_MAX arguments in all. Owns dir as test_statusd_start
 * does, also when there are too many arguments.
 */
#define TEST_STATUSD_ARGS_MAX 48
test_statusd *test_statusd_start_store(char *dir, const char *const *head, bool redis,
                                       const char *const *args);

/*
 * Writes script to job.sh in a fresh temporary directory and starts
 * statusd with handler_research=exec:'<dir>/job.sh' '<dir>' (the
 * directory is the program's one argument, for marker files), followed
 * by args (NULL-terminated, at most 24, may be NULL). NULL on failure.
 */
test_statusd *test_statusd_start_exec(const char *script, const char *const *args);

/*
 * Creates <dir>/go first when there is a directory, which lets a gated
 * program (one that waits for that file) end, then stops the process by
 * its pid with SIGTERM (SIGKILL after 15 s), prints its log when it did
 * not exit with status 0, removes the log and the directory and frees s.
 * A process a test has already stopped (pid 0) counts as a clean exit:
 * that test checked its exit status itself. Returns 0 on a clean exit,
 * else -1; NULL gives 0.
 */
int test_statusd_stop(test_statusd *s);

/* cmocka setup and teardown around the functions above: *state gets the
 * test_statusd, or NULL with a return of -1 when it did not start. */
int test_statusd_setup(void **state, const char *const *args);
int test_statusd_setup_exec(void **state, const char *script, const char *const *args);
int test_statusd_teardown(void **state);

/* ---- one statusd per test, on either store ---- */

/* The state of a test that runs against one statusd: its process, its
 * port and the store it runs on (the group's Redis when redis). */
typedef struct test_fixture {
    test_statusd *sd;
    unsigned port;
    bool redis;
} test_fixture;

/*
 * Starts statusd into f with head, then the store's arguments, then args
 * (see test_statusd_start_store): on the memory store, or on the group's
 * Redis after emptying it when redis. Owns dir as test_statusd_start
 * does. 0, or -1 when statusd did not start (f->sd is then NULL).
 */
int test_fixture_start(test_fixture *f, bool redis, char *dir, const char *const *head,
                       const char *const *args);

/* Stops f's statusd (test_statusd_stop); 0 on a clean exit. */
int test_fixture_stop(test_fixture *f);

/* cmocka setup and teardown: test_fixture_start into a test_fixture in
 * *state, and its stop. Setup returns -1 when statusd did not start. */
int test_fixture_setup(void **state, bool redis, const char *const *head,
                       const char *const *args);
int test_fixture_teardown(void **state);

/* The port of the test_fixture in *state. */
unsigned test_fixture_port(void **state);

/* Asserts that r has the header name with exactly the value want. */
void test_assert_header(const http_resp *r, const char *name, const char *want);

/* SD_TEST_SOURCE_DIR/rel into buf (len bytes); fails the running test when
 * SD_TEST_SOURCE_DIR is not set (run the tests through ctest) or the file
 * is not there. Returns buf. */
const char *test_source_path(char *buf, size_t len, const char *rel);

#endif
