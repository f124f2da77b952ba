#ifndef SD_TEST_HTTP_UPLOADS_COMMON_H
#define SD_TEST_HTTP_UPLOADS_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "http_test.h"
#include "redis_server.h"

/*
 * Shared pieces of the upload API tests (test_http_uploads*.c) and the
 * idempotency tests: one redis-server per test group, a statusd per test
 * on the memory store or on that server (emptied first), with the demo
 * upload handler or an exec script, and upload calls that assert (so call
 * them only from a test body).
 */

typedef struct up_fixture {
    test_fixture fx;     /* first, so test_fixture_port(state) works */
    const char *dir;     /* the exec script's directory (owned by sd), or NULL */
    char handler[1200];  /* "handler_upload=exec:..." for peers, or "" */
} up_fixture;

/* The group's redis-server (started by up_group_setup). */
test_redis *up_redis(void);

/* cmocka group setup and teardown: start and stop the redis-server. */
int up_group_setup(void **state);
int up_group_teardown(void **state);

/*
 * Starts statusd for one test, on the memory store or (redis) on the
 * group's server after emptying it, with drain_timeout=1, max_attempts=1
 * and demo_step_ms=50 unless args (NULL-terminated, at most 16, may be
 * NULL) say otherwise. script, when not NULL, is written to up.sh in a
 * fresh temporary directory and becomes the upload handler
 * (handler_upload=exec:'<dir>/up.sh' '<dir>'). *state gets the
 * up_fixture (its fx is the test_fixture of http_test.h); -1 when
 * statusd did not start.
 */
int up_setup(void **state, bool redis, const char *script, const char *const *args);
int up_teardown(void **state);

/* One more statusd on the group's Redis with f's upload handler (the
 * same script and directory, which f keeps owning) and the defaults and
 * args as for up_setup; NULL when it does not start. */
test_statusd *up_start_peer(const up_fixture *f, const char *const *args);

/* One request on a connection of its own; asserts that the server
 * answered. headers: raw "Name: value\r\n" lines or NULL. */
void up_call(unsigned port, const char *method, const char *path, const char *headers,
             const char *body, http_resp *out);

/* "<base>?post_id=<post>&run_id=<run>" into out (the ids are sent as
 * they are: the tests use ids without '+'). */
void up_path(char *out, size_t len, const char *base, const char *post, const char *run);

/* The body of a run of n fields named <prefix><i> (two digits), each
 * with source "https://cdn.example/<i>.jpg"; the caller frees it. */
char *up_body(const char *post, const char *run, const char *prefix, int n);

/* POST /uploads with body; asserts 202 and returns the answer's JSON. */
cJSON *up_create(unsigned port, const char *body);

/*
 * GET /upload-status; asserts a 200 run view (see up_assert_view) and
 * returns it. keep, when not NULL, receives the response (the caller
 * frees it with http_resp_free).
 */
cJSON *up_get(unsigned port, const char *post, const char *run, http_resp *keep);

/*
 * Asserts that v is a run view of post and run: exactly post_id, run_id,
 * status, uploaded_fields, pending_fields, failed_fields, created_at and
 * expires_at, with the lists holding these numbers of fields and each
 * field the status of its list; status NULL skips the status check.
 */
void up_assert_view(const cJSON *v, const char *post, const char *run, const char *status,
                    int uploaded, int pending, int failed);

/* The field named name in v's list ("uploaded_fields", ...), or NULL. */
const cJSON *up_field(const cJSON *v, const char *list, const char *name);

/*
 * Reads the run until its status is want, and returns that view (the
 * caller frees it). Fails the test when the run ends in another status
 * first (completed and failed are final until a retry) or the deadline
 * (TEST_DEADLINE_MS) passes.
 */
cJSON *up_wait(unsigned port, const char *post, const char *run, const char *want);

/* A condition on a run view, for up_wait_until. */
typedef bool (*up_pred)(const cJSON *view, void *arg);

/* Reads the run until done(view, arg) holds, and returns that view; fails
 * the test at the deadline with the last view read. */
cJSON *up_wait_until(unsigned port, const char *post, const char *run, up_pred done,
                     void *arg);

/* Asserts that field f has this error code and message (NULL: any
 * non-empty message). */
void up_assert_error(const cJSON *f, const char *code, const char *message);

#endif
