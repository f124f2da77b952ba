/* Names of the project's error values, for logs. */
#include "statusd/error.h"

#include <stddef.h>

static const char *const names[SD_ERR_COUNT] = {
    [SD_OK] = "ok",
    [SD_ERR_NOMEM] = "out_of_memory",
    [SD_ERR_INTERNAL] = "internal",
    [SD_ERR_INVALID] = "invalid",
    [SD_ERR_BAD_JSON] = "bad_json",
    [SD_ERR_TOO_DEEP] = "too_deep",
    [SD_ERR_NOT_FOUND] = "not_found",
    [SD_ERR_METHOD] = "method_not_allowed",
    [SD_ERR_CONFLICT] = "conflict",
    [SD_ERR_EXISTS] = "exists",
    [SD_ERR_TOO_LARGE] = "too_large",
    [SD_ERR_MEDIA_TYPE] = "unsupported_media_type",
    [SD_ERR_QUEUE_FULL] = "queue_full",
    [SD_ERR_UNAVAILABLE] = "unavailable",
    [SD_ERR_SHUTTING_DOWN] = "shutting_down",
    [SD_ERR_RATE_LIMITED] = "rate_limited",
    [SD_ERR_UNAUTHORIZED] = "unauthorized",
    [SD_ERR_FORBIDDEN] = "forbidden",
    [SD_ERR_UNKNOWN_KIND] = "unknown_kind",
    [SD_ERR_STALE_RUN] = "stale_run",
    [SD_ERR_JOB_FINISHED] = "job_finished",
    [SD_ERR_STORE_FULL] = "store_full",
    [SD_ERR_TOO_MANY_WAITERS] = "too_many_waiters",
};

const char *sd_err_name(sd_err err)
{
    if ((unsigned)err >= SD_ERR_COUNT || names[err] == NULL)
        return "unknown";
    return names[err];
}
