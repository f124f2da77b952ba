/*
 * builtin:demo stands in for real work, so a fresh install runs jobs with
 * no setup. It has three stages, each reported as it starts and lasting
 * demo_step_ms:
 *   searching (progress 33), analyzing (66), summarizing (90)
 * and then reports progress 100 and completes with {"summary": "..."}
 * naming the query. 100 is kept for the very end so that a poll never sees
 * 100 on a job that can still fail or be canceled.
 *
 * Input: the job's {"query": "...", "params": {...}}; params.fail = true
 * fails the run in the analyzing stage with "demo_failure". The cancel flag
 * is looked at every few milliseconds of a pause, and the job timeout
 * applies as it does to any handler.
 *
 * Jobs of kind "upload" (one field of POST /uploads) get an upload
 * instead: input {"post_id", "run_id", "field", "source"}; one stage,
 * uploading (progress 50), lasting demo_step_ms, then the result
 * {"media_id": n, "url": "https://media.example/<n>"}, n a positive
 * integer taken from the job id, so each upload has its own. A source
 * that starts with "fail:" fails the upload with "demo_failure".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "jobs/handlers.h"
#include "statusd/json.h"
#include "statusd/util.h"

/* How often a pause looks at the cancel flag. */
#define DEMO_POLL_MS 5

typedef struct demo_handler {
    sd_handler base;
    int64_t step_ms;
} demo_handler;

typedef enum pause_end {
    PAUSE_DONE,
    PAUSE_CANCELED,
    PAUSE_TIMED_OUT
} pause_end;

/* Sleeps ms, or less when the run is canceled or the deadline passes.
 * A zero pause still looks at both once. */
static pause_end demo_pause(const sd_job_run *job, int64_t ms, int64_t deadline)
{
    int64_t end = sd_mono_ms() + ms;
    for (;;) {
        if (sd_run_stopping(job))
            return PAUSE_CANCELED;
        int64_t now = sd_mono_ms();
        if (now >= deadline)
            return PAUSE_TIMED_OUT;
        if (now >= end)
            return PAUSE_DONE;
        int64_t step = end - now;
        if (deadline - now < step)
            step = deadline - now;
        if (step > DEMO_POLL_MS)
            step = DEMO_POLL_MS;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL); /* EINTR only shortens one step */
    }
}

static void demo_report(const sd_job_run *job, int progress, const char *stage)
{
    if (job->report != NULL)
        job->report(job->report_arg, progress, stage);
}

/* The result document, compact JSON owned by the caller; NULL when out of
 * memory. cJSON does the escaping, so any query text is safe. */
static char *demo_result(const char *query)
{
    sd_buf text = SD_BUF_INIT;
    sd_buf_printf(&text, "Demo summary for \"%s\": sources searched, analyzed and summarized.",
                  query);
    if (!sd_buf_ok(&text)) {
        sd_buf_free(&text);
        return NULL;
    }
    char *printed = NULL;
    cJSON *doc = cJSON_CreateObject();
    if (doc != NULL && cJSON_AddStringToObject(doc, "summary", text.data) != NULL)
        printed = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    sd_buf_free(&text);
    if (printed == NULL)
        return NULL;
    /* cJSON's allocator is malloc here; copy so the outcome's free() is
     * right whatever hooks cJSON was given. */
    size_t len = strlen(printed);
    char *result = malloc(len + 1);
    if (result != NULL)
        memcpy(result, printed, len + 1);
    cJSON_free(printed);
    return result;
}

/* The media id of an upload: the job id's first 12 hex digits (48 bits,
 * exact in any JSON number), at least 1. */
static int64_t demo_media_id(const char *job_id)
{
    int64_t v = 0;
    int digits = 0;
    for (const char *p = job_id != NULL ? job_id : ""; *p != '\0' && digits < 12; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (d < 0)
            continue;
        v = v * 16 + d;
        digits++;
    }
    return v > 0 ? v : 1;
}

