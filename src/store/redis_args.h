#ifndef STATUSD_STORE_REDIS_ARGS_H
#define STATUSD_STORE_REDIS_ARGS_H

/*
 * How the Redis store's operations are spelled on the wire: argument
 * lists for commands and scripts, and key names. It sends nothing;
 * redis.c runs what it builds through redis_conn.h and reads the replies
 * with redis_reply.h.
 *
 * Keys (all under the store's prefix):
 *   <prefix>{<ns>:<id>}   a record (hash or list); the hash tag keeps a
 *                         record's key in one slot; ':' and '%' of ns are
 *                         percent-encoded so no two (ns, id) pairs meet
 *   <prefix>exp:<ns>      sorted set: ids scored by expiry (+inf: none)
 *   <prefix>lex:<ns>      sorted set: the same ids, score 0, byte order
 *   <prefix>ixr:<ns>      hash: each id counted by the namespace's indexed
 *                         field -> the value it is counted under
 *   <prefix>ixr:<ns>:n    the counter that hands out order keys
 *   <prefix>ix:<ns>:<v>:o sorted set: the ids counted under value v (':'
 *                         and '%' percent-encoded, as in ns), scored by
 *                         their order key (lib_ix.lua)
 *   <prefix>rl:{<key>}    rate-limit state (the GCRA TAT, nanoseconds)
 *   <prefix>q:{<queue>}:w, :l, :o   a queue's waiting items, leased
 *                         items and their owners (src/store/lua/queue_*.lua)
 *   <prefix>probe:<uuid>  the health probe
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/store.h"

/* Room inside an rd_args for a command of ordinary size: its argument
 * vectors and the strings the list makes itself (keys, numbers), so that
 * the poll's command allocates nothing. Longer lists spill to the heap. */
#define RD_ARGS_INLINE 24
#define RD_ARGS_ARENA 512

/*
 * The arguments of one command, built by appends that never fail loudly:
 * a failed allocation marks the list failed, which the caller checks once
 * before sending. Strings marked own are heap strings freed with the
 * list; strings the list makes itself live in its arena (or, when that
 * is full, on the heap, owned). An rd_args is started in place by one of
 * the rd_args_script/record/namespace calls and must not be copied or
 * moved until rd_args_free: its vectors may point into itself.
 */
typedef struct rd_args {
    const char **v;
    size_t *len;
    bool *own;
    size_t n, cap;
    bool failed;
    const char *v_inline[RD_ARGS_INLINE];
    size_t len_inline[RD_ARGS_INLINE];
    bool own_inline[RD_ARGS_INLINE];
    char arena[RD_ARGS_ARENA];
    size_t arena_used;
} rd_args;

/* Starts *a for a script with nkeys (text) keys: two empty slots for
 * EVALSHA and the digest (rd_script fills them), then the key count. */
void rd_args_script(rd_args *a, const char *nkeys);
/* Appends p[0..len); own: the list frees p (also when appending fails). */
void rd_args_add(rd_args *a, const char *p, size_t len, bool own);
void rd_args_str(rd_args *a, const char *s);
/* Appends and takes s; a NULL s (a failed allocation) fails the list. */
void rd_args_take(rd_args *a, char *s);
void rd_args_i64(rd_args *a, int64_t v);
/* Appends the key <prefix><kind><name>, name in braces when braced. */
void rd_args_key_own(rd_args *a, const char *prefix, const char *kind, const char *name,
                     bool braced);
void rd_args_free(rd_args *a);

/* Starts *a with KEYS record, exp index, lex index; ARGV id, now, then
 * the value index: the start of every script on one record. The value
 * index is three arguments: the indexed field of ns, the ixr key and the
 * ix key prefix ("<prefix>ix:<ns>:"), all three "" when field is NULL (no
 * index). */
void rd_args_record(rd_args *a, const char *prefix, const char *ns, const char *id,
                    int64_t now, const char *field);
/* Starts *a with KEYS exp index, lex index; ARGV now, record key prefix,
 * then the value index as above: the start of the scripts over a
 * namespace. */
void rd_args_namespace(rd_args *a, const char *prefix, const char *ns, int64_t now,
                       const char *field);

/* Starts *a for a queue script: KEYS the waiting, leased and owner keys
 * of queue, and, with ns (a record change), the exp and lex indexes of ns;
 * ARGV the record key prefix of ns ("" without), now, then the value
 * index of ns (field, as rd_args_record; three "" without ns). */
void rd_args_queue(rd_args *a, const char *prefix, const char *queue, const char *ns,
                   int64_t now, const char *field);

/* Appends the spec of update u (mode, expiry base, want, condition,
 * assignments) as the update script and the queue scripts read it. */
void rd_args_update(rd_args *a, const sd_update *u, int64_t now, bool want);
/* How many arguments rd_args_update appends for u. */
size_t rd_args_update_count(const sd_update *u);

/* now + ttl_ms, saturating at the largest expiry the store keeps (a
 * sorted-set score is a double: 2^53 - 1). */
int64_t rd_expiry_after(int64_t now, int64_t ttl_ms);

/* The key <prefix><lead><ns><tail>, ns percent-encoded as in every key
 * derived from a namespace, newly allocated (the caller frees); NULL on
 * NOMEM. */
char *rd_ns_key_own(const char *prefix, const char *lead, const char *ns, const char *tail);

/* <prefix><kind><name>, name in braces when braced, newly allocated (the
 * caller frees); NULL on NOMEM. */
char *rd_key_own(const char *prefix, const char *kind, const char *name, bool braced);

#endif
