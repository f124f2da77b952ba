#ifndef STATUSD_APP_H
#define STATUSD_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "statusd/config.h"
#include "statusd/jobs.h"
#include "statusd/metrics.h"
#include "statusd/store.h"

/* What the route handlers share: built by main, read-only once serving
 * starts, except the draining flag. */
struct sd_app {
    const sd_config *cfg;
    sd_store *store;
    bool store_fallback;       /* auto chose memory because Redis was down */
    sd_jobs *jobs;
    sd_metrics *metrics;       /* owned by the HTTP layer, set before it serves */
    struct sd_watch *watch;    /* held requests (api/watch.h), sd_api_watch_start */
    int64_t started_mono_ms;
    int64_t started_epoch_ms;  /* process_start_time_seconds */
    atomic_bool draining;      /* set on SIGTERM: no new work, not ready */
};

#endif
