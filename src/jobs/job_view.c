/*
 * The client's view of a job record (see jobs_internal.h for its fields):
 * JSON assembled by concatenation, an ETag validator, the status.
 */
#include "job_view.h"
#include "job_record.h"

#include <string.h>

#include "statusd/json.h"

static const char *const TERMINAL[] = {"completed", "failed", "canceled"};

bool job_status_terminal(const char *status)
{
    for (size_t i = 0; i < sizeof TERMINAL / sizeof TERMINAL[0]; i++)
        if (strcmp(status, TERMINAL[i]) == 0)
            return true;
    return false;
}

void sd_job_view_clear(sd_job_view *v)
{
    sd_buf_free(&v->json);
    v->etag = 0;
    v->terminal = false;
    v->id[0] = '\0';
    v->status[0] = '\0';
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define PUT_LIT(b, lit) sd_buf_append((b), (lit), sizeof(lit) - 1)

static void put_i64(sd_buf *b, int64_t v)
{
    char digits[SD_I64_TEXT_LEN];
    size_t i = sd_i64_text(v, digits);
    sd_buf_append(b, digits + i, sizeof digits - i);
}

/* A time field (epoch ms) as an RFC 3339 string, null when absent or not
 * a number. */
static void put_time(sd_buf *b, const sd_record *rec, const char *field)
{
    int64_t ms = 0;
    if (sd_record_get_i64(rec, field, &ms) != SD_OK) {
        PUT_LIT(b, "null");
        return;
    }
    char ts[SD_TIME_LEN + 2];
    ts[0] = '"';
    sd_format_time(ms, ts + 1);
    ts[SD_TIME_LEN] = '"';
    sd_buf_append(b, ts, SD_TIME_LEN + 1);
}

/* A field that holds JSON text, as is; null when absent or empty. */
static void put_json(sd_buf *b, const char *value, size_t len)
{
    if (value == NULL || len == 0)
        PUT_LIT(b, "null");
    else
        sd_buf_append(b, value, len);
}

/* s[0..len) into out, cut to fit cap bytes with the NUL (snprintf's "%s"
 * without its cost). */
static void copy_cut(char *out, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/*
 * Builds the client's view of a job record. The ETag covers everything
 * but expires_at, which moves on every poll: a poll that only renewed the
 * TTL still matches the client's validator. This is the poll's one
 * serialisation: input, result and error are stored as JSON text and
 * copied as they are, only the text fields are escaped, and the buffer
 * is sized once from the record.
 */
sd_err job_view_build(const char *id, const sd_record *rec, sd_job_view *v)
{
    return job_view_build_as(id, rec, true, v);
}

sd_err job_view_build_as(const char *id, const sd_record *rec, bool full, sd_job_view *v)
{
    sd_buf *b = &v->json;
    sd_buf_reset(b);
    const char *status = sd_record_get(rec, JOB_F_STATUS, NULL);
    const char *kind = sd_record_get(rec, JOB_F_KIND, NULL);
    if (status == NULL || kind == NULL)
        return SD_ERR_INTERNAL;
    size_t status_len = strlen(status), kind_len = strlen(kind);
    size_t stage_len = 0, input_len = 0, result_len = 0, error_len = 0;
    const char *stage = sd_record_get(rec, JOB_F_STAGE, &stage_len);
    const char *input = sd_record_get(rec, JOB_F_INPUT, &input_len);
    const char *result = sd_record_get(rec, JOB_F_RESULT, &result_len);
    const char *error = sd_record_get(rec, JOB_F_ERROR, &error_len);
    int64_t progress = 0, attempts = 0;
    (void)sd_record_get_i64(rec, JOB_F_PROGRESS, &progress);
    (void)sd_record_get_i64(rec, JOB_F_ATTEMPTS, &attempts);

    /* Room for the keys, numbers and times and the fields, with a little
     * for escapes; more is grown if needed. */
    sd_buf_reserve(b, 320 + strlen(id) + kind_len + status_len + stage_len + input_len +
                          result_len + error_len);
    PUT_LIT(b, "{\"id\":\"");
    sd_buf_puts(b, id);
    PUT_LIT(b, "\",\"kind\":");
    sd_json_append_string(b, kind, kind_len);
    PUT_LIT(b, ",\"status\":");
    sd_json_append_string(b, status, status_len);
    PUT_LIT(b, ",\"progress\":");
    put_i64(b, progress);
    PUT_LIT(b, ",\"stage\":");
    if (stage != NULL)
        sd_json_append_string(b, stage, stage_len);
    else
        PUT_LIT(b, "null");
    if (full) {
        PUT_LIT(b, ",\"input\":");
        put_json(b, input, input_len);
        PUT_LIT(b, ",\"result\":");
        put_json(b, result, result_len);
    }
    PUT_LIT(b, ",\"error\":");
    put_json(b, error, error_len);
    PUT_LIT(b, ",\"attempts\":");
    put_i64(b, attempts);
    /* Set only while the job waits to be retried. */
    PUT_LIT(b, ",\"retry_at\":");
    put_time(b, rec, JOB_F_RETRY_MS);
    PUT_LIT(b, ",\"created_at\":");
    put_time(b, rec, JOB_F_CREATED_MS);
    PUT_LIT(b, ",\"updated_at\":");
    put_time(b, rec, JOB_F_UPDATED_MS);
    if (!sd_buf_ok(b))
        return SD_ERR_NOMEM;
    v->etag = fnv1a(b->data, b->len);

    char ts[SD_TIME_LEN];
    sd_format_time(rec->expires_ms, ts);
    PUT_LIT(b, ",\"expires_at\":\"");
    sd_buf_append(b, ts, SD_TIME_LEN - 1);
    PUT_LIT(b, "\"}");
    if (!sd_buf_ok(b))
        return SD_ERR_NOMEM;
    v->terminal = job_status_terminal(status);
    v->expires_ms = rec->expires_ms;
    copy_cut(v->id, sizeof v->id, id, strlen(id));
    copy_cut(v->status, sizeof v->status, status, status_len);
    return SD_OK;
}
