/*
 * Coalesced progress reports (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"
#include "job_record.h"

struct job_progress {
    pthread_mutex_t lock;
    const char *id, *owner;
    int64_t interval_ms;
    int64_t next_ms;       /* monotonic time the next write may go */
    int progress;          /* pending, -1: none */
    bool has_stage;        /* stage pending */
    char *stage;           /* its text, of stage_cap bytes */
    size_t stage_cap;
};

struct job_progress_table {
    pthread_mutex_t lock;
    int64_t interval_ms;
    size_t slots;
    job_progress *run[];   /* slots entries, NULL when free */
};

size_t job_pending_assign(const job_pending *p, char prog[16], sd_assign *a)
{
    size_t n = 0;
    if (p->progress >= 0) {
        snprintf(prog, 16, "%d", p->progress);
        a[n++] = (sd_assign){.name = JOB_F_PROGRESS, .op = SD_ASSIGN_SET, .value = prog,
                             .len = strlen(prog)};
    }
    if (p->stage != NULL)
        a[n++] = (sd_assign){.name = JOB_F_STAGE, .op = SD_ASSIGN_SET, .value = p->stage,
                             .len = strlen(p->stage)};
    return n;
}

sd_err job_progress_table_new(size_t slots, int64_t interval_ms, job_progress_table **out)
{
    *out = NULL;
    job_progress_table *t = calloc(1, sizeof *t + slots * sizeof t->run[0]);
    if (t == NULL)
        return SD_ERR_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return SD_ERR_INTERNAL;
    }
    t->interval_ms = interval_ms;
    t->slots = slots;
    *out = t;
    return SD_OK;
}

void job_progress_table_free(job_progress_table *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

job_progress *job_progress_begin(job_progress_table *t, const char *id, const char *owner)
{
    if (t == NULL)
        return NULL;
    job_progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->id = id;
    p->owner = owner;
    p->interval_ms = t->interval_ms;
    /* The take that started the run has just written the record: the
     * first report waits for the interval as any other, so a run shorter
     * than it costs no progress write at all. */
    p->next_ms = sd_mono_ms() + t->interval_ms;
    p->progress = -1;
    pthread_mutex_lock(&t->lock);
    size_t i = 0;
    while (i < t->slots && t->run[i] != NULL)
        i++;
    if (i < t->slots)
        t->run[i] = p;
    pthread_mutex_unlock(&t->lock);
    if (i == t->slots) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

/* Keeps stage as the pending one; false when out of memory. */
static bool stage_keep(job_progress *p, const char *stage)
{
    size_t len = strlen(stage);
    if (len >= p->stage_cap) {
        char *s = realloc(p->stage, len + 1);
        if (s == NULL)
            return false;
        p->stage = s;
        p->stage_cap = len + 1;
    }
    memcpy(p->stage, stage, len + 1);
    p->has_stage = true;
    return true;
}

/* What is pending of p, by its lock. */
static job_pending pending_of(const job_progress *p)
{
    return (job_pending){p->progress, p->has_stage ? p->stage : NULL};
}

/* Writes what is pending through write, by p's lock; on SD_OK nothing is
 * pending any more and the next write waits for the interval. */
static sd_err pending_write(job_progress *p, job_progress_write write, void *arg)
{
    job_pending now = pending_of(p);
    sd_err err = write(arg, &now);
    if (err == SD_OK) {
        p->progress = -1;
        p->has_stage = false;
        p->next_ms = sd_mono_ms() + p->interval_ms;
    }
    return err;
}

sd_err job_progress_report(job_progress *p, int progress, const char *stage,
                           job_progress_write write, void *arg)
{
    if (p == NULL) {
        job_pending now = {progress, stage};
        return write(arg, &now);
    }
    pthread_mutex_lock(&p->lock);
    sd_err err = SD_OK;
    if (progress >= 0)
        p->progress = progress;
    bool kept = stage == NULL || stage_keep(p, stage);
    if (!kept) {
        /* No room to keep it: this report goes out now, as it is. */
        job_pending now = {p->progress, stage};
        err = write(arg, &now);
        if (err == SD_OK)
            p->progress = -1;
    } else if (sd_mono_ms() >= p->next_ms) {
        err = pending_write(p, write, arg);
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* The state of run (id, owner), or NULL; the caller holds t->lock. */
static job_progress *run_find(const job_progress_table *t, const char *id, const char *owner)
{
    for (size_t i = 0; i < t->slots; i++)
        if (t->run[i] != NULL && strcmp(t->run[i]->id, id) == 0 &&
            strcmp(t->run[i]->owner, owner) == 0)
            return t->run[i];
    return NULL;
}

sd_err job_progress_beat(job_progress_table *t, const char *id, const char *owner,
                         job_progress_write write, void *arg)
{
    job_progress *p = NULL;
    if (t != NULL) {
        pthread_mutex_lock(&t->lock);
        p = run_find(t, id, owner);
    }
    sd_err err;
    if (p != NULL) {
        pthread_mutex_lock(&p->lock);
        err = pending_write(p, write, arg);
        pthread_mutex_unlock(&p->lock);
    } else {
        job_pending none = {-1, NULL};
        err = write(arg, &none);
    }
    if (t != NULL)
        pthread_mutex_unlock(&t->lock);
    return err;
}

bool job_progress_running(job_progress_table *t, const char *id, const char *owner)
{
    if (t == NULL)
        return false;
    pthread_mutex_lock(&t->lock);
    bool running = run_find(t, id, owner) != NULL;
    pthread_mutex_unlock(&t->lock);
    return running;
}

void job_progress_end(job_progress_table *t, job_progress *p, job_pending *out, char **stage)
{
    *out = (job_pending){-1, NULL};
    *stage = NULL;
    if (p == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->slots; i++)
        if (t->run[i] == p)
            t->run[i] = NULL;
    pthread_mutex_unlock(&t->lock);
    /* Out of the table: no beat holds or takes its lock any more. */
    out->progress = p->progress;
    if (p->has_stage) {
        *stage = p->stage;
        p->stage = NULL;
        out->stage = *stage;
    }
    pthread_mutex_destroy(&p->lock);
    free(p->stage);
    free(p);
}
