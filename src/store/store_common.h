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

/*
 * An operation of sd_store_ops begins with its sd_store_start_*: false
 * means the arguments are refused and the operation returns
 * SD_ERR_INVALID having touched nothing; true means they are good and the
 * caller's *out (when the operation takes one) has been emptied. Both
 * stores thus refuse the same calls, before any lock or round trip, and
 * answer from the same starting state.
 *
 * Names (namespace, id, rate key, key prefix) are non-NULL and non-empty:
 * sd_store_name_ok, which del, count and the Redis store's prefix check
 * use on their own.
 * get and list_get need an out and renew_ttl_ms >= 0. An update needs a
 * known mode, ttl_ms >= 0, arrays present where counts say so, no NULL
 * condition value, and every assignment named, with a known op and, for
 * SET and SETNX, a value unless it is empty. list_append needs n >= 1
 * items, an item NULL only when empty, no length SIZE_MAX, ttl_ms >= 0.
 */

bool sd_store_name_ok(const char *s);
bool sd_store_start_get(const char *ns, const char *id, int64_t renew_ttl_ms,
                        sd_record *out);
bool sd_store_start_update(const char *ns, const char *id, const sd_update *u,
                           sd_record *out);
bool sd_store_start_list_append(const char *ns, const char *id,
                                const char *const *items, const size_t *lens,
                                size_t n, int64_t ttl_ms, sd_list *out);
bool sd_store_start_list_get(const char *ns, const char *id, int64_t renew_ttl_ms,
                             sd_list *out);

/* index needs a namespace and a field name. count_by needs an out, a
 * namespace and a value (which may be empty); it sets *out to 0. */
bool sd_store_start_index(const char *ns, const char *field);
bool sd_store_start_count_by(const char *ns, const char *value, int64_t *out);

/* ---- queues ---- */

/*
 * The starts of the queue operations, as above: false (SD_ERR_INVALID,
 * nothing touched) unless the queue name, item and owner are names
 * shorter than SD_QUEUE_ITEM_MAX / SD_QUEUE_OWNER_MAX bytes (the queue
 * name as an item), times are >= 0 (a lease > 0), and a record change,
 * when given, has a namespace and an update sd_store_start_update takes;
 * true empties what the operation hands back (rec->out; take's and
 * reap's items and *n).
 */
bool sd_store_queue_item_ok(const char *item);
bool sd_store_queue_owner_ok(const char *owner);
bool sd_store_start_queue_rec(const sd_queue_rec *rec);
bool sd_store_start_queue_take(const char *queue, const sd_queue_take *t,
                               const sd_queue_rec *rec, sd_queue_item *items,
                               size_t *n);
bool sd_store_start_queue_reap(const char *queue, const char *owner, int64_t lease_ms,
                               size_t max, sd_queue_item *items, size_t *n);

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

/* The start of scan: SD_ERR_INVALID for no out, a bad ns or limit 0;
 * else empties *out, cuts *limit to SD_STORE_SCAN_MAX and decodes the
 * cursor into *after: the id the page starts after (the caller frees),
 * NULL for the first page (cursor NULL or ""). SD_ERR_INVALID unless the
 * cursor is lower-case hex of a non-empty NUL-free id; SD_ERR_NOMEM.
 * *after is NULL on failure. */
sd_err sd_store_start_scan(const char *ns, const char *cursor, size_t *limit,
                           sd_page *out, char **after);

/* The cursor of the page after id, newly allocated (the caller frees);
 * NULL on NOMEM. */
char *sd_store_cursor_encode(const char *id);

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

/* The start of rate_check: false (SD_ERR_INVALID) unless out is given,
 * key is a name, 0 < period_ms <= SD_RATE_MAX_PERIOD_MS and
 * 0 < limit <= period_ms * 10^6 (T at least 1 ns); else fills *g for
 * limit requests per period_ms and sets *out to a refusal that says only
 * the limit (what the caller returns should it fail). */
bool sd_store_start_rate(const char *key, int64_t limit, int64_t period_ms,
                         sd_gcra *g, sd_rate *out);

/* Whether a request passes when the TAT is ahead_ns (>= 0) ahead of now. */
bool sd_gcra_allows(const sd_gcra *g, int64_t ahead_ns);

/* The answer into *out for a request that was (allowed) or was not let
 * through when the TAT stood ahead_ns (>= 0, 0 when in the past) ahead of
 * now: remaining, and reset and retry_after rounded up to milliseconds. */
void sd_gcra_answer(const sd_gcra *g, bool allowed, int64_t ahead_ns, sd_rate *out);

/* Ceiling of ns (>= 0) in milliseconds. */
int64_t sd_store_ns_to_ms_up(int64_t ns);

#endif
