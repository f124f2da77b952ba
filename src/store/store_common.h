#ifndef STATUSD_STORE_STORE_COMMON_H
#define STATUSD_STORE_STORE_COMMON_H

/*
 * What the store implementations share so that they agree to the byte:
 * the argument checks every operation starts with, the listing cursor,
 * and the GCRA arithmetic of rate_check. Private to src/store;
 * implemented in store.c. Nothing here locks or knows a backend.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/store.h"

#define SD_NS_PER_MS 1000000LL

/* ---- the start of each operation ---- */

/* Names (namespace, id, rate key, key prefix) are non-NULL and
 * non-empty. The arguments of every operation are checked once, in the
 * sd_store_* calls of store.c, before any implementation runs. */
bool sd_store_name_ok(const char *s);

/* ---- sliding expiries ---- */

/*
 * A read that renews a hash record's expiry (get with renew_ttl_ms)
 * leaves it as it is when the renewal would not move it, or, with a
 * slack (sd_store_poll), move it forward by no more than slack_ms: a
 * poll then costs a read, not a write, on every store. A renewal cut by
 * the record's deadline is written unless the expiry is already there,
 * so the record ends exactly at its deadline. True when wanted
 * (the renewed expiry; capped: cut by the deadline) may be skipped for
 * stored (the record's expiry, 0 for none).
 */
bool sd_renew_skippable(int64_t stored, int64_t wanted, bool capped, int64_t slack_ms);

/* ---- building records ---- */

/*
 * The records the stores hand out are one allocation each (see
 * store.c): the field array, then the names and values. To build one:
 * count what the fields need with sd_record_bytes_add (false on size
 * overflow), sd_record_build the empty *out for n fields (NULL on
 * NOMEM; *out is then still empty), then sd_record_add exactly n fields,
 * each returning where the next one goes. The expiry is the caller's.
 */
bool sd_record_bytes_add(size_t *bytes, size_t name_len, size_t value_len);
char *sd_record_build(sd_record *out, size_t n, size_t bytes);
char *sd_record_add(sd_record *r, char *area, const char *name, size_t name_len,
                    const char *value, size_t len);

/* ---- listing ---- */

/*
 * A cursor is the last id of the previous page, hex-encoded (lower case);
 * a page is the `limit` smallest live ids greater than it in byte order,
 * so an id live for the whole listing is returned once whatever else
 * comes and goes. Both stores hand out and accept exactly these cursors.
 */

/* Most ids one scan page returns; a larger limit is cut to it. */
#define SD_STORE_SCAN_MAX 10000

/* The cursor of the page after id, newly allocated (the caller frees);
 * NULL on NOMEM. */
char *sd_store_cursor_encode(const char *id);

/* A scan_by page's next_cursor: the order key in decimal, newly
 * allocated; NULL on NOMEM. */
char *sd_store_key_cursor(int64_t key);

/* ---- rate limits (GCRA) ---- */

/*
 * Requests are spaced by the emission interval T = period / limit (in
 * nanoseconds, so small periods with large limits stay exact); the state
 * is the theoretical arrival time (TAT) of the next request. A request is
 * allowed when the new TAT, max(TAT, now) + T, is at most burst = limit * T
 * ahead of now, so `limit` requests pass in a burst and then one every T.
 * burst is the period minus the remainder of the division, so the burst is
 * exactly `limit`. A store keeps the TAT; the answer follows from whether
 * the request passed and how far the TAT was ahead of now.
 */

/* Longest rate-limit period: a year and a day, so that the period in
 * nanoseconds and the TAT arithmetic stay far from int64 overflow. */
#define SD_RATE_MAX_PERIOD_MS (366LL * 24 * 3600 * 1000)

typedef struct sd_gcra {
    int64_t limit;
    int64_t interval_ns;  /* T */
    int64_t burst_ns;     /* limit * T */
} sd_gcra;

/* The GCRA parameters of limit requests per period_ms, as sd_store_rate_check
 * has checked them: 0 < period_ms <= SD_RATE_MAX_PERIOD_MS and
 * 0 < limit <= period_ms * 10^6 (T at least 1 ns). */
sd_gcra sd_gcra_of(int64_t limit, int64_t period_ms);

/* Whether a request passes when the TAT is ahead_ns (>= 0) ahead of now. */
bool sd_gcra_allows(const sd_gcra *g, int64_t ahead_ns);

/* The answer into *out for a request that was (allowed) or was not let
 * through when the TAT stood ahead_ns (>= 0, 0 when in the past) ahead of
 * now: remaining, and reset and retry_after rounded up to milliseconds. */
void sd_gcra_answer(const sd_gcra *g, bool allowed, int64_t ahead_ns, sd_rate *out);

/* Ceiling of ns (>= 0) in milliseconds. */
int64_t sd_store_ns_to_ms_up(int64_t ns);

#endif
