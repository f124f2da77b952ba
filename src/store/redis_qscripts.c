/*
 * The Lua texts of the Redis store's queue scripts (see redis_qscripts.h
 * and the queue operations of statusd/store.h); redis_scripts.c joins
 * them with the record helpers they use.
 *
 * Keys of a queue, all with the queue's name as hash tag so they share a
 * slot: <prefix>q:{<queue>}:w, the waiting items, a sorted set scored by
 * due time (epoch ms); <prefix>q:{<queue>}:l, the leased items, scored by
 * lease end; <prefix>q:{<queue>}:o, a hash of each leased item's owner.
 * An item is a member of :w or of :l (then with an owner in :o), never
 * both. Due items are those scored at most now; a lease ran out when its
 * end is before now. Sorted sets order equal scores by member bytes,
 * which the memory store copies.
 *
 * A script that changes a record gets the record namespace's exp and lex
 * indexes as KEYS[4] and KEYS[5], the record key prefix ("<prefix>{<ns>:")
 * as ARGV[1] and the value index as ARGV[3..5], the layout lib_rec and
 * lib_ix read; ARGV[2] is always the client's clock. Its change is a flag
 * ('1': there is one) followed by an update spec (lib_upd) at the end of
 * ARGV.
 *
 * Writes come after the reads that decide them, and the first write of a
 * script is never one that could be left half done: a server out of
 * memory refuses a script's first write, and only that one.
 */
#include "redis_qscripts.h"

const char rd_lib_q[] =
    "-- Queue keys: waiting (by due time), leased (by lease end), owners.\n"
    "local QW, QL, QO = KEYS[1], KEYS[2], KEYS[3]\n"
    "local NOW = tonumber(ARGV[2])\n";

const char rd_lib_qrec[] =
    "-- The change whose flag is at ARGV[i], applied to item's record: its\n"
    "-- reply, or nil when the flag says there is no change.\n"
    "local q_spec = nil\n"
    "local function q_rec(i, item)\n"
    "  if ARGV[i] ~= '1' then return nil end\n"
    "  if q_spec == nil then q_spec = upd_spec(i + 1) end\n"
    "  return upd_apply(ARGV[1] .. item .. '}', KEYS[4], KEYS[5], item, NOW, q_spec)\n"
    "end\n"
    "\n"
    "-- item's record as it stands, as a change's reply would give it.\n"
    "local function q_read(item)\n"
    "  local key = ARGV[1] .. item .. '}'\n"
    "  local t, exp = live(key, KEYS[4], KEYS[5], item, NOW)\n"
    "  if t ~= 'hash' then return {1} end\n"
    "  return append_all({0, exp}, redis.call('HGETALL', key))\n"
    "end\n"
    "\n"
    "-- {queue code, change code (-1: not tried), expiry, fields...}\n"
    "local function q_reply(code, r)\n"
    "  if r == nil then return {code, -1} end\n"
    "  return append_all({code}, r)\n"
    "end\n"
    "\n"
    "local function q_holds(item, owner)\n"
    "  return redis.call('HGET', QO, item) == owner\n"
    "end\n";

const char rd_body_qpush[] =
    "-- ARGV[6] item, [7] due, [8] capacity ('0': none), [9..] change.\n"
    "-- Codes: 0 pushed, 2 in the queue already, 5 full, or the change's.\n"
    "local item = ARGV[6]\n"
    "if redis.call('ZSCORE', QW, item) or redis.call('ZSCORE', QL, item) then\n"
    "  return {2, -1}\n"
    "end\n"
    "local cap = tonumber(ARGV[8])\n"
    "if cap > 0 and redis.call('ZCARD', QW) >= cap then return {5, -1} end\n"
    "local r = q_rec(9, item)\n"
    "if r ~= nil and r[1] ~= 0 then return q_reply(r[1], r) end\n"
    "redis.call('ZADD', QW, ARGV[7], item)\n"
    "return q_reply(0, r)\n";

