#ifndef STATUSD_STORE_REDIS_SWEEP_H
#define STATUSD_STORE_REDIS_SWEEP_H

/*
 * The Redis store's sweeper. Redis removes a record's key when its TTL
 * runs out, but the record's entries in its namespace's indexes (exp,
 * lex and the value index, see redis_scripts.c) stay until a script
 * drops them: one that meets the record, or a count or scan, which drop
 * up to 1000 each. The sweeper is a thread that, every interval, drops
 * them for every namespace the store has used, so that they do not pile
 * up while nobody counts, and a count_by rarely has more than one batch
 * to drop (the memory store's sweeper does the same for its table; both
 * run on a ticker, statusd/ticker.h). Each step is the prune script on
 * one of the store's shared connections; a namespace with more than a
 * batch left gets further steps, up to RD_SWEEP_ROUNDS an interval.
 */

#include <stdint.h>

#include "statusd/error.h"

#define RD_SWEEP_INTERVAL_MS 1000
#define RD_SWEEP_ROUNDS 20
/* Namespaces swept at most (statusd uses a handful). */
#define RD_SWEEP_MAX_NS 64

struct rd_store;
typedef struct rd_sweeper rd_sweeper;

/* Starts the thread, sweeping no namespace yet; *out NULL on failure. */
sd_err rd_sweeper_new(struct rd_store *s, int64_t interval_ms, rd_sweeper **out);

/* Sweeps namespace ns, whose records are counted by field (both
 * copied), dropping their value index entries too; a namespace noted
 * before gets its field. Any thread. */
sd_err rd_sweeper_add(rd_sweeper *w, const char *ns, const char *field);

/* Sweeps namespace ns (copied) from now on, if it does not yet: what the
 * store calls for every write that may make a record, costing a scan of
 * the few names swept when ns is one. Any thread; NULL w (a store still
 * being made) does nothing. */
void rd_sweeper_note(rd_sweeper *w, const char *ns);

/* Stops the thread (a step under way ends first) and frees w. NULL is
 * fine. */
void rd_sweeper_free(rd_sweeper *w);

#endif
