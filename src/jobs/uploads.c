/*
 * Upload runs: validating a request, creating a run and queueing its
 * fields' jobs, and re-queueing failed fields. Reading a run is in
 * upload_view.c; the record is described in upload_run.h.
 *
 * Creating a run is two steps that cannot be one: the record, then the
 * jobs. The record comes first and is created atomically, so a run is
 * made once however many requests race for it, and it names every
 * field's job id before the job exists (with a submit mark, so that a
 * reader in between sees the field pending, not its job missing). A job
 * that cannot be queued leaves its field failed with "not_queued", which
 * a retry re-queues; when no job at all could be queued the record is
 * removed again and the caller gets the reason (queue full, shutting
 * down, store down), so the same request can simply be sent again.
 *
 * A retry gives each failed field a new job in one update conditioned on
 * the failed job's id, before the new job is submitted: of two racing
 * retries only one re-queues a field, and no field is uploaded twice by
 * them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/upload_run.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define PUT_LIT(b, lit) sd_buf_append((b), (lit), sizeof(lit) - 1)

/* ---- ids and requests ---- */

static bool id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("._:+@-", c) != NULL);
}

bool sd_upload_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > SD_UPLOAD_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char_ok(s[i]))
            return false;
    return true;
}

void sd_upload_run_key(char out[SD_UPLOAD_RUN_KEY_LEN], const char *post_id,
                       const char *run_id)
{
    snprintf(out, SD_UPLOAD_RUN_KEY_LEN, "%s/%s", post_id, run_id);
}

/* At most 48 bytes of s into out, cut at a character boundary, for a
 * detail line that names a member. */
