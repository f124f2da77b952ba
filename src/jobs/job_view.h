#ifndef STATUSD_JOB_VIEW_H
#define STATUSD_JOB_VIEW_H

#include <stdbool.h>

#include "statusd/jobs.h"
#include "statusd/store.h"

/* True for completed, failed and canceled. */
bool job_status_terminal(const char *status);

/*
 * Builds the client's view of job id from its record into *v (its buffer
 * is reset and reused). SD_ERR_INTERNAL when the record lacks status or
 * kind, SD_ERR_NOMEM.
 */
sd_err job_view_build(const char *id, const sd_record *rec, sd_job_view *v);
/* As job_view_build, without input and result (a listing's item) when
 * full is false. */
sd_err job_view_build_as(const char *id, const sd_record *rec, bool full, sd_job_view *v);

#endif
