/*
 * Which parts make each of the Redis store's scripts (see
 * redis_scripts.h). The parts are the files of src/store/lua/, embedded
 * at build time (cmake/embed.cmake) as rd_lua_<file name>.
 *
 * A script is a prelude of constants shared with the C code, then the
 * helpers it uses, then its body: lib_num (exact int64 arithmetic on
 * decimal text), lib_ix (the value index), lib_rec (record lookup by the
 * client's clock, the indexes, the deadline cap), lib_upd (an sd_update
 * applied to one record: the update script's body, and that of the queue
 * scripts that change a record in their step), lib_q (a queue's keys and
 * clock), lib_qrec (a queue step's record change and reply) and
 * lib_qtake (a take's moves, for take and ack_take). A body
 * opens with its KEYS, ARGV and reply.
 *
 * Keys (see redis_args.h; <ns> has ':' and '%' percent-encoded). A
 * record is <prefix>{<ns>:<id>}; its namespace has the indexes
 * <prefix>exp:<ns> (a sorted set of ids scored by expiry in epoch ms,
 * +inf for none: what count reads) and <prefix>lex:<ns> (the same ids,
 * score 0, listed in byte order with ZRANGEBYLEX: what scan reads). Every
 * script that creates or deletes a record updates both in the same step,
 * and one that moves its expiry rescores its exp entry (a live record's
 * lex entry stays as it is). Scripts that walk an index (scan, count)
 * derive record keys from a prefix argument, and first drop entries
 * whose expiry has passed; scan also checks each id it returns against
 * its record, so a record removed behind the store's back (an eviction,
 * an operator's DEL) leaves the listing at once, and the count when a
 * get or scan meets it or its expiry passes.
 *
 * The value index (count_by, scan_by). When the namespace has an indexed
 * field, <prefix>ixr:<ns> maps each counted id to the value it is
 * counted under and <prefix>ix:<ns>:<value>:o holds those ids scored by
 * their order key (lib_ix.lua); an update moves the id to the set of its
 * new value with its key (or out of all when the field is gone), and
 * every drop (delete, expiry, deadline, prune) takes it out, all in the
 * script of the change. count_by is the set's ZCARD once a prune has
 * left no record past its expiry (it replies how many are left, and the
 * caller calls again); the sweeper (redis_sweep.h) runs the same prune
 * every second, so few are. An id stays counted until a script drops
 * it, as in the exp index: one whose record was removed behind the
 * store's back counts until a get or scan meets it or its expiry passes
 * (the sweeper's prune drops it then); one whose exp entry went too,
 * until a get or scan meets it.
 * scan_by reads the set from the top down. legacy_index counts into the
 * ordered sets what only the earlier layout counted (redis_keys.c).
 * Every script that includes lib_rec gets the index as ARGV[3..5] (the
 * field, the ixr key, the ix key prefix; three '' for none), so the body
 * arguments of those scripts start at ARGV[6].
 */
#include "redis_scripts.h"

#include <stddef.h>

#include "redis_lua.h"
#include "statusd/store.h"
#include "statusd/util.h"

/* Constants the scripts share with the C code, as Lua locals. */
static const char prelude[] = "local DEADLINE = '" SD_FIELD_DEADLINE "'\n";

#define SCRIPT_PARTS 8

typedef struct script_def {
    const char *name;
    const char *parts[SCRIPT_PARTS];   /* joined in order; NULL ends early */
} script_def;

#define REC_PARTS rd_lua_lib_num, rd_lua_lib_ix, rd_lua_lib_rec
#define QREC_PARTS REC_PARTS, rd_lua_lib_upd, rd_lua_lib_q, rd_lua_lib_qrec

static const script_def scripts[RD_SCRIPT_N] = {
    [RD_SCRIPT_GET] = {"get", {REC_PARTS, rd_lua_get}},
    [RD_SCRIPT_UPDATE] = {"update", {REC_PARTS, rd_lua_lib_upd, rd_lua_update}},
    [RD_SCRIPT_DEL] = {"del", {REC_PARTS, rd_lua_del}},
    [RD_SCRIPT_LIST_APPEND] = {"list_append", {REC_PARTS, rd_lua_list_append}},
    [RD_SCRIPT_LIST_GET] = {"list_get", {REC_PARTS, rd_lua_list_get}},
    [RD_SCRIPT_SCAN] = {"scan", {REC_PARTS, rd_lua_scan}},
    [RD_SCRIPT_COUNT] = {"count", {REC_PARTS, rd_lua_count}},
    [RD_SCRIPT_COUNT_BY] = {"count_by", {REC_PARTS, rd_lua_count_by}},
    [RD_SCRIPT_PRUNE] = {"prune", {REC_PARTS, rd_lua_prune}},
    [RD_SCRIPT_LEGACY_INDEX] = {"legacy_index", {REC_PARTS, rd_lua_legacy_index}},
    [RD_SCRIPT_SCAN_BY] = {"scan_by", {REC_PARTS, rd_lua_scan_by}},
    [RD_SCRIPT_RATE] = {"rate", {rd_lua_lib_num, rd_lua_rate}},
    [RD_SCRIPT_QPUSH] = {"queue_push", {QREC_PARTS, rd_lua_queue_push}},
    [RD_SCRIPT_QTAKE] = {"queue_take", {QREC_PARTS, rd_lua_lib_qtake, rd_lua_queue_take}},
    [RD_SCRIPT_QRENEW] = {"queue_renew", {QREC_PARTS, rd_lua_queue_renew}},
    [RD_SCRIPT_QACK] = {"queue_ack", {QREC_PARTS, rd_lua_queue_ack}},
    [RD_SCRIPT_QACK_TAKE] = {"queue_ack_take",
                             {QREC_PARTS, rd_lua_lib_qtake, rd_lua_queue_ack_take}},
    [RD_SCRIPT_QRELEASE] = {"queue_release", {QREC_PARTS, rd_lua_queue_release}},
    [RD_SCRIPT_QREMOVE] = {"queue_remove", {QREC_PARTS, rd_lua_queue_remove}},
    [RD_SCRIPT_QREAP] = {"queue_reap", {rd_lua_lib_q, rd_lua_queue_reap}},
    [RD_SCRIPT_QSTATS] = {"queue_stats", {rd_lua_lib_q, rd_lua_queue_stats}},
};

char *rd_script_text(rd_script_id id)
{
    if ((unsigned)id >= RD_SCRIPT_N)
        return NULL;
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, prelude);
    for (size_t i = 0; i < SCRIPT_PARTS && scripts[id].parts[i] != NULL; i++)
        sd_buf_puts(&b, scripts[id].parts[i]);
    return sd_buf_steal(&b, NULL);
}

const char *rd_script_name(rd_script_id id)
{
    return (unsigned)id < RD_SCRIPT_N ? scripts[id].name : "unknown";
}
