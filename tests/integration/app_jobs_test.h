#ifndef SD_TEST_APP_JOBS_TEST_H
#define SD_TEST_APP_JOBS_TEST_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "app_server.h"
#include "http_test.h"

/*
 * What the tests of jobs run by the app share: a fixture of one test web
 * app (app_server.h) and one statusd, on the memory store or on the
 * group's Redis, whose job kinds point at the app's paths:
 *   echo /json, stream /ndjson, streamfail /ndjson-error, later /accept,
 *   flaky /flaky, flakylater /flaky-accept, picky /reject, slow /slow,
 *   quiet /no-content, html /html, down (a port nobody listens on),
 *   ext external
 * with job_timeout=3, max_attempts=3, retry_backoff_ms=50, and the
 * admin token ADMIN_TOKEN.
 */

#define APP_ADMIN_TOKEN "admin-token-0123456789"

typedef struct app_fixture {
    app_server *app;
    test_statusd *sd;
    bool redis;
} app_fixture;

/* cmocka group set-up and teardown (the group's Redis). */
int app_group_setup(void **state);
int app_group_teardown(void **state);

/* Per-test fixtures; args (NULL-terminated, may be NULL) go last. */
int app_memory_setup(void **state);
int app_redis_setup(void **state);
int app_setup_with(void **state, bool redis, const char *const *args);
int app_teardown(void **state);

/* Another statusd on the fixture's store, configured alike (Redis only). */
test_statusd *app_start_peer(const app_fixture *f);

/* POST /jobs/<kind> with body; asserts 202 and returns the answer's view
 * (the caller frees it). */
cJSON *app_submit(unsigned port, const char *kind, const char *body);

/* PATCH /status/<id> with Authorization: Bearer token (none when NULL)
 * and the JSON body; asserts the server answered. */
void app_report(unsigned port, const char *id, const char *token, const char *body,
                http_resp *out);

/* The job's id of a view (asserts there is one). */
const char *app_view_id(const cJSON *view);

#endif
