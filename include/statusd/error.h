#ifndef STATUSD_ERROR_H
#define STATUSD_ERROR_H

/*
 * The project's one error enum. Functions return it and hand results back
 * through pointers. http/problem.c owns the single mapping from these values
 * to an HTTP status and a problem type; nothing else decides a status code.
 */
typedef enum sd_err {
    SD_OK = 0,
    SD_ERR_NOMEM,         /* an allocation failed */
    SD_ERR_INTERNAL,      /* a failed system call or a broken invariant */
    SD_ERR_INVALID,       /* a value in the request is wrong */
    SD_ERR_BAD_JSON,      /* the body is not JSON, or not UTF-8 */
    SD_ERR_TOO_DEEP,      /* JSON nested deeper than statusd accepts */
    SD_ERR_NOT_FOUND,     /* unknown path, unknown or expired record */
    SD_ERR_METHOD,        /* known path, method not allowed */
    SD_ERR_CONFLICT,      /* the record's state does not allow the change */
    SD_ERR_EXISTS,        /* create of a record that exists */
    SD_ERR_TOO_LARGE,     /* body over the limit */
    SD_ERR_MEDIA_TYPE,    /* wrong Content-Type */
    SD_ERR_QUEUE_FULL,    /* the job queue has no room */
    SD_ERR_UNAVAILABLE,   /* the store cannot answer now */
    SD_ERR_SHUTTING_DOWN, /* the instance is draining */
    SD_ERR_RATE_LIMITED,  /* the caller is over its limit */
    SD_ERR_UNAUTHORIZED,  /* missing or wrong token */
    SD_ERR_FORBIDDEN,     /* the endpoint is disabled by configuration */
    SD_ERR_UNKNOWN_KIND,  /* a job kind with no handler configured */
    SD_ERR_STALE_RUN,     /* a report with the token of an earlier run */
    SD_ERR_JOB_FINISHED,  /* a report on a job that has ended */
    SD_ERR_STORE_FULL,    /* the store holds all it may; writes wait for room */
    SD_ERR_TOO_MANY_WAITERS, /* max_waiters requests are held already */
    SD_ERR_COUNT
} sd_err;

/* A stable lower-case name for logs ("not_found"); never NULL. */
const char *sd_err_name(sd_err err);

#endif
