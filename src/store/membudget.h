#ifndef STATUSD_STORE_MEMBUDGET_H
#define STATUSD_STORE_MEMBUDGET_H

/*
 * The byte count of the memory store and its cap (memory_max_bytes).
 *
 * What is counted: every allocation the store keeps for what it holds,
 * records (one block each, a list's arrays and items), the shards' bucket
 * arrays, and the queues' entries, heaps and tables, each at the size the
 * allocator really takes for it (mb_cost: glibc's chunk, header and
 * rounding included), so the count follows the process's memory and not
 * just the bytes callers sent. What is not: the store's fixed part (the
 * namespaces with their pools of names and value counters, a few
 * kilobytes), and copies handed to callers, which they free.
 *
 * The count is exact: whoever allocates or frees adds the difference
 * (mb_add). The cap is a check before a write that adds state
 * (mb_room); writes that finish work accepted earlier skip it (see
 * memory.c). The check and the add are two steps, so writers racing on
 * different shards can pass the cap together by at most one record each.
 *
 * Lock-free: the count is one atomic, safe from any thread.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mb_budget {
    _Atomic int64_t used;
    int64_t max;               /* 0 = no cap */
    atomic_bool warned;        /* past MB_WARN_PERCENT of max since it was last below */
    atomic_bool quiet;         /* mb_stop_warnings was called */
} mb_budget;

/* A warning is logged once the count passes MB_WARN_PERCENT of the cap,
 * and again only after it went back below MB_REARM_PERCENT (an info
 * line) and passes the first once more: a count hovering at the line
 * does not fill the log. */
#define MB_WARN_PERCENT 90
#define MB_REARM_PERCENT 80

void mb_init(mb_budget *b, int64_t max);

/* What an allocation of request bytes takes from the heap: glibc's chunk
 * of request + 8 bytes of header rounded up to 16, at least 32; 0 for 0. */
size_t mb_cost(size_t request);

/* True when more bytes (<= 0: always) still fit under the cap. */
bool mb_room(const mb_budget *b, int64_t more);

/* Adds delta (either sign) to the count, logging the 90% warning. */
void mb_add(mb_budget *b, int64_t delta);

int64_t mb_used(const mb_budget *b);

/* Stops the warnings: the store is being freed, and its emptying is not
 * news. */
void mb_stop_warnings(mb_budget *b);

#endif
