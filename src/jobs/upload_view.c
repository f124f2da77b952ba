/*
 * Reading an upload run: the record (see upload_run.h), the job of every
 * field that is not final, the outcomes copied back into the record, and
 * the status view clients poll.
 *
 * The cost of a read is one store read of the run plus one job read per
 * field that is not final yet, and one store update per field whose
 * outcome the read is the first to see; a run whose fields are all final
 * costs the one read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jobs/upload_run.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define PUT_LIT(b, lit) sd_buf_append((b), (lit), sizeof(lit) - 1)

void upload_names_of(size_t i, upload_names *n)
{
    snprintf(n->name, sizeof n->name, "f%zu.name", i);
    snprintf(n->source, sizeof n->source, "f%zu.source", i);
    snprintf(n->job, sizeof n->job, "f%zu.job", i);
    snprintf(n->carried, sizeof n->carried, "f%zu.carried", i);
    snprintf(n->sub, sizeof n->sub, "f%zu.sub", i);
    snprintf(n->status, sizeof n->status, "f%zu.status", i);
    snprintf(n->extra, sizeof n->extra, "f%zu.extra", i);
    snprintf(n->error, sizeof n->error, "f%zu.error", i);
    snprintf(n->attempts, sizeof n->attempts, "f%zu.attempts", i);
}

void upload_error_json(sd_buf *b, const char *code, const char *message)
{
    PUT_LIT(b, "{\"code\":");
    sd_json_append_string(b, code, strlen(code));
    PUT_LIT(b, ",\"message\":");
    sd_json_append_string(b, message, strlen(message));
    sd_buf_putc(b, '}');
}

void sd_upload_view_clear(sd_upload_view *v)
{
    sd_buf_free(&v->json);
    v->etag = 0;
    v->status[0] = '\0';
    v->expires_ms = 0;
    free(v->jobs);
    v->jobs = NULL;
    v->njobs = 0;
}

/* The jobs of run's fields that are not final, into v. */
static sd_err view_jobs(const upload_run *run, sd_upload_view *v)
{
    free(v->jobs);
    v->jobs = NULL;
    v->njobs = 0;
    if (run->nfields == 0)
        return SD_OK;
    v->jobs = malloc(run->nfields * sizeof *v->jobs);
    if (v->jobs == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < run->nfields; i++) {
        const upload_field *f = &run->fields[i];
        if ((f->state == UPLOAD_PENDING || f->state == UPLOAD_UPLOADING) && f->job[0] != '\0')
            memcpy(v->jobs[v->njobs++], f->job, sizeof v->jobs[0]);
    }
    return SD_OK;
}

void upload_run_clear(upload_run *run)
{
    for (size_t i = 0; run->fields != NULL && i < run->nfields; i++) {
        sd_buf_free(&run->fields[i].extra);
        sd_buf_free(&run->fields[i].error);
    }
    free(run->fields);
    sd_record_clear(&run->rec);
    memset(run, 0, sizeof *run);
}

sd_err upload_field_finish(const sd_uploads *u, const char *key, size_t i, const char *job,
                           const char *status, const sd_buf *extra, const sd_buf *error,
                           int64_t attempts)
{
    upload_names n;
    upload_names_of(i, &n);
    char att[24];
    snprintf(att, sizeof att, "%" PRId64, attempts);
    bool completed = strcmp(status, "completed") == 0;
    const sd_buf *doc = completed ? extra : error;
    sd_assign a[] = {
        {.name = n.status, .op = SD_ASSIGN_SET, .value = status, .len = strlen(status)},
        {.name = completed ? n.extra : n.error, .op = SD_ASSIGN_SET,
         .value = doc->data != NULL ? doc->data : "", .len = doc->len},
        {.name = n.attempts, .op = SD_ASSIGN_SET, .value = att, .len = strlen(att)},
        {.name = n.sub, .op = SD_ASSIGN_DEL},
    };
    const char *const cond[] = {job};
    sd_update up = {.mode = SD_UPDATE_EXISTING, .cond_field = n.job, .cond_values = cond,
                    .cond_count = 1, .assign = a, .assign_count = sizeof a / sizeof a[0],
                    .ttl_ms = u->ttl_ms};
    return sd_store_update(u->store, UPLOAD_NS, key, &up, NULL);
}