/* A demo upload of one field (see the top of the file). */
static sd_err demo_upload(const demo_handler *d, const sd_job_run *job, sd_outcome *out)
{
    int64_t deadline = job->timeout_ms > 0 ? sd_mono_ms() + job->timeout_ms : INT64_MAX;
    cJSON *input = NULL;
    sd_err err = sd_json_parse(job->input != NULL ? job->input : "",
                               job->input != NULL ? job->input_len : 0,
                               SD_JSON_MAX_DEPTH, &input);
    if (err == SD_ERR_NOMEM) {
        sd_outcome_fail(out, "out_of_memory", "out of memory reading the job input");
        return SD_ERR_NOMEM;
    }
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(input, "source");
    if (err != SD_OK || !cJSON_IsObject(input) || !cJSON_IsString(source)) {
        cJSON_Delete(input);
        sd_outcome_fail(out, "invalid_input",
                        "upload input must be a JSON object with a \"source\" string");
        return SD_OK;
    }
    bool fail = strncmp(source->valuestring, "fail:", 5) == 0;
    cJSON_Delete(input);

    if (sd_run_stopping(job)) {
        out->kind = SD_OUTCOME_CANCELED;
        return SD_OK;
    }
    demo_report(job, 50, "uploading");
    pause_end end = demo_pause(job, d->step_ms, deadline);
    if (end == PAUSE_CANCELED) {
        out->kind = SD_OUTCOME_CANCELED;
        return SD_OK;
    }
    if (end == PAUSE_TIMED_OUT) {
        sd_outcome_fail_timeout(out, job->timeout_ms);
        return SD_OK;
    }
    if (fail) {
        sd_outcome_fail(out, "demo_failure",
                        "the demo handler failed the upload because its source starts "
                        "with \"fail:\"");
        return SD_OK;
    }
    int64_t media_id = demo_media_id(job->id);
    sd_buf text = SD_BUF_INIT;
    sd_buf_printf(&text, "{\"media_id\":%lld,\"url\":\"https://media.example/%lld\"}",
                  (long long)media_id, (long long)media_id);
    size_t len = 0;
    char *result = sd_buf_steal(&text, &len);
    if (result == NULL) {
        sd_outcome_fail(out, "out_of_memory", "out of memory building the result");
        return SD_ERR_NOMEM;
    }
    demo_report(job, 100, NULL);
    out->kind = SD_OUTCOME_COMPLETED;
    out->result = result;
    return SD_OK;
}

static sd_err demo_run(sd_handler *h, const sd_job_run *job, sd_outcome *out)
{
    static const struct {
        const char *name;
        int progress;
    } stages[] = {{"searching", 33}, {"analyzing", 66}, {"summarizing", 90}};
    const demo_handler *d = (const demo_handler *)h;
    memset(out, 0, sizeof *out);
    if (job->kind != NULL && strcmp(job->kind, "upload") == 0)
        return demo_upload(d, job, out);
    int64_t deadline = job->timeout_ms > 0 ? sd_mono_ms() + job->timeout_ms : INT64_MAX;

    cJSON *input = NULL;
    sd_err err = sd_json_parse(job->input != NULL ? job->input : "",
                               job->input != NULL ? job->input_len : 0,
                               SD_JSON_MAX_DEPTH, &input);
    if (err == SD_ERR_NOMEM) {
        sd_outcome_fail(out, "out_of_memory", "out of memory reading the job input");
        return SD_ERR_NOMEM;
    }
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(input, "query");
    if (err != SD_OK || !cJSON_IsObject(input) || !cJSON_IsString(query)) {
        cJSON_Delete(input);
        sd_outcome_fail(out, "invalid_input",
                        "job input must be a JSON object with a \"query\" string");
        return SD_OK;
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(input, "params");
    bool fail = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "fail"));

    pause_end end = PAUSE_DONE;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        /* Nothing is reported for a run canceled before its first stage. */
        if (sd_run_stopping(job)) {
            end = PAUSE_CANCELED;
            break;
        }
        demo_report(job, stages[i].progress, stages[i].name);
        end = demo_pause(job, d->step_ms, deadline);
        if (end != PAUSE_DONE)
            break;
        if (fail && i == 1) {
            cJSON_Delete(input);
            sd_outcome_fail(out, "demo_failure",
                            "the demo handler failed because params.fail is true");
            return SD_OK;
        }
    }
    if (end == PAUSE_CANCELED) {
        cJSON_Delete(input);
        out->kind = SD_OUTCOME_CANCELED;
        return SD_OK;
    }
    if (end == PAUSE_TIMED_OUT) {
        cJSON_Delete(input);
        sd_outcome_fail_timeout(out, job->timeout_ms);
        return SD_OK;
    }

    char *result = demo_result(query->valuestring);
    cJSON_Delete(input);
    if (result == NULL) {
        sd_outcome_fail(out, "out_of_memory", "out of memory building the result");
        return SD_ERR_NOMEM;
    }
    demo_report(job, 100, NULL);
    out->kind = SD_OUTCOME_COMPLETED;
    out->result = result;
    return SD_OK;
}

static void demo_free(sd_handler *h)
{
    free(h);
}

static const sd_handler_ops demo_ops = {
    .scheme = "builtin",
    .run = demo_run,
    .free = demo_free,
};

sd_err sd_demo_new(const sd_handler_opts *opts, sd_handler **out)
{
    *out = NULL;
    demo_handler *d = calloc(1, sizeof *d);
    if (d == NULL)
        return SD_ERR_NOMEM;
    d->base.ops = &demo_ops;
    d->step_ms = opts->demo_step_ms;
    *out = &d->base;
    return SD_OK;
}
