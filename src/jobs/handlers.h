#ifndef STATUSD_JOBS_HANDLERS_H
#define STATUSD_JOBS_HANDLERS_H

/*
 * Private to the handler implementations: the constructors the factory in
 * handler.c chooses between, and the pieces they share. Not part of the
 * public interface (include/statusd/handler.h is).
 */

#include <stdbool.h>
#include <stdint.h>

#include "statusd/handler.h"

/* builtin:demo. *out is owned by the caller (sd_handler_free). SD_ERR_NOMEM. */
sd_err sd_demo_new(const sd_handler_opts *opts, sd_handler **out);

/*
 * exec:<args>, where args is the text after "exec:" (program path and
 * arguments). SD_ERR_INVALID with a one-line reason in err when the text
 * does not split, or the program is not an absolute path to an executable
 * regular file; SD_ERR_NOMEM. *out is owned by the caller.
 */
sd_err sd_exec_new(const char *args, const sd_handler_opts *opts,
                   sd_handler **out, char *err, size_t errlen);

/*
 * http://... or https://... (the whole spec is the URL). SD_ERR_INVALID
 * with a reason in err for a URL libcurl cannot parse; SD_ERR_INTERNAL
 * when libcurl cannot be initialised; SD_ERR_NOMEM. *out is owned by the
 * caller.
 */
sd_err sd_http_handler_new(const char *url, sd_handler **out, char *err, size_t errlen);


/*
 * Splits spec text into words (see handler.c for the quoting rules). On
 * SD_OK *argv_out is a NULL-terminated array of at least one word, freed
 * with sd_handler_free_words(). SD_ERR_INVALID with the reason in err (an
 * unterminated quote, no word at all), SD_ERR_NOMEM.
 */
sd_err sd_handler_split_words(const char *s, char ***argv_out, char *err, size_t errlen);
void sd_handler_free_words(char **argv);

/* Sets *o to FAILED "timeout", "job exceeded job_timeout of N s", the one
 * wording both handlers use. */
void sd_outcome_fail_timeout(sd_outcome *o, int64_t timeout_ms);

/* True when the cancel flag asks the run to stop (SD_RUN_CANCEL or
 * SD_RUN_SHUTDOWN). */
static inline bool sd_run_stopping(const sd_job_run *job)
{
    return atomic_load(job->cancel) != SD_RUN_GO;
}

#endif
