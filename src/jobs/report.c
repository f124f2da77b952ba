/*
 * The app's reports on the run it carries (PATCH /status/<id>): progress,
 * stage, and the end of the run. See statusd/jobs.h for the contract.
 *
 * A report is authorised by the run's token, which the record keeps
 * (token; earlier runs' in old_tokens), so any instance on the store can
 * judge it. The change is conditioned on the record's run field as read
 * with the token: a run that ended meanwhile (a cancel, a timeout, the
 * retry of a failed attempt) makes the report conflict, and it is judged
 * again against the record as it now stands. Every report sets
 * heartbeat_ms, which is what keeps a run the app carries alive
 * (lease.c), and renews the job's TTL.
 */
#include <stdio.h>
#include <string.h>

#include "statusd/jobs.h"
#include "statusd/log.h"

#include "job_view.h"
#include "jobs_internal.h"

/* Rounds of read and conditioned change before giving up on a job that
 * keeps changing under the report. */
#define REPORT_ROUNDS 4

/* Equal tokens, in time that depends on the lengths only. */
static bool token_equal(const char *given, const char *want, size_t want_len)
{
    size_t given_len = strlen(given);
    unsigned char diff = given_len != want_len;
    for (size_t i = 0; i < want_len; i++)
        diff |= (unsigned char)(want[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

/* True when token is one of the space-separated words of list. */
static bool token_in(const char *token, const char *list)
{
    bool found = false;
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        found |= token_equal(token, p, n);
        p = end != NULL ? end + 1 : NULL;
    }
    return found;
}

/* Who may report, judged from the record: SD_OK for the current run. */
static sd_err report_judge(const sd_record *rec, const char *token)
{
    const char *status = sd_record_get(rec, JOB_F_STATUS, NULL);
    const char *current = sd_record_get(rec, JOB_F_TOKEN, NULL);
    bool is_current = token == NULL || (current != NULL &&
                                        token_equal(token, current, strlen(current)));
    bool is_old = !is_current && token_in(token, sd_record_get(rec, JOB_F_OLD_TOKENS, NULL));
    if (!is_current && !is_old)
        return SD_ERR_UNAUTHORIZED;
    if (status == NULL || job_status_terminal(status))
        return SD_ERR_JOB_FINISHED;
    if (is_old || strcmp(status, "processing") != 0 ||
        sd_record_get(rec, JOB_F_RUN, NULL) == NULL)
        return SD_ERR_STALE_RUN;
    return SD_OK;
}

/* The change a report makes, into a (room for 10). Returns the count. */
static size_t report_assign(const sd_job_report *rep, const char *now, const char *progress,
                            sd_assign *a)
{
    size_t n = 0;
    a[n++] = (sd_assign){.name = JOB_F_UPDATED_MS, .op = SD_ASSIGN_SET, .value = now,
                         .len = strlen(now)};
    a[n++] = (sd_assign){.name = JOB_F_HEARTBEAT_MS, .op = SD_ASSIGN_SET, .value = now,
                         .len = strlen(now)};
    if (rep->progress >= 0)
        a[n++] = (sd_assign){.name = JOB_F_PROGRESS, .op = SD_ASSIGN_SET, .value = progress,
                             .len = strlen(progress)};
    if (rep->stage != NULL)
        a[n++] = (sd_assign){.name = JOB_F_STAGE, .op = SD_ASSIGN_SET, .value = rep->stage,
                             .len = strlen(rep->stage)};
    if (rep->status == NULL)
        return n;
    a[n++] = (sd_assign){.name = JOB_F_STATUS, .op = SD_ASSIGN_SET, .value = rep->status,
                         .len = strlen(rep->status)};
    a[n++] = (sd_assign){.name = JOB_F_RUN, .op = SD_ASSIGN_DEL};
    if (strcmp(rep->status, "completed") == 0) {
        a[n++] = (sd_assign){.name = JOB_F_PROGRESS, .op = SD_ASSIGN_SET, .value = "100", .len = 3};
        a[n++] = (sd_assign){.name = JOB_F_RESULT, .op = SD_ASSIGN_SET, .value = rep->result,
                             .len = rep->result_len};
        a[n++] = (sd_assign){.name = JOB_F_COMPLETIONS, .op = SD_ASSIGN_INCR, .incr = 1};
    } else {
        a[n++] = (sd_assign){.name = JOB_F_ERROR, .op = SD_ASSIGN_SET, .value = rep->error,
                             .len = rep->error_len};
    }
    return n;
}

sd_err sd_jobs_report(sd_jobs *j, const char *id, const char *token,
                      const sd_job_report *rep, sd_job_view *view, char *why,
                      size_t whylen)
{
    sd_err err = SD_ERR_CONFLICT;
    sd_record rec = SD_RECORD_INIT;
    for (int round = 0; round < REPORT_ROUNDS && err == SD_ERR_CONFLICT; round++) {
        sd_record_clear(&rec);
        err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
        if (err != SD_OK)
            break;
        err = report_judge(&rec, token);
        if (err != SD_OK)
            break;
        int64_t current = 0;
        (void)sd_record_get_i64(&rec, JOB_F_PROGRESS, &current);
        if (rep->progress >= 0 && rep->progress < current) {
            snprintf(why, whylen, "'progress' %d is lower than the job's progress %lld",
                     rep->progress, (long long)current);
            err = SD_ERR_INVALID;
            break;
        }
        char now[24], progress[24];
        job_i64(now, sd_now_ms());
        job_i64(progress, rep->progress);
        sd_assign a[10];
        const char *run = sd_record_get(&rec, JOB_F_RUN, NULL);
        /* A report that ends the run is taken even by a full memory
         * store: the app's finished work must not be lost for space. */
        sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_RUN, .cond_values = &run,
                       .cond_count = 1, .assign = a,
                       .assign_count = report_assign(rep, now, progress, a),
                       .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms,
                       .settles = rep->status != NULL};
        sd_record after = SD_RECORD_INIT;
        err = sd_store_update(j->store, JOB_NS, id, &u, &after);
        if (err == SD_OK) {
            sd_record_clear(&rec);
            rec = after;
        } else {
            sd_record_clear(&after);
        }
    }
    if (err == SD_OK || err == SD_ERR_JOB_FINISHED) {
        sd_err verr = job_view_build(id, &rec, view);
        if (verr != SD_OK)
            err = verr;
    }
    if (err == SD_OK && rep->status != NULL) {
        const char *kind = sd_record_get(&rec, JOB_F_KIND, NULL);
        sd_job_metrics_outcome(j->metrics, kind, strcmp(rep->status, "completed") == 0
                                                     ? SD_JOB_COMPLETED
                                                     : SD_JOB_FAILED);
        job_log(rep->status, id, kind, 0, "as the app reported");
    }
    sd_record_clear(&rec);
    return err;
}
