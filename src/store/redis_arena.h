#ifndef STATUSD_STORE_REDIS_ARENA_H
#define STATUSD_STORE_REDIS_ARENA_H

/*
 * hiredis reply objects built in an arena, for a connection whose
 * replies are used in their callback and dropped after it (the polls'
 * connection, redis_async.c). hiredis's own objects cost a malloc and a
 * free for every element and every string: an HGETALL of a job is some
 * forty of each. Here a reply's objects are carved from a few blocks
 * kept between replies, and dropping the reply frees nothing: the next
 * one reuses the blocks. The objects are plain redisReply, read as any.
 *
 * One arena serves one reader at a time (rd_arena_attach), on one
 * thread, and only one reply of that reader is alive at once: hiredis
 * builds a reply, hands it to its callback and drops it before it
 * builds the next. A reply must not be kept past its callback.
 */

#include <hiredis/hiredis.h>

typedef struct rd_arena rd_arena;

/* NULL when out of memory. */
rd_arena *rd_arena_new(void);
void rd_arena_free(rd_arena *a);

/* Has reader build its replies in a. Call before the reader has read
 * anything; a outlives the reader. */
void rd_arena_attach(rd_arena *a, redisReader *reader);

#endif
