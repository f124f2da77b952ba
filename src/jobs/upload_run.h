#ifndef STATUSD_JOBS_UPLOAD_RUN_H
#define STATUSD_JOBS_UPLOAD_RUN_H

/*
 * Private to uploads.c and upload_view.c: the run record and the state of
 * its fields as one read resolves them.
 *
 * A run is a hash in the store's "upload" namespace under the id
 * "<post_id>/<run_id>" (the ids cannot hold a '/'):
 *   post_id, run_id, nfields, created_ms, deadline_ms
 * and for field i (0-based, in request order):
 *   f<i>.name      the field name
 *   f<i>.source    the source, kept so a retry can queue the field again
 *   f<i>.job       the id of the field's current job
 *   f<i>.carried   attempts of the field's earlier jobs (absent: 0)
 *   f<i>.sub       epoch ms at which the current job id was assigned,
 *                  present until its submit has been answered: a reader
 *                  that finds no such job meanwhile sees it pending
 *   f<i>.status    completed | failed, once the outcome is known
 *   f<i>.extra     completed: the result's members, as JSON text to
 *                  splice into the field's object ("" for none)
 *   f<i>.error     failed: {"code", "message"}
 *   f<i>.attempts  final: the attempts of the job that ended
 * Every change to one field is conditioned on its f<i>.job, so two
 * changes of different fields never touch the same member and a change
 * based on a job that is no longer the field's is refused.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/uploads.h"

#define UPLOAD_NS SD_UPLOADS_NS

/* How long a job id assigned to a field may go without its job existing
 * before a reader gives the field up as expired: far longer than a
 * submit takes, short enough that a run whose creator died mid-submit
 * does not stay pending for long. */
#define UPLOAD_SUBMIT_GRACE_MS 60000

/* The names of field i's members in the run record. */
typedef struct upload_names {
    char name[24], source[24], job[24], carried[24], sub[24];
    char status[24], extra[24], error[24], attempts[24];
} upload_names;

void upload_names_of(size_t i, upload_names *n);

typedef enum upload_state {
    UPLOAD_PENDING,
    UPLOAD_UPLOADING,
    UPLOAD_COMPLETED,
    UPLOAD_FAILED
} upload_state;

/* One field as resolved by upload_run_read. */
typedef struct upload_field {
    const char *name;            /* points into the run's record */
    const char *source;          /* points into the run's record */
    char job[SD_UUID_LEN + 1];
    upload_state state;
    int64_t carried;             /* attempts of earlier jobs */
    int64_t attempts;            /* attempts of the current job */
    sd_buf extra;                /* COMPLETED: members to splice, maybe empty */
    sd_buf error;                /* FAILED: the error object */
} upload_field;

/* A run as read; release with upload_run_clear. */
typedef struct upload_run {
    char key[SD_UPLOAD_RUN_KEY_LEN];
    sd_record rec;
    const char *post_id;         /* point into rec */
    const char *run_id;
    int64_t created_ms;
    size_t nfields;
    upload_field *fields;
} upload_run;

/*
 * Reads run key (renewing its lifetime), then resolves every field: from
 * the record when final, else from its job (sd_jobs_get, which renews the
 * job's lifetime), writing an outcome it finds into the record
 * (upload_field_finish). SD_ERR_NOT_FOUND, SD_ERR_INTERNAL for a record
 * that is not a run's, SD_ERR_NOMEM, store errors.
 */
sd_err upload_run_read(const sd_uploads *u, const char *key, upload_run *run);
void upload_run_clear(upload_run *run);

/* The run's status: processing while a field is pending or uploading,
 * else failed when one failed, else completed. */
const char *upload_run_status(const upload_run *run);

/* The status view of a resolved run into *v. SD_ERR_NOMEM. */
sd_err upload_view_build(const upload_run *run, sd_upload_view *v);

/* {"code": code, "message": message} appended to b. */
void upload_error_json(sd_buf *b, const char *code, const char *message);

/*
 * Writes field i's outcome (status "completed" with extra, or "failed"
 * with error; attempts of the job) into run key, conditioned on the
 * field's job still being job, and drops its submit mark.
 * SD_ERR_CONFLICT when the field has another job now; store errors.
 */
sd_err upload_field_finish(const sd_uploads *u, const char *key, size_t i, const char *job,
                           const char *status, const sd_buf *extra, const sd_buf *error,
                           int64_t attempts);

#endif
