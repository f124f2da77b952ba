#ifndef STATUSD_HTTP_PROBLEM_H
#define STATUSD_HTTP_PROBLEM_H

#include "statusd/error.h"

/* How an error is answered: HTTP status, problem type slug (the type URI
 * is "/problems/<slug>", documented in docs/api.md), title, and the
 * Retry-After seconds to send (0 = none). */
typedef struct sd_problem {
    unsigned status;
    const char *slug;
    const char *title;
    unsigned retry_after;
} sd_problem;

/* The one mapping from the project's errors to HTTP. Never NULL. */
const sd_problem *sd_problem_for(sd_err err);

#endif
