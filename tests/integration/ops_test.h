#ifndef SD_TEST_OPS_TEST_H
#define SD_TEST_OPS_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "http_test.h"
#include "redis_server.h"

/*
 * Shared pieces of the operations tests (test_http_ops.c,
 * test_http_ops_metrics.c), beside the group's redis-server and the
 * test_fixture of http_test.h: the calls that
 * fill the store with jobs, sessions and conversations. Functions that
 * assert fail the running cmocka test, so call them only from a test
 * body.
 */

/* One more statusd on the group's Redis (without emptying it), with args
 * after the store's; NULL when it does not start. Stop it with
 * test_statusd_stop. */
test_statusd *ops_start_on_redis(const char *const *args);

/* Asserts an answer with this status and returns its body as JSON (the
 * caller frees it); frees the answer. */
cJSON *ops_json(http_resp *r, int status);

/* GET /stats; asserts 200 with a JSON body, which it returns. */
cJSON *ops_stats(unsigned port);

/* stats[group][key] (group NULL: stats[key]); asserts it is a number. */
int ops_stat(const cJSON *stats, const char *group, const char *key);

/* Asserts that the five job counts of stats are exactly these. */
void ops_assert_jobs(const cJSON *stats, int queued, int processing, int completed,
                     int failed, int canceled);

/* Reads /stats every 20 ms until stats[group][key] == want; asserts that
 * it gets there within TEST_DEADLINE_MS. */
void ops_wait_stat(unsigned port, const char *group, const char *key, int want);

/* POST /sessions {"n":1}; asserts 201 and returns the id (caller frees). */
char *ops_create_session(unsigned port);

/* POST /chat with one message for user; asserts 200. */
void ops_chat(unsigned port, const char *user);

/* Submits {"query":query} (with "params":{"fail":true} when fail) and
 * waits until the job has status want; returns its id (caller frees). */
char *ops_job(unsigned port, const char *query, bool fail, const char *want);

/* Runs a command on a raw connection; asserts a reply, which the caller
 * frees with freeReplyObject. argv is NULL-terminated. */
redisReply *ops_redis_cmd(redisContext *c, const char *const *argv);

/* A command whose reply is an integer; returns it. */
long long ops_redis_int(redisContext *c, const char *const *argv);

#endif