/* ---- a field's state from its job ---- */

static bool reserved_member(const char *name)
{
    return strcmp(name, "field") == 0 || strcmp(name, "status") == 0 ||
           strcmp(name, "attempts") == 0;
}

/* The members of a completed job's result to splice into the field's
 * object: an object's members but field, status and attempts (which the
 * field's own members hold) and repeats; any other non-null result as
 * "result": value. */
static void result_members(const cJSON *result, sd_buf *out)
{
    sd_buf_reset(out);
    if (result == NULL || cJSON_IsNull(result))
        return;
    if (!cJSON_IsObject(result)) {
        PUT_LIT(out, "\"result\":");
        sd_json_append_item(out, result);
        return;
    }
    for (const cJSON *m = result->child; m != NULL; m = m->next) {
        if (reserved_member(m->string))
            continue;
        bool repeated = false;
        for (const cJSON *p = result->child; p != m && !repeated; p = p->next)
            repeated = strcmp(p->string, m->string) == 0;
        if (repeated)
            continue;
        if (out->len > 0)
            sd_buf_putc(out, ',');
        sd_json_append_string(out, m->string, strlen(m->string));
        sd_buf_putc(out, ':');
        sd_json_append_item(out, m);
    }
}

/* The error of a failed or canceled job, or one saying which it was when
 * the job has none (a cancel sets no error). */
static void job_error(const cJSON *error, const char *status, sd_buf *out)
{
    sd_buf_reset(out);
    if (cJSON_IsObject(error)) {
        sd_json_append_item(out, error);
    } else if (strcmp(status, "canceled") == 0) {
        upload_error_json(out, "canceled", "the field's upload job was canceled");
    } else {
        upload_error_json(out, "failed", "the field's upload job failed without an error");
    }
}

/* Sets f from its job's view; *final tells whether the job ended.
 * SD_ERR_INTERNAL for a view that does not parse, SD_ERR_NOMEM. */
static sd_err field_from_job(upload_field *f, const sd_job_view *jv, bool *final)
{
    cJSON *doc = cJSON_ParseWithLength(jv->json.data, jv->json.len);
    if (doc == NULL)
        return SD_ERR_INTERNAL;
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(doc, "attempts");
    f->attempts = cJSON_IsNumber(att) && att->valuedouble >= 0 ? (int64_t)att->valuedouble : 0;
    *final = jv->terminal;
    if (strcmp(jv->status, "queued") == 0) {
        f->state = UPLOAD_PENDING;
    } else if (strcmp(jv->status, "processing") == 0) {
        f->state = UPLOAD_UPLOADING;
    } else if (strcmp(jv->status, "completed") == 0) {
        f->state = UPLOAD_COMPLETED;
        result_members(cJSON_GetObjectItemCaseSensitive(doc, "result"), &f->extra);
    } else {
        f->state = UPLOAD_FAILED;
        job_error(cJSON_GetObjectItemCaseSensitive(doc, "error"), jv->status, &f->error);
    }
    cJSON_Delete(doc);
    return sd_buf_ok(&f->extra) && sd_buf_ok(&f->error) ? SD_OK : SD_ERR_NOMEM;
}

/* Copies a field's text member from the record into b. */
static sd_err copy_member(const sd_record *rec, const char *name, sd_buf *b)
{
    size_t len = 0;
    const char *v = sd_record_get(rec, name, &len);
    sd_buf_reset(b);
    if (v != NULL)
        sd_buf_append(b, v, len);
    return sd_buf_ok(b) ? SD_OK : SD_ERR_NOMEM;
}

/*
 * Resolves field i of run: final from the record, else from its job.
 * A job found ended has its outcome written into the record; a job not
 * found is pending while its submit may still be under way, else the
 * field failed with "expired".
 */
