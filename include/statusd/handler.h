#ifndef STATUSD_HANDLER_H
#define STATUSD_HANDLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * Job handlers: the code that does a job's work, one per job kind, chosen
 * by a spec string from the config:
 *   builtin:demo                   three stages with progress, then a summary
 *   exec:/path/to/program [args]   a program speaking JSON lines (see exec.c)
 *   http://... or https://...      a POST to the app (see http_handler.c)
 *   external                       no run at all: the app does the work and
 *                                  reports through PATCH /status/<id>
 * A handler knows nothing of the store or of statusd's own API: it gets
 * the job's input and a way to report progress, watches the cancel flag,
 * and returns an outcome. One handler object serves many jobs at once,
 * from any thread.
 */

/* Values of the cancel flag a handler watches. */
enum {
    SD_RUN_GO = 0,
    SD_RUN_CANCEL = 1,     /* the job was canceled */
    SD_RUN_SHUTDOWN = 2    /* the instance is stopping */
};

typedef struct sd_job_run {
    const char *id;               /* the job id (STATUSD_JOB_ID for exec) */
    const char *kind;
    int64_t attempt;              /* 1 for the first run (STATUSD_ATTEMPT for exec) */
    const char *input;            /* the job's input, JSON text */
    size_t input_len;
    /* The run's token (SD_HANDLER_TOKEN handlers), with which the app
     * reports through PATCH /status/<id>; NULL for the others. */
    const char *run_token;
    int64_t timeout_ms;           /* 0 = none */
    const atomic_int *cancel;     /* SD_RUN_*; never NULL */
    /* Progress report: progress -1 leaves it, stage NULL leaves it. May be
     * called any number of times, from the thread running the handler. */
    void (*report)(void *arg, int progress, const char *stage);
    void *report_arg;
} sd_job_run;

typedef enum sd_outcome_kind {
    SD_OUTCOME_COMPLETED = 0,
    SD_OUTCOME_FAILED,
    SD_OUTCOME_CANCELED,         /* stopped because the cancel flag was set */
    SD_OUTCOME_HANDED_OFF        /* the app took the job and reports itself */
} sd_outcome_kind;

#define SD_ERROR_CODE_MAX 48

/* What a run ended with. The strings are owned by the outcome; release
 * with sd_outcome_clear(). */
typedef struct sd_outcome {
    sd_outcome_kind kind;
    char *result;                       /* COMPLETED: JSON text, or NULL for null */
    char error_code[SD_ERROR_CODE_MAX]; /* FAILED: "handler_failed", "timeout", ... */
    char *error_message;                /* FAILED: text */
    bool final;                         /* FAILED: never retry (the app refused) */
    int64_t retry_after_ms;             /* FAILED: no retry sooner than this */
} sd_outcome;

void sd_outcome_clear(sd_outcome *o);
/* Sets a FAILED outcome; the message is copied (truncated to 4 KiB). */
void sd_outcome_fail(sd_outcome *o, const char *code, const char *message);

typedef struct sd_handler sd_handler;

/* What a handler asks of the runs (sd_handler_ops.flags). */
enum {
    SD_HANDLER_TOKEN = 1u << 0,    /* each run gets a run token */
    SD_HANDLER_EXTERNAL = 1u << 1  /* never run: jobs start processing at submit */
};

typedef struct sd_handler_ops {
    const char *scheme;
    unsigned flags;
    /* Runs one job to its end. SD_OK with *out set in every case the job
     * itself decided (completed, failed, canceled); another error only when
     * statusd could not run it at all (out of memory, spawn failed), and
     * *out then says so as FAILED. */
    sd_err (*run)(sd_handler *h, const sd_job_run *job, sd_outcome *out);
    void (*free)(sd_handler *h);
} sd_handler_ops;

struct sd_handler {
    const sd_handler_ops *ops;
};

typedef struct sd_handler_opts {
    int64_t demo_step_ms;   /* builtin:demo's pause between stages */
    int64_t kill_grace_ms;  /* exec: SIGTERM to SIGKILL */
    const char *env_pass;   /* exec: handler_env, names passed through; NULL = none */
} sd_handler_opts;

static inline unsigned sd_handler_flags(const sd_handler *h) { return h->ops->flags; }

/* Builds a handler from its spec. SD_ERR_INVALID with a one-line reason in
 * err for an unknown scheme, an unknown builtin, or an exec program that
 * is not an executable file. The caller frees it with sd_handler_free(). */
sd_err sd_handler_new(const char *spec, const sd_handler_opts *opts,
                      sd_handler **out, char *err, size_t errlen);

static inline sd_err sd_handler_run(sd_handler *h, const sd_job_run *job,
                                    sd_outcome *out)
{ return h->ops->run(h, job, out); }

static inline void sd_handler_free(sd_handler *h)
{ if (h != NULL) h->ops->free(h); }

#endif
