#ifndef STATUSD_RATELIMIT_H
#define STATUSD_RATELIMIT_H

#include <stdint.h>

#include "statusd/error.h"
#include "statusd/store.h"

/*
 * Per-key request limits: at most `per_minute` requests a minute for each
 * key of a class ("chat" per user id, "submit" per client address), all of
 * them allowed in a burst, then one every 60/per_minute seconds (GCRA, one
 * atomic step in the store, so instances sharing a Redis share limits).
 * Knows nothing of HTTP; the HTTP layer turns the answer into headers.
 */

#define SD_RATELIMIT_WINDOW_S 60

/* Checks and counts one request of class for key. per_minute 0 means no
 * limit: *out then says allowed with limit 0. Errors from the store. */
sd_err sd_ratelimit_take(sd_store *s, const char *cls, const char *key,
                         int64_t per_minute, sd_rate *out);

#endif
