/* The one place that decides the HTTP status of an error. */
#include "http/problem.h"

#include <stddef.h>

static const sd_problem problems[SD_ERR_COUNT] = {
    [SD_OK] = {200, "ok", "OK", 0},
    [SD_ERR_NOMEM] = {503, "out-of-memory", "Server out of memory", 1},
    [SD_ERR_INTERNAL] = {500, "internal-error", "Internal server error", 0},
    [SD_ERR_INVALID] = {400, "invalid-request", "Invalid request", 0},
    [SD_ERR_BAD_JSON] = {400, "invalid-json", "Body is not valid JSON", 0},
    [SD_ERR_TOO_DEEP] = {400, "json-too-deep", "JSON nested too deeply", 0},
    [SD_ERR_NOT_FOUND] = {404, "not-found", "Not found", 0},
    [SD_ERR_METHOD] = {405, "method-not-allowed", "Method not allowed", 0},
    [SD_ERR_CONFLICT] = {409, "conflict", "Conflict with the current state", 0},
    [SD_ERR_EXISTS] = {409, "already-exists", "Already exists", 0},
    [SD_ERR_TOO_LARGE] = {413, "body-too-large", "Request body too large", 0},
    [SD_ERR_MEDIA_TYPE] = {415, "unsupported-media-type", "Unsupported media type", 0},
    [SD_ERR_QUEUE_FULL] = {503, "queue-full", "Job queue is full", 1},
    [SD_ERR_UNAVAILABLE] = {503, "store-unavailable", "Store unavailable", 1},
    [SD_ERR_SHUTTING_DOWN] = {503, "shutting-down", "Instance is shutting down", 5},
    [SD_ERR_RATE_LIMITED] = {429, "rate-limited", "Too many requests", 0},
    [SD_ERR_UNAUTHORIZED] = {401, "unauthorized", "Missing or invalid token", 0},
    [SD_ERR_FORBIDDEN] = {403, "forbidden", "Forbidden", 0},
    [SD_ERR_UNKNOWN_KIND] = {404, "unknown-kind", "Unknown job kind", 0},
    [SD_ERR_STALE_RUN] = {409, "stale-run", "Token of an earlier run", 0},
    [SD_ERR_JOB_FINISHED] = {409, "job-finished", "Job already finished", 0},
    [SD_ERR_STORE_FULL] = {503, "store-full", "Store is full", 1},
    [SD_ERR_TOO_MANY_WAITERS] = {503, "too-many-waiters", "Too many held requests", 1},
};

const sd_problem *sd_problem_for(sd_err err)
{
    if ((unsigned)err >= SD_ERR_COUNT || problems[err].slug == NULL)
        return &problems[SD_ERR_INTERNAL];
    return &problems[err];
}