static sd_err field_resolve(const sd_uploads *u, upload_run *run, size_t i)
{
    upload_field *f = &run->fields[i];
    const sd_record *rec = &run->rec;
    upload_names n;
    upload_names_of(i, &n);
    size_t job_len = 0;
    const char *job = sd_record_get(rec, n.job, &job_len);
    f->name = sd_record_get(rec, n.name, NULL);
    f->source = sd_record_get(rec, n.source, NULL);
    if (f->name == NULL || f->source == NULL || job == NULL || job_len > SD_UUID_LEN)
        return SD_ERR_INTERNAL;
    memcpy(f->job, job, job_len + 1);
    if (sd_record_get_i64(rec, n.carried, &f->carried) != SD_OK)
        f->carried = 0;

    const char *status = sd_record_get(rec, n.status, NULL);
    if (status != NULL) {
        if (sd_record_get_i64(rec, n.attempts, &f->attempts) != SD_OK)
            f->attempts = 0;
        if (strcmp(status, "completed") == 0) {
            f->state = UPLOAD_COMPLETED;
            return copy_member(rec, n.extra, &f->extra);
        }
        f->state = UPLOAD_FAILED;
        return copy_member(rec, n.error, &f->error);
    }

    sd_job_view jv = SD_JOB_VIEW_INIT;
    sd_err err = sd_jobs_get(u->jobs, f->job, &jv);
    bool final = false;
    if (err == SD_OK) {
        err = field_from_job(f, &jv, &final);
    } else if (err == SD_ERR_NOT_FOUND) {
        int64_t sub = 0;
        err = SD_OK;
        f->attempts = 0;
        if (sd_record_get_i64(rec, n.sub, &sub) == SD_OK &&
            sd_now_ms() - sub < UPLOAD_SUBMIT_GRACE_MS) {
            f->state = UPLOAD_PENDING;
        } else {
            f->state = UPLOAD_FAILED;
            final = true;
            sd_buf_reset(&f->error);
            upload_error_json(&f->error, "expired",
                              "the field's upload job expired before its outcome was read");
            if (!sd_buf_ok(&f->error))
                err = SD_ERR_NOMEM;
        }
    }
    sd_job_view_clear(&jv);
    if (err != SD_OK || !final)
        return err;
    bool done = f->state == UPLOAD_COMPLETED;
    sd_err werr = upload_field_finish(u, run->key, i, f->job, done ? "completed" : "failed",
                                      &f->extra, &f->error, f->attempts);
    /* A conflict: a retry gave the field a new job after this read; the
     * outcome read is still what the field was then. */
    if (werr != SD_OK && werr != SD_ERR_CONFLICT && werr != SD_ERR_NOT_FOUND)
        sd_debug("upload %s field %zu: outcome not saved: %s", run->key, i,
                 sd_err_name(werr));
    return SD_OK;
}

sd_err upload_run_read(const sd_uploads *u, const char *key, upload_run *run)
{
    memset(run, 0, sizeof *run);
    snprintf(run->key, sizeof run->key, "%s", key);
    sd_err err = sd_store_get(u->store, UPLOAD_NS, key, u->ttl_ms, &run->rec);
    if (err != SD_OK)
        return err;
    int64_t nfields = 0;
    run->post_id = sd_record_get(&run->rec, "post_id", NULL);
    run->run_id = sd_record_get(&run->rec, "run_id", NULL);
    if (run->post_id == NULL || run->run_id == NULL ||
        sd_record_get_i64(&run->rec, "created_ms", &run->created_ms) != SD_OK ||
        sd_record_get_i64(&run->rec, "nfields", &nfields) != SD_OK || nfields < 1 ||
        nfields > SD_UPLOAD_FIELDS_MAX)
        return SD_ERR_INTERNAL;
    run->fields = calloc((size_t)nfields, sizeof *run->fields);
    if (run->fields == NULL)
        return SD_ERR_NOMEM;
    run->nfields = (size_t)nfields;
    for (size_t i = 0; i < run->nfields; i++) {
        err = field_resolve(u, run, i);
        if (err != SD_OK)
            return err;
    }
    return SD_OK;
}

const char *upload_run_status(const upload_run *run)
{
    bool failed = false;
    for (size_t i = 0; i < run->nfields; i++) {
        upload_state s = run->fields[i].state;
        if (s == UPLOAD_PENDING || s == UPLOAD_UPLOADING)
            return "processing";
        failed = failed || s == UPLOAD_FAILED;
    }
    return failed ? "failed" : "completed";
}