const char rd_body_qtake[] =
    "-- ARGV[6] owner, [7] lease end, [8] due limit, [9] max, [10] resume\n"
    "-- ('1'), [11..] change. Reply {0, item, k, e1..ek, item, k, ...}: each\n"
    "-- item with its record as a change's reply gives it (k = 0: none).\n"
    "local owner, lend, max = ARGV[6], ARGV[7], tonumber(ARGV[9])\n"
    "local out, n = {0}, 0\n"
    "local function put(item, r)\n"
    "  out[#out + 1] = item\n"
    "  if r == nil then r = {} end\n"
    "  out[#out + 1] = #r\n"
    "  append_all(out, r)\n"
    "  n = n + 1\n"
    "end\n"
    "if ARGV[10] == '1' then\n"
    "  for _, item in ipairs(redis.call('ZRANGE', QL, 0, -1)) do\n"
    "    if n < max and q_holds(item, owner) then\n"
    "      redis.call('ZADD', QL, lend, item)\n"
    "      if ARGV[11] == '1' then put(item, q_read(item)) else put(item, nil) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "while n < max do\n"
    "  local batch = redis.call('ZRANGEBYSCORE', QW, '-inf', ARGV[8], 'LIMIT', 0, max - n)\n"
    "  if #batch == 0 then break end\n"
    "  for _, item in ipairs(batch) do\n"
    "    redis.call('ZREM', QW, item)\n"
    "    local r = q_rec(11, item)\n"
    "    if r == nil or r[1] == 0 then\n"
    "      redis.call('ZADD', QL, lend, item)\n"
    "      redis.call('HSET', QO, item, owner)\n"
    "      put(item, r)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

const char rd_body_qrenew[] =
    "-- ARGV[6] item, [7] owner, [8] lease end, [9..] change.\n"
    "local item = ARGV[6]\n"
    "if not q_holds(item, ARGV[7]) then return {1, -1} end\n"
    "redis.call('ZADD', QL, ARGV[8], item)\n"
    "return q_reply(0, q_rec(9, item))\n";

const char rd_body_qack[] =
    "-- ARGV[6] item, [7] owner, [8..] change.\n"
    "local item = ARGV[6]\n"
    "if not q_holds(item, ARGV[7]) then return {1, -1} end\n"
    "local r = q_rec(8, item)\n"
    "redis.call('ZREM', QL, item)\n"
    "redis.call('HDEL', QO, item)\n"
    "return q_reply(0, r)\n";

const char rd_body_qrelease[] =
    "-- ARGV[6] item, [7] owner, [8] due, [9..] change. A failed change\n"
    "-- takes the item out of the queue instead.\n"
    "local item = ARGV[6]\n"
    "if not q_holds(item, ARGV[7]) then return {1, -1} end\n"
    "local r = q_rec(9, item)\n"
    "redis.call('ZREM', QL, item)\n"
    "redis.call('HDEL', QO, item)\n"
    "if r == nil or r[1] == 0 then redis.call('ZADD', QW, ARGV[8], item) end\n"
    "return q_reply(0, r)\n";

const char rd_body_qremove[] =
    "-- ARGV[6] item, [7..] change. Code 1: the item is not waiting.\n"
    "local item = ARGV[6]\n"
    "local r = q_rec(7, item)\n"
    "if r ~= nil and r[1] ~= 0 then return q_reply(0, r) end\n"
    "if redis.call('ZREM', QW, item) == 0 then return q_reply(1, r) end\n"
    "return q_reply(0, r)\n";

const char rd_body_qreap[] =
    "-- ARGV[6] new owner, [7] lease end, [8] max. Reply {0, item, old\n"
    "-- owner, ...}: leases that ended before now, earliest first.\n"
    "local out = {0}\n"
    "local gone = redis.call('ZRANGEBYSCORE', QL, '-inf', '(' .. ARGV[2], 'LIMIT', 0,\n"
    "                        tonumber(ARGV[8]))\n"
    "for _, item in ipairs(gone) do\n"
    "  out[#out + 1] = item\n"
    "  out[#out + 1] = redis.call('HGET', QO, item) or ''\n"
    "  redis.call('ZADD', QL, ARGV[7], item)\n"
    "  redis.call('HSET', QO, item, ARGV[6])\n"
    "end\n"
    "return out\n";

const char rd_body_qstats[] =
    "-- Reply {ready, delayed, leased}.\n"
    "local ready = redis.call('ZCOUNT', QW, '-inf', ARGV[2])\n"
    "return {ready, redis.call('ZCARD', QW) - ready, redis.call('ZCARD', QL)}\n";
