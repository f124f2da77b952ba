#ifndef STATUSD_UPLOADS_H
#define STATUSD_UPLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "statusd/error.h"
#include "statusd/jobs.h"
#include "statusd/store.h"
#include "statusd/util.h"

/*
 * Upload runs: the fields of one post pushed to a CMS after the app has
 * answered its user, tracked field by field. A run is named by the
 * client's (post_id, run_id); each of its fields is one job of kind
 * "upload", so queueing, leases, retries of a run, drain and cancel are
 * the jobs component's. This component keeps the run record that ties
 * the jobs together and reads a run's state from it and from its jobs.
 * Knows nothing of HTTP: api/uploads.c turns requests into these calls.
 *
 * Field states: pending (job queued) -> uploading (job processing) ->
 * completed | failed. While a field is not final its job is the truth;
 * once a read sees the job finished, the outcome is copied into the run
 * record in one store update conditioned on that field's job id, so a
 * retry or another reader racing it is never overwritten by a stale
 * write, and fields finishing in any order lose no update.
 */

#define SD_UPLOAD_ID_MAX 128           /* post_id, run_id: [A-Za-z0-9._:+@-]{1,128} */
#define SD_UPLOAD_FIELDS_MAX 100       /* fields of one run */
#define SD_UPLOAD_FIELD_NAME_MAX 128   /* bytes of a field name */
#define SD_UPLOAD_SOURCE_MAX 4096      /* bytes of a field's source */
/* "<post_id>/<run_id>", the run's id in the store, and a NUL */
#define SD_UPLOAD_RUN_KEY_LEN (2 * SD_UPLOAD_ID_MAX + 2)

/* What the calls below need; filled by the caller, read-only here. */
typedef struct sd_uploads {
    sd_store *store;
    sd_jobs *jobs;
    int64_t ttl_ms;       /* job_ttl: a run's sliding lifetime */
    int64_t max_age_ms;   /* job_max_age: a run's longest life */
} sd_uploads;

/* One field of a request; the strings belong to the parsed body. */
typedef struct sd_upload_field_in {
    const char *name;
    const char *source;
} sd_upload_field_in;

/* A validated POST /uploads body; the strings belong to the parsed body. */
typedef struct sd_upload_request {
    const char *post_id;
    const char *run_id;
    sd_upload_field_in fields[SD_UPLOAD_FIELDS_MAX];
    size_t nfields;
} sd_upload_request;

/* True when s[0..len) is a valid post_id or run_id. */
bool sd_upload_id_valid(const char *s, size_t len);

/* "<post_id>/<run_id>" into out; both ids must be valid. */
void sd_upload_run_key(char out[SD_UPLOAD_RUN_KEY_LEN], const char *post_id,
                       const char *run_id);

/*
 * Validates {"post_id", "run_id", "fields": [{"field", "source"}, ...]}:
 * ids as sd_upload_id_valid; 1 to SD_UPLOAD_FIELDS_MAX fields with
 * distinct names of 1 to SD_UPLOAD_FIELD_NAME_MAX bytes without control
 * characters, and sources of 1 to SD_UPLOAD_SOURCE_MAX bytes; no other
 * member and no repeated member anywhere. SD_ERR_INVALID with a reason
 * naming the problem in why.
 */
sd_err sd_upload_request_parse(const cJSON *body, sd_upload_request *out, char *why,
                               size_t whylen);

/* A run as clients see it: JSON, a validator for ETag (the hash of the
 * view without expires_at), and the run's status. */
typedef struct sd_upload_view {
    sd_buf json;
    uint64_t etag;
    char status[32];      /* processing, completed, failed; or, for a
                             created run, processing_in_background */
    int64_t expires_ms;   /* epoch ms the run expires at */
    /* the jobs of the fields not final yet, whose changes change the
     * view (for those who wait on it); malloc'd */
    char (*jobs)[SD_UUID_LEN + 1];
    size_t njobs;
} sd_upload_view;

#define SD_UPLOAD_VIEW_INIT {SD_BUF_INIT, 0, "", 0, NULL, 0}

/* The store namespace of run records, as change notices name it; the
 * id is the run key (sd_upload_run_key). */
#define SD_UPLOADS_NS "upload"

void sd_upload_view_clear(sd_upload_view *v);

/*
 * Creates the run of req and queues one upload job per field. The record
 * is created first (atomically: SD_ERR_EXISTS when the run exists), with
 * every field pending; then the jobs are submitted. A field whose job
 * cannot be queued is failed with error code "not_queued", so a retry
 * re-queues it. *v gets {post_id, run_id, status:
 * "processing_in_background", fields: [{field, status}, ...]}.
 * When no job at all could be queued, the record is removed again and the
 * first submit's error is returned (SD_ERR_QUEUE_FULL,
 * SD_ERR_SHUTTING_DOWN, SD_ERR_UNAVAILABLE). Store errors.
 */
sd_err sd_uploads_create(const sd_uploads *u, const sd_upload_request *req,
                         sd_upload_view *v);

/*
 * Reads the run (renewing its lifetime) and the job of every field not
 * yet final (renewing theirs), copies outcomes it finds into the run
 * record, and builds the status view {post_id, run_id, status,
 * uploaded_fields, pending_fields, failed_fields, created_at,
 * expires_at}. SD_ERR_NOT_FOUND for an unknown or expired run,
 * SD_ERR_INTERNAL for a record that is not a run's, store errors.
 */
sd_err sd_uploads_status(const sd_uploads *u, const char *post_id, const char *run_id,
                         sd_upload_view *v);

/*
 * Re-queues the failed fields of a run: each gets a new job, its earlier
 * attempts carried over, in one store update conditioned on the failed
 * job's id. *v gets the status view afterwards. SD_ERR_NOT_FOUND;
 * SD_ERR_CONFLICT when no field is failed (*v is then the status view);
 * the submit error when no failed field could be queued (they stay
 * failed, with error code "not_queued"); store errors.
 */
sd_err sd_uploads_retry(const sd_uploads *u, const char *post_id, const char *run_id,
                        sd_upload_view *v);

#endif