/* ---- the view ---- */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void put_time(sd_buf *b, int64_t ms)
{
    char ts[SD_TIME_LEN];
    sd_format_time(ms, ts);
    sd_buf_putc(b, '"');
    sd_buf_append(b, ts, SD_TIME_LEN - 1);
    sd_buf_putc(b, '"');
}

static const char *state_name(upload_state s)
{
    switch (s) {
    case UPLOAD_PENDING:
        return "pending";
    case UPLOAD_UPLOADING:
        return "uploading";
    case UPLOAD_COMPLETED:
        return "completed";
    case UPLOAD_FAILED:
        break;
    }
    return "failed";
}

/* One field's object: field, status, attempts, then the result's
 * members (completed) or the error (failed). */
static void put_field(sd_buf *b, const upload_field *f)
{
    PUT_LIT(b, "{\"field\":");
    sd_json_append_string(b, f->name, strlen(f->name));
    PUT_LIT(b, ",\"status\":\"");
    sd_buf_puts(b, state_name(f->state));
    sd_buf_printf(b, "\",\"attempts\":%" PRId64, f->carried + f->attempts);
    if (f->state == UPLOAD_COMPLETED && f->extra.len > 0) {
        sd_buf_putc(b, ',');
        sd_buf_append(b, f->extra.data, f->extra.len);
    } else if (f->state == UPLOAD_FAILED) {
        PUT_LIT(b, ",\"error\":");
        if (f->error.len > 0)
            sd_buf_append(b, f->error.data, f->error.len);
        else
            PUT_LIT(b, "null");
    }
    sd_buf_putc(b, '}');
}

/* The fields of run in states a (and b), in request order, as an array. */
static void put_list(sd_buf *b, const upload_run *run, upload_state a, upload_state c)
{
    sd_buf_putc(b, '[');
    bool first = true;
    for (size_t i = 0; i < run->nfields; i++) {
        const upload_field *f = &run->fields[i];
        if (f->state != a && f->state != c)
            continue;
        if (!first)
            sd_buf_putc(b, ',');
        first = false;
        put_field(b, f);
    }
    sd_buf_putc(b, ']');
}

sd_err upload_view_build(const upload_run *run, sd_upload_view *v)
{
    sd_buf *b = &v->json;
    sd_buf_reset(b);
    const char *status = upload_run_status(run);
    PUT_LIT(b, "{\"post_id\":");
    sd_json_append_string(b, run->post_id, strlen(run->post_id));
    PUT_LIT(b, ",\"run_id\":");
    sd_json_append_string(b, run->run_id, strlen(run->run_id));
    PUT_LIT(b, ",\"status\":\"");
    sd_buf_puts(b, status);
    PUT_LIT(b, "\",\"uploaded_fields\":");
    put_list(b, run, UPLOAD_COMPLETED, UPLOAD_COMPLETED);
    PUT_LIT(b, ",\"pending_fields\":");
    put_list(b, run, UPLOAD_PENDING, UPLOAD_UPLOADING);
    PUT_LIT(b, ",\"failed_fields\":");
    put_list(b, run, UPLOAD_FAILED, UPLOAD_FAILED);
    PUT_LIT(b, ",\"created_at\":");
    put_time(b, run->created_ms);
    if (!sd_buf_ok(b))
        return SD_ERR_NOMEM;
    v->etag = fnv1a(b->data, b->len);
    PUT_LIT(b, ",\"expires_at\":");
    put_time(b, run->rec.expires_ms);
    sd_buf_putc(b, '}');
    snprintf(v->status, sizeof v->status, "%s", status);
    v->expires_ms = run->rec.expires_ms;
    if (!sd_buf_ok(b))
        return SD_ERR_NOMEM;
    return view_jobs(run, v);
}

sd_err sd_uploads_status(const sd_uploads *u, const char *post_id, const char *run_id,
                         sd_upload_view *v)
{
    char key[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(key, post_id, run_id);
    upload_run run;
    sd_err err = upload_run_read(u, key, &run);
    if (err == SD_OK)
        err = upload_view_build(&run, v);
    upload_run_clear(&run);
    return err;
}
