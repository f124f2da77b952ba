#ifndef STATUSD_STORE_REDIS_CONN_H
#define STATUSD_STORE_REDIS_CONN_H

/*
 * The connections of the Redis store: a few hiredis contexts (the lanes)
 * that every calling thread shares, each call's commands pipelined with
 * the other threads' on its lane (a context is not thread-safe: only the
 * thread leading a lane's round trip touches it), opened lazily, each
 * with the store's timeout as connect and command timeout, authenticated
 * and on the configured database. It knows nothing of records; redis.c
 * does.
 *
 * Errors come back on two channels that never mix: the transport (the
 * context failed: it is freed and the lane's next call opens a fresh
 * one, after a capped exponential backoff when opening failed) and error
 * replies the server sent (mapped to the store's errors by class).
 *
 * The process must ignore SIGPIPE (statusd's main does): hiredis writes
 * with write(2), and a write to a connection the server closed would
 * otherwise kill the process instead of failing with EPIPE.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "statusd/store.h"
#include "redis_scripts.h"

typedef struct rd_pool rd_pool;

/* A pool for the server opts names, with no connection yet, in *out.
 * Copies what it keeps of opts. SD_ERR_INVALID for bad options,
 * SD_ERR_NOMEM, SD_ERR_INTERNAL when a lock cannot be made: *out is
 * then NULL and err has a reason (never the password). */
sd_err rd_pool_new(const sd_redis_opts *opts, rd_pool **out, char *err, size_t errlen);

/* Opens the calling thread's lane, checks it with PING and loads
 * every script. Call once, before the pool is shared. On failure err gets
 * a one-line reason without the password. */
sd_err rd_pool_check(rd_pool *p, char *err, size_t errlen);

/* Frees every connection and the pool. No other thread may be using
 * the pool while this runs. */
void rd_pool_free(rd_pool *p);

/* Sends one command on the calling thread's lane, pipelined with other
 * threads' calls, and waits for its reply. SD_OK with a reply that is not an error reply (the caller frees it with
 * freeReplyObject); otherwise *out is NULL and the result is
 * SD_ERR_UNAVAILABLE (no connection, transport failure or timeout, or a
 * server state such as LOADING, OOM, READONLY), SD_ERR_NOMEM, or
 * SD_ERR_INTERNAL for an unexpected error reply. */
sd_err rd_command(rd_pool *p, int argc, const char **argv, const size_t *lens,
                  redisReply **out);

/* One command of a pipeline. */
typedef struct rd_cmd {
    int argc;
    const char **argv;
    const size_t *lens;
} rd_cmd;

#define RD_PIPELINE_MAX 8

/* Sends n (1..RD_PIPELINE_MAX) commands in one round trip on the calling
 * thread's lane. SD_OK with every reply in out[0..n), error
 * replies included (the caller tells them apart and frees each);
 * otherwise every out[i] is NULL and the result is a transport failure's
 * as rd_command's. Not atomic: another client's command may run between
 * two of them. */
sd_err rd_pipeline(rd_pool *p, size_t n, const rd_cmd *cmds, redisReply **out);

/* Runs a script with EVALSHA, loading it again and retrying once when
 * the server no longer has it (NOSCRIPT). argv/lens hold argc entries of
 * which the first three are the callee's (EVALSHA, the digest, and the
 * key count, which the caller puts in argv[2]). Results as rd_command. */
sd_err rd_script(rd_pool *p, rd_script_id id, int argc, const char **argv,
                 size_t *lens, redisReply **out);

/* A context of the caller's own, not a lane's (for a subscription):
 * connected, authenticated, on the pool's database, with the pool's
 * command timeout; the caller frees it with redisFree. Errors as
 * rd_command, with a reason in why (never the password). */
sd_err rd_pool_open(rd_pool *p, redisContext **out, char *why, size_t whylen);

/* What a connection of the caller's own (redis_async.c) needs: the
 * server, the command timeout, and the set-up commands. rd_pool_auth
 * fills argv/lens (3 entries) with AUTH [user] password and returns argc,
 * 0 when no password is set; the strings live as long as the pool. */
const char *rd_pool_host(const rd_pool *p);
int rd_pool_port(const rd_pool *p);
int rd_pool_db(const rd_pool *p);
int64_t rd_pool_timeout_ms(const rd_pool *p);
int rd_pool_auth(const rd_pool *p, const char *argv[3], size_t lens[3]);

/* The stall of the pool (see redis_conn.c): a command on a connection of
 * the caller's own that timed out marks it, as one of the pool's would;
 * rd_pool_stalled says whether calls now fail at once (or probe). */
void rd_pool_mark_stalled(rd_pool *p);
bool rd_pool_stalled(rd_pool *p);

/* "redis://[user]:***@host:port/db" (the password masked) or
 * "redis://host:port/db" into out. */
void rd_pool_url(const rd_pool *p, char *out, size_t cap);

#endif
