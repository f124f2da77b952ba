#ifndef SD_TEST_SESSION_TEST_H
#define SD_TEST_SESSION_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "http_test.h"
#include "redis_server.h"

/*
 * Shared pieces of the session API tests (test_http_sessions.c,
 * test_http_sessions_store.c), beside the group's redis-server and the
 * test_fixture of http_test.h: session calls that assert (so call them
 * only from a test body).
 */

/*
 * Starts statusd for one test into a test_fixture in *state (http_test.h),
 * on the memory store or (redis) on the group's server after emptying it,
 * with session_ttl=3600 unless args (NULL-terminated, may be NULL) say
 * otherwise; -1 when statusd did not start. test_fixture_teardown stops
 * it.
 */
int sess_setup(void **state, bool redis, const char *const *args);

/* Starts one more statusd on the group's Redis (store redis, the given
 * args as for sess_setup); NULL when it does not start. */
test_statusd *sess_start_on_redis(const char *const *args);

/* "/sessions/<id><suffix>" into out (len bytes); suffix may be NULL. */
void sess_path(char *out, size_t len, const char *id, const char *suffix);

/*
 * Asserts that r is a session view with this status: JSON, a weak ETag,
 * Cache-Control: no-cache, exactly id, data (an object), created_at,
 * updated_at and expires_at, times in RFC 3339 with milliseconds, and the
 * id given (unless NULL). Returns the parsed body (the caller frees it).
 */
cJSON *sess_assert_view(const http_resp *r, int status, const char *id);

/* Asserts that the view's data prints compactly as want (member order
 * included). */
void sess_assert_data(const cJSON *view, const char *want);

/* POST /sessions with data; asserts 201 and returns the new id (the
 * caller frees it). */
char *sess_create(unsigned port, const char *data);

/* GET /sessions/<id>; asserts a 200 view and returns it. keep, when not
 * NULL, receives the response (the caller frees it with http_resp_free). */
cJSON *sess_get(unsigned port, const char *id, http_resp *keep);

/* PATCH /sessions/<id> with a merge patch; asserts a 200 view and
 * returns it. */
cJSON *sess_patch(unsigned port, const char *id, const char *patch);

/* The status GET /sessions/<id> answers; asserts nothing else. */
int sess_get_status(unsigned port, const char *id);

/* An RFC 3339 UTC time with milliseconds as epoch milliseconds; asserts
 * its shape. */
int64_t sess_time_ms(const char *text);

#endif
