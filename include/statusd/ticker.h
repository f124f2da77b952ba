#ifndef STATUSD_TICKER_H
#define STATUSD_TICKER_H

/*
 * A ticker: a thread that calls fn(arg) every interval, counted on the
 * monotonic clock from the end of one call to the start of the next,
 * until it is stopped. It sleeps on a condition variable with a timed
 * wait, so a stop ends the sleep at once instead of waiting out an
 * interval; a call under way ends first, and a long one may end early by
 * asking sd_ticker_stopping. The periodic work of the layers (the stores'
 * sweepers, the connection watchdog, the jobs' heartbeat) runs on one
 * each.
 */

#include <stdbool.h>
#include <stdint.h>

#include "statusd/error.h"

typedef struct sd_ticker sd_ticker;

/* One tick; t is the ticker calling it. */
typedef void (*sd_tick_fn)(void *arg, sd_ticker *t);

/* Starts calling fn(arg) every interval_ms (> 0), the first call at once
 * when at_once (unless a stop came first), else one interval from now;
 * the ticker in *out. SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock,
 * condition or the thread cannot be made: *out is then NULL. */
sd_err sd_ticker_start(int64_t interval_ms, bool at_once, sd_tick_fn fn, void *arg,
                       sd_ticker **out);

/* Whether t is being stopped: a long call asks it between its steps. */
bool sd_ticker_stopping(sd_ticker *t);

/* Stops t (a call under way ends first), joins its thread and frees it.
 * NULL is fine. Never from fn: the thread would wait for itself. */
void sd_ticker_stop(sd_ticker *t);

#endif
