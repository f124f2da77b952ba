#ifndef SD_TEST_PUSH_TEST_H
#define SD_TEST_PUSH_TEST_H

#include <pthread.h>
#include <stdint.h>

#include "app_jobs_test.h"

/*
 * What the tests of long-polls and event streams share: external jobs
 * (app_jobs_test.h's kind "ext") that the test moves itself with
 * reports, requests made on another thread while the test's own is held
 * by the server, and a monotonic clock to tell a held answer from an
 * immediate one (bounds far from any real timing).
 */

typedef struct push_job {
    char id[64];
    char token[64];
    char etag[40];      /* the ETag of the view after submission */
} push_job;

/* POST /jobs/ext and read the job's tag; asserts each step. */
push_job push_submit(unsigned port);

/* The job's current ETag into out (asserts a 200). */
void push_etag(unsigned port, const char *id, char out[40]);

/* A request sent after delay_ms on a thread of its own. */
typedef struct push_later {
    pthread_t thread;
    unsigned port;
    int delay_ms;
    char method[8];
    char path[160];
    char headers[256];
    char body[256];
    http_resp resp;
    int rc;            /* http_do's */
} push_later;

/* Starts it: method path with headers (may be "") and body (may be NULL). */
void push_later_start(push_later *l, unsigned port, int delay_ms, const char *method,
                      const char *path, const char *headers, const char *body);
/* Waits for it; its answer stays in l->resp (free with http_resp_free). */
void push_later_join(push_later *l);

/* A report of the job's run (PATCH /status/<id>) after delay_ms. */
void push_report_later(push_later *l, unsigned port, const push_job *j, int delay_ms,
                       const char *body);

/* Milliseconds on the monotonic clock. */
int64_t push_now_ms(void);

/* Fixtures: the app_jobs_test one with extra settings. */
int push_memory_setup(void **state);
int push_redis_setup(void **state);

#endif
