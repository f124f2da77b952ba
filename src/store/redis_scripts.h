#ifndef STATUSD_STORE_REDIS_SCRIPTS_H
#define STATUSD_STORE_REDIS_SCRIPTS_H

/*
 * The Lua scripts of the Redis store. Each is one whole state transition
 * (run with EVALSHA, so atomic on the server); redis.c builds their
 * arguments and reads their replies, and the comment at the head of each
 * script names both.
 *
 * Every script gets the client's clock (epoch ms) as an argument and
 * decides expiry by it, not by the server's, so both stores agree on
 * what is live; the keys also carry a PEXPIREAT at the same instant so
 * the server frees them on its own. Integers that can pass 2^53 (field
 * values, deadlines, rate-limit nanoseconds) are handled as exact
 * decimal text, never as Lua numbers (doubles).
 */

/* The scripts; the first element of each reply is one of RD_CODE_*. */
typedef enum rd_script_id {
    RD_SCRIPT_GET,
    RD_SCRIPT_UPDATE,
    RD_SCRIPT_DEL,
    RD_SCRIPT_LIST_APPEND,
    RD_SCRIPT_LIST_GET,
    RD_SCRIPT_SCAN,
    RD_SCRIPT_COUNT,
    RD_SCRIPT_COUNT_BY,
    RD_SCRIPT_PRUNE,
    RD_SCRIPT_LEGACY_INDEX,
    RD_SCRIPT_SCAN_BY,
    RD_SCRIPT_RATE,
    RD_SCRIPT_QPUSH,
    RD_SCRIPT_QTAKE,
    RD_SCRIPT_QRENEW,
    RD_SCRIPT_QACK,
    RD_SCRIPT_QACK_TAKE,
    RD_SCRIPT_QRELEASE,
    RD_SCRIPT_QREMOVE,
    RD_SCRIPT_QREAP,
    RD_SCRIPT_QSTATS,
    RD_SCRIPT_N
} rd_script_id;

enum {
    RD_CODE_OK = 0,
    RD_CODE_NOT_FOUND = 1,
    RD_CODE_EXISTS = 2,
    RD_CODE_CONFLICT = 3,
    RD_CODE_INVALID = 4,
    RD_CODE_FULL = 5       /* queue_push: the queue is full */
};

/* The whole text of a script (its helpers, then its body), newly
 * allocated: the caller frees it. NULL on allocation failure. */
char *rd_script_text(rd_script_id id);

/* A short name for logs ("get", "update", ...). */
const char *rd_script_name(rd_script_id id);

#endif
