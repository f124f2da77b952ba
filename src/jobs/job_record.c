/*
 * What the jobs API (jobs.c), the runs (worker.c) and the heartbeat
 * (lease.c) share about a job's record: see job_record.h.
 */
#include "job_record.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "statusd/json.h"
#include "statusd/log.h"

#include "jobs_internal.h"

const char *job_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

sd_err job_error_json(sd_buf *b, const char *code, const char *message)
{
    sd_buf_reset(b);
    sd_buf_puts(b, "{\"code\":");
    sd_json_append_string(b, code, strlen(code));
    sd_buf_puts(b, ",\"message\":");
    sd_json_append_string(b, message != NULL ? message : "",
                          message != NULL ? strlen(message) : 0);
    sd_buf_putc(b, '}');
    return sd_buf_ok(b) ? SD_OK : SD_ERR_NOMEM;
}

/* Whether an assignment after the i-th of u names the same field. */
static bool assigned_later(const sd_update *u, size_t i)
{
    for (size_t k = i + 1; k < u->assign_count; k++)
        if (strcmp(u->assign[k].name, u->assign[i].name) == 0)
            return true;
    return false;
}

bool job_record_shows(const sd_record *rec, const sd_update *u)
{
    for (size_t i = 0; i < u->assign_count; i++) {
        const sd_assign *a = &u->assign[i];
        if (assigned_later(u, i))
            continue;
        size_t len = 0;
        const char *v = sd_record_get(rec, a->name, &len);
        if (a->op == SD_ASSIGN_DEL && v != NULL)
            return false;
        if (a->op == SD_ASSIGN_SET &&
            (v == NULL || len != a->len || memcmp(v, a->value, len) != 0))
            return false;
    }
    return true;
}

sd_err job_persist(const atomic_int *cancel, sd_err (*step)(void *arg), void *arg,
                   const char *id)
{
    int64_t backoff = 50;
    for (;;) {
        sd_err err = step(arg);
        if ((err != SD_ERR_UNAVAILABLE && err != SD_ERR_STORE_FULL) || cancel == NULL ||
            atomic_load(cancel) == SD_RUN_SHUTDOWN)
            return err;
        sd_debug("job %s: store unavailable, retrying in %lld ms", id, (long long)backoff);
        int64_t until = sd_mono_ms() + backoff;
        while (sd_mono_ms() < until && atomic_load(cancel) != SD_RUN_SHUTDOWN) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        backoff = backoff >= 500 ? 1000 : backoff * 2;
    }
}

sd_handler *job_handler_for(const sd_jobs *j, const char *kind)
{
    for (size_t i = 0; i < j->nkinds; i++)
        if (strcmp(j->kinds[i].kind, kind) == 0)
            return j->kinds[i].handler;
    return NULL;
}

sd_err job_token_new(char out[JOB_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[JOB_TOKEN_LEN / 2];
    if (!sd_random_bytes(raw, sizeof raw))
        return SD_ERR_INTERNAL;
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[JOB_TOKEN_LEN] = '\0';
    return SD_OK;
}

sd_err job_handoff_queue(sd_jobs *j, const char *id)
{
    sd_err err = sd_queue_push(j->store, HANDOFF_QUEUE, id, j->timeout_ms, 0, NULL);
    return err == SD_ERR_EXISTS ? SD_OK : err;
}

void job_log(const char *event, const char *id, const char *kind, int64_t attempt,
             const char *fmt, ...)
{
    if (!sd_log_enabled(SD_LOG_INFO))
        return;
    char detail[512] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    bool ends = strcmp(event, "queued") != 0 && strcmp(event, "started") != 0;
    sd_log_fields f = {.job_id = id, .kind = kind, .attempt = attempt,
                       .outcome = ends ? event : NULL};
    sd_log_with(SD_LOG_INFO, &f, "job %s%s%s", event, detail[0] != '\0' ? ": " : "", detail);
}
