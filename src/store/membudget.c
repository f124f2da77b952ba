/* The memory store's byte count and cap (see membudget.h). */
#include "membudget.h"

#include <inttypes.h>

#include "statusd/log.h"

void mb_stop_warnings(mb_budget *b) { atomic_store(&b->quiet, true); }

void mb_init(mb_budget *b, int64_t max)
{
    atomic_init(&b->used, 0);
    b->max = max > 0 ? max : 0;
    atomic_init(&b->warned, false);
    atomic_init(&b->quiet, false);
}

size_t mb_cost(size_t request)
{
    if (request == 0)
        return 0;
    if (request > SIZE_MAX - 32)
        return SIZE_MAX;
    size_t chunk = (request + 8 + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}

bool mb_room(const mb_budget *b, int64_t more)
{
    if (b->max == 0 || more <= 0)
        return true;
    int64_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
    return more <= b->max - used;
}

void mb_add(mb_budget *b, int64_t delta)
{
    int64_t used = atomic_fetch_add_explicit(&b->used, delta, memory_order_relaxed) + delta;
    if (b->max == 0 || atomic_load_explicit(&b->quiet, memory_order_relaxed))
        return;
    bool was = atomic_load_explicit(&b->warned, memory_order_relaxed);
    bool over = was ? used >= b->max / 100 * MB_REARM_PERCENT
                    : used > b->max / 100 * MB_WARN_PERCENT;
    if (over == was)
        return;
    /* One thread wins the flip, so the warning is logged once per pass. */
    if (!atomic_compare_exchange_strong(&b->warned, &was, over))
        return;
    if (over)
        sd_warn("memory store: %" PRId64 " of memory_max_bytes %" PRId64
                " bytes held (over %d%%); writes are refused with 503 store-full "
                "once it is full, until records expire or are deleted",
                used, b->max, MB_WARN_PERCENT);
    else
        sd_info("memory store: back under %d%% of memory_max_bytes (%" PRId64
                " of %" PRId64 " bytes held)", MB_REARM_PERCENT, used, b->max);
}

int64_t mb_used(const mb_budget *b)
{
    return atomic_load_explicit(&b->used, memory_order_relaxed);
}