static void name_cut(char out[52], const char *s)
{
    size_t n = 0, len = strlen(s);
    while (n < len) {
        size_t k = sd_utf8_seq(s + n, len - n);
        if (k == 0 || n + k > 48)
            break;
        n += k;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Finds the members of obj named names[0..n) into found[], refusing any
 * other member and repeats. SD_ERR_INVALID with why prefixed by where. */
static sd_err members_of(const cJSON *obj, const char *const *names, const cJSON **found,
                         size_t n, const char *where, char *why, size_t whylen)
{
    for (size_t k = 0; k < n; k++)
        found[k] = NULL;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        size_t k = 0;
        while (k < n && strcmp(m->string, names[k]) != 0)
            k++;
        if (k == n || found[k] != NULL) {
            char cut[52];
            name_cut(cut, m->string);
            snprintf(why, whylen, "%s%s member '%s'", where,
                     k == n ? "unknown" : "repeated", cut);
            return SD_ERR_INVALID;
        }
        found[k] = m;
    }
    return SD_OK;
}

static sd_err run_id_member(const cJSON *m, const char *name, const char **out, char *why,
                            size_t whylen)
{
    if (m == NULL) {
        snprintf(why, whylen, "'%s' is required", name);
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsString(m) ||
        !sd_upload_id_valid(m->valuestring, strlen(m->valuestring))) {
        snprintf(why, whylen, "'%s' must be a string of 1 to %d characters of "
                 "A-Z a-z 0-9 . _ : + @ -", name, SD_UPLOAD_ID_MAX);
        return SD_ERR_INVALID;
    }
    *out = m->valuestring;
    return SD_OK;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Field number k of the request: {"field", "source"}. */
static sd_err field_in(const cJSON *item, size_t k, sd_upload_field_in *out, char *why,
                       size_t whylen)
{
    static const char *const names[] = {"field", "source"};
    const cJSON *m[2];
    char where[32];
    snprintf(where, sizeof where, "fields[%zu]: ", k);
    if (!cJSON_IsObject(item)) {
        snprintf(why, whylen, "fields[%zu] must be an object {\"field\", \"source\"}", k);
        return SD_ERR_INVALID;
    }
    sd_err err = members_of(item, names, m, 2, where, why, whylen);
    if (err != SD_OK)
        return err;
    for (size_t i = 0; i < 2; i++) {
        if (m[i] == NULL) {
            snprintf(why, whylen, "fields[%zu].%s is required", k, names[i]);
            return SD_ERR_INVALID;
        }
        if (!cJSON_IsString(m[i])) {
            snprintf(why, whylen, "fields[%zu].%s must be a string", k, names[i]);
            return SD_ERR_INVALID;
        }
    }
    size_t nlen = strlen(m[0]->valuestring), slen = strlen(m[1]->valuestring);
    if (nlen == 0 || nlen > SD_UPLOAD_FIELD_NAME_MAX) {
        snprintf(why, whylen, "fields[%zu].field must be 1 to %d bytes, got %zu", k,
                 SD_UPLOAD_FIELD_NAME_MAX, nlen);
        return SD_ERR_INVALID;
    }
    if (has_control(m[0]->valuestring)) {
        snprintf(why, whylen, "fields[%zu].field must not contain control characters", k);
        return SD_ERR_INVALID;
    }
    if (slen == 0 || slen > SD_UPLOAD_SOURCE_MAX) {
        snprintf(why, whylen, "fields[%zu].source must be 1 to %d bytes, got %zu", k,
                 SD_UPLOAD_SOURCE_MAX, slen);
        return SD_ERR_INVALID;
    }
    out->name = m[0]->valuestring;
    out->source = m[1]->valuestring;
    return SD_OK;
}

sd_err sd_upload_request_parse(const cJSON *body, sd_upload_request *out, char *why,
                               size_t whylen)
{
    static const char *const names[] = {"post_id", "run_id", "fields"};
    const cJSON *m[3];
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(body)) {
        snprintf(why, whylen, "body must be a JSON object");
        return SD_ERR_INVALID;
    }
    sd_err err = members_of(body, names, m, 3, "", why, whylen);
    if (err == SD_OK)
        err = run_id_member(m[0], "post_id", &out->post_id, why, whylen);
    if (err == SD_OK)
        err = run_id_member(m[1], "run_id", &out->run_id, why, whylen);
    if (err != SD_OK)
        return err;
    if (m[2] == NULL) {
        snprintf(why, whylen, "'fields' is required");
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsArray(m[2])) {
        snprintf(why, whylen, "'fields' must be an array");
        return SD_ERR_INVALID;
    }
    int count = cJSON_GetArraySize(m[2]);
    if (count == 0 || count > SD_UPLOAD_FIELDS_MAX) {
        snprintf(why, whylen, "'fields' must hold 1 to %d fields, got %d",
                 SD_UPLOAD_FIELDS_MAX, count);
        return SD_ERR_INVALID;
    }
    size_t k = 0;
    for (const cJSON *item = m[2]->child; item != NULL; item = item->next, k++) {
        err = field_in(item, k, &out->fields[k], why, whylen);
        if (err != SD_OK)
            return err;
        for (size_t j = 0; j < k; j++) {
            if (strcmp(out->fields[j].name, out->fields[k].name) == 0) {
                snprintf(why, whylen, "fields[%zu].field repeats the name of fields[%zu]; "
                         "field names must be distinct", k, j);
                return SD_ERR_INVALID;
            }
        }
    }
    out->nfields = k;
    return SD_OK;
}

/* ---- queueing one field ---- */

/* The job's input, what an exec handler reads on stdin:
 * {"post_id", "run_id", "field", "source"}. */
static void job_input(sd_buf *b, const char *post_id, const char *run_id, const char *field,
                      const char *source)
{
    sd_buf_reset(b);
    PUT_LIT(b, "{\"post_id\":");
    sd_json_append_string(b, post_id, strlen(post_id));
    PUT_LIT(b, ",\"run_id\":");
    sd_json_append_string(b, run_id, strlen(run_id));
    PUT_LIT(b, ",\"field\":");
    sd_json_append_string(b, field, strlen(field));
    PUT_LIT(b, ",\"source\":");
    sd_json_append_string(b, source, strlen(source));
    sd_buf_putc(b, '}');
}

static const char *not_queued_message(sd_err err)
{
    switch (err) {
    case SD_ERR_QUEUE_FULL:
        return "the field's job was not queued: the job queue was full";
    case SD_ERR_SHUTTING_DOWN:
        return "the field's job was not queued: the instance was shutting down";
    case SD_ERR_STORE_FULL:
        return "the field's job was not queued: the store was full";
    case SD_ERR_UNAVAILABLE:
        return "the field's job was not queued: the store or the workers could not take it";
    default:
        return "the field's job was not queued";
    }
}

/*
 * Submits job (already named by field i of run key) and records how that
 * went: the submit mark dropped, or the field failed with "not_queued".
 * Returns the submit's answer. Either record update may fail (store
 * down, a retry already moved on) without harm: a mark left behind ends
 * with its grace period.
 */
static sd_err field_submit(const sd_uploads *u, const char *key, size_t i, const char *job,
                           const char *post_id, const char *run_id, const char *field,
                           const char *source)
{
    sd_buf in = SD_BUF_INIT;
    job_input(&in, post_id, run_id, field, source);
    sd_err err = SD_ERR_NOMEM;
    if (sd_buf_ok(&in)) {
        sd_job_view jv = SD_JOB_VIEW_INIT;
        err = sd_jobs_submit(u->jobs, "upload", in.data, in.len, job, &jv, NULL);
        sd_job_view_clear(&jv);
    }
    sd_buf_free(&in);

    upload_names n;
    upload_names_of(i, &n);
    sd_err werr;
    if (err == SD_OK) {
        const char *const cond[] = {job};
        sd_assign a[] = {{.name = n.sub, .op = SD_ASSIGN_DEL}};
        sd_update up = {.mode = SD_UPDATE_EXISTING, .cond_field = n.job, .cond_values = cond,
                        .cond_count = 1, .assign = a, .assign_count = 1,
                        .ttl_ms = u->ttl_ms};
        werr = sd_store_update(u->store, UPLOAD_NS, key, &up, NULL);
    } else {
        sd_buf none = SD_BUF_INIT, error = SD_BUF_INIT;
        upload_error_json(&error, "not_queued", not_queued_message(err));
        werr = sd_buf_ok(&error)
                   ? upload_field_finish(u, key, i, job, "failed", &none, &error, 0)
                   : SD_ERR_NOMEM;
        sd_buf_free(&error);
    }
    if (werr != SD_OK && werr != SD_ERR_CONFLICT && werr != SD_ERR_NOT_FOUND)
        sd_warn("upload %s field %zu: state after submit not saved: %s", key, i,
                sd_err_name(werr));
    return err;
}

/* ---- creating a run ---- */

/* The answer to a created run: every field pending, or failed when its
 * job could not be queued. */
static sd_err created_view(const sd_upload_request *req, const sd_err *submitted,
                           sd_upload_view *v)
{
    sd_buf *b = &v->json;
    sd_buf_reset(b);
    PUT_LIT(b, "{\"post_id\":");
    sd_json_append_string(b, req->post_id, strlen(req->post_id));
    PUT_LIT(b, ",\"run_id\":");
    sd_json_append_string(b, req->run_id, strlen(req->run_id));
    PUT_LIT(b, ",\"status\":\"processing_in_background\",\"fields\":[");
    for (size_t i = 0; i < req->nfields; i++) {
        if (i > 0)
            sd_buf_putc(b, ',');
        PUT_LIT(b, "{\"field\":");
        sd_json_append_string(b, req->fields[i].name, strlen(req->fields[i].name));
        if (submitted[i] == SD_OK) {
            PUT_LIT(b, ",\"status\":\"pending\"}");
        } else {
            PUT_LIT(b, ",\"status\":\"failed\",\"error\":");
            upload_error_json(b, "not_queued", not_queued_message(submitted[i]));
            sd_buf_putc(b, '}');
        }
    }
    PUT_LIT(b, "]}");
    snprintf(v->status, sizeof v->status, "processing_in_background");
    v->etag = 0;
    return sd_buf_ok(b) ? SD_OK : SD_ERR_NOMEM;
}

/* Creates the record of a run whose field i gets job jobs[i]. */
static sd_err run_record_create(const sd_uploads *u, const char *key,
                                const sd_upload_request *req,
                                const char (*jobs)[SD_UUID_LEN + 1])
{
    size_t n = req->nfields;
    upload_names *names = calloc(n, sizeof *names);
    sd_assign *a = calloc(5 + 4 * n, sizeof *a);
    if (names == NULL || a == NULL) {
        free(names);
        free(a);
        return SD_ERR_NOMEM;
    }
    int64_t now_ms = sd_now_ms();
    char now[24], deadline[24], count[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(deadline, sizeof deadline, "%" PRId64, now_ms + u->max_age_ms);
    snprintf(count, sizeof count, "%zu", n);
    size_t k = 0;
#define SET(nm, val) \
    a[k++] = (sd_assign){.name = (nm), .op = SD_ASSIGN_SET, .value = (val), .len = strlen(val)}
    SET("post_id", req->post_id);
    SET("run_id", req->run_id);
    SET("nfields", count);
    SET("created_ms", now);
    SET(SD_FIELD_DEADLINE, deadline);
    for (size_t i = 0; i < n; i++) {
        upload_names_of(i, &names[i]);
        SET(names[i].name, req->fields[i].name);
        SET(names[i].source, req->fields[i].source);
        SET(names[i].job, jobs[i]);
        SET(names[i].sub, now);
    }
#undef SET
    sd_update up = {.mode = SD_UPDATE_CREATE, .assign = a, .assign_count = k,
                    .ttl_ms = u->ttl_ms};
    sd_err err = sd_store_update(u->store, UPLOAD_NS, key, &up, NULL);
    free(a);
    free(names);
    return err;
}

sd_err sd_uploads_create(const sd_uploads *u, const sd_upload_request *req,
                         sd_upload_view *v)
{
    size_t n = req->nfields;
    if (n == 0 || n > SD_UPLOAD_FIELDS_MAX)
        return SD_ERR_INVALID;
    char key[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(key, req->post_id, req->run_id);
    char (*jobs)[SD_UUID_LEN + 1] = calloc(n, sizeof *jobs);
    sd_err *submitted = calloc(n, sizeof *submitted);
    if (jobs == NULL || submitted == NULL) {
        free(jobs);
        free(submitted);
        return SD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        sd_uuid_new(jobs[i]);
    sd_err err = run_record_create(u, key, req, (const char (*)[SD_UUID_LEN + 1])jobs);
    if (err == SD_OK) {
        size_t queued = 0;
        sd_err first = SD_OK;
        for (size_t i = 0; i < n; i++) {
            submitted[i] = field_submit(u, key, i, jobs[i], req->post_id, req->run_id,
                                        req->fields[i].name, req->fields[i].source);
            if (submitted[i] == SD_OK)
                queued++;
            else if (first == SD_OK)
                first = submitted[i];
        }
        if (queued == 0) {
            sd_err derr = sd_store_del(u->store, UPLOAD_NS, key);
            if (derr != SD_OK && derr != SD_ERR_NOT_FOUND)
                sd_warn("upload %s: no job queued, and the run not removed: %s", key,
                        sd_err_name(derr));
            err = first;
        } else {
            if (queued < n)
                sd_warn("upload %s: %zu of %zu fields not queued: %s", key, n - queued, n,
                        sd_err_name(first));
            err = created_view(req, submitted, v);
        }
    }
    free(jobs);
    free(submitted);
    return err;
}

/* ---- retry ---- */

/*
 * Gives failed field i (whose job was old, with attempts runs) the new
 * job id job, carrying the attempts over and clearing its outcome, in one
 * update conditioned on old. SD_ERR_CONFLICT when the field moved on (a
 * racing retry), SD_ERR_NOT_FOUND, store errors.
 */
static sd_err field_requeue(const sd_uploads *u, const char *key, size_t i, const char *old,
                            const char *job, int64_t attempts)
{
    upload_names n;
    upload_names_of(i, &n);
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    sd_assign a[] = {
        {.name = n.job, .op = SD_ASSIGN_SET, .value = job, .len = strlen(job)},
        {.name = n.sub, .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = n.carried, .op = SD_ASSIGN_INCR, .incr = attempts},
        {.name = n.status, .op = SD_ASSIGN_DEL},
        {.name = n.extra, .op = SD_ASSIGN_DEL},
        {.name = n.error, .op = SD_ASSIGN_DEL},
        {.name = n.attempts, .op = SD_ASSIGN_DEL},
    };
    const char *const cond[] = {old};
    sd_update up = {.mode = SD_UPDATE_EXISTING, .cond_field = n.job, .cond_values = cond,
                    .cond_count = 1, .assign = a, .assign_count = sizeof a / sizeof a[0],
                    .ttl_ms = u->ttl_ms};
    return sd_store_update(u->store, UPLOAD_NS, key, &up, NULL);
}

sd_err sd_uploads_retry(const sd_uploads *u, const char *post_id, const char *run_id,
                        sd_upload_view *v)
{
    char key[SD_UPLOAD_RUN_KEY_LEN];
    sd_upload_run_key(key, post_id, run_id);
    upload_run run;
    sd_err err = upload_run_read(u, key, &run);
    size_t failed = 0, moved = 0, queued = 0;
    sd_err first = SD_OK;
    for (size_t i = 0; err == SD_OK && i < run.nfields; i++) {
        const upload_field *f = &run.fields[i];
        if (f->state != UPLOAD_FAILED)
            continue;
        failed++;
        char job[SD_UUID_LEN + 1];
        sd_uuid_new(job);
        sd_err rerr = field_requeue(u, key, i, f->job, job, f->attempts);
        if (rerr == SD_ERR_CONFLICT || rerr == SD_ERR_NOT_FOUND)
            continue;
        if (rerr != SD_OK) {
            err = rerr;
            break;
        }
        moved++;
        sd_err serr = field_submit(u, key, i, job, run.post_id, run.run_id, f->name, f->source);
        if (serr == SD_OK)
            queued++;
        else if (first == SD_OK)
            first = serr;
    }
    if (err == SD_OK && failed == 0) {
        err = upload_view_build(&run, v);
        upload_run_clear(&run);
        return err == SD_OK ? SD_ERR_CONFLICT : err;
    }
    upload_run_clear(&run);
    if (err != SD_OK)
        return err;
    if (moved > 0 && queued == 0)
        return first;
    return sd_uploads_status(u, post_id, run_id, v);
}
