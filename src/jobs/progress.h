#ifndef STATUSD_JOBS_PROGRESS_H
#define STATUSD_JOBS_PROGRESS_H

/*
 * Coalesced progress reports of the runs on this instance's workers.
 *
 * A handler may report as often as it likes (an exec program printing a
 * line per item); the record is written at most once per run every
 * progress_interval_ms (counted from the take that started it), with the
 * newest progress and stage (the last value wins). What a report could not write at once stays pending and
 * goes out with the next write that is due: a later report past the
 * interval, the heartbeat's renewal of the run (lease.c, which writes the
 * record anyway, so a pending report costs it nothing more), or the
 * change that ends the run, which is written at once. Writes of one run
 * are made under its lock, so an older value never lands after a newer
 * one.
 *
 * The table maps each running (id, owner) to its run's state, for the
 * heartbeat. Lock order: the table's lock, then a run's.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"
#include "statusd/store.h"

/* What is pending of a run: progress (-1: none) and stage (NULL: none). */
typedef struct job_pending {
    int progress;
    const char *stage;
} job_pending;

/* Appends to a the assignments of p's progress (its text into prog) and
 * stage, those that are set; returns how many (0..2). */
size_t job_pending_assign(const job_pending *p, char prog[16], sd_assign *a);

/* Writes the record change of a run with p's values added to it (neither
 * may be set); SD_OK when it landed, and p is then no longer pending. */
typedef sd_err (*job_progress_write)(void *arg, const job_pending *p);

typedef struct job_progress job_progress;
typedef struct job_progress_table job_progress_table;

/* A table of `slots` runs at most (the workers), in *out. SD_ERR_NOMEM, or
 * SD_ERR_INTERNAL when its lock cannot be made; *out is then NULL. */
sd_err job_progress_table_new(size_t slots, int64_t interval_ms, job_progress_table **out);
void job_progress_table_free(job_progress_table *t);

/* The state of run (id, owner), from the start of its handler to
 * job_progress_end; NULL when out of memory or with every slot taken (the
 * run then writes each report at once). id and owner are kept by pointer
 * and must outlive the run. */
job_progress *job_progress_begin(job_progress_table *t, const char *id, const char *owner);

/*
 * A report (progress -1 or stage NULL leave it): merged into what is
 * pending, and, when the run's last write is progress_interval_ms old,
 * written through write (with the merged values). Without a state (p
 * NULL) it is written at once. Returns write's result, or SD_OK when the
 * report is left pending.
 */
sd_err job_progress_report(job_progress *p, int progress, const char *stage,
                           job_progress_write write, void *arg);

/*
 * For the heartbeat: calls write with what is pending of run (id, owner),
 * which may be nothing (progress -1, stage NULL), under the run's lock;
 * with nothing when the run has no state here. Returns write's result.
 */
sd_err job_progress_beat(job_progress_table *t, const char *id, const char *owner,
                         job_progress_write write, void *arg);

/* Whether run (id, owner) has a state here: its handler runs (from
 * job_progress_begin to job_progress_end, a state having been had). */
bool job_progress_running(job_progress_table *t, const char *id, const char *owner);

/*
 * Ends the run's state: *out gets what is pending, for the change that
 * ends the run, its stage owned by *stage (the caller frees it); a later
 * beat finds nothing. Frees the state (NULL: nothing pending).
 */
void job_progress_end(job_progress_table *t, job_progress *p, job_pending *out, char **stage);

#endif
