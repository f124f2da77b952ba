/*
 * The Lua texts of the Redis store's scripts (see redis_scripts.h).
 *
 * A script is its body after the helpers it uses: lib_num (exact int64
 * arithmetic on decimal text), lib_ix (the value index), lib_rec (record
 * lookup by the client's clock, the indexes, the deadline cap) and
 * lib_upd (an sd_update applied to one record: the update script's body,
 * and that of the queue scripts of redis_qscripts.c that change a record
 * in their step).
 * Each piece stays under the 4095 characters a C string literal may
 * portably hold; rd_script_text joins them at run time.
 *
 * Keys (see redis_cmd.h; <ns> has ':' and '%' percent-encoded). A
 * record is <prefix>{<ns>:<id>}; its namespace has the indexes
 * <prefix>exp:<ns> (a sorted set of ids scored by expiry in epoch ms,
 * +inf for none: what count reads) and <prefix>lex:<ns> (the same ids,
 * score 0, listed in byte order with ZRANGEBYLEX: what scan reads). Every
 * script that creates, renews or deletes a record updates both in the
 * same step. Scripts that walk an index (scan, count) derive record keys
 * from a prefix argument, and first drop entries whose expiry has passed;
 * scan also checks each id it returns against its record, so a record
 * removed behind the store's back (an eviction, an operator's DEL) leaves
 * the listing at once and the count when a get or scan meets it.
 *
 * The value index (count_by). When the namespace has an indexed field,
 * <prefix>ixr:<ns> maps each counted id to the value it is counted under
 * and <prefix>ix:<ns>:<value> holds those ids scored like the exp index;
 * an update moves the id to the set of its new value (or out of all when
 * the field is gone), a renewal rescores it, and every drop (delete,
 * expiry, deadline, prune) takes it out, all in the script of the change.
 * count_by is a ZCOUNT of the live scores after a prune, as count is.
 * Every script that includes lib_rec gets the index as ARGV[3..5] (the
 * field, the ixr key, the ix key prefix; three '' for none), so the body
 * arguments of those scripts start at ARGV[6].
 */
#include "redis_scripts.h"

#include <stddef.h>

#include "statusd/store.h"
#include "statusd/util.h"
#include "redis_qscripts.h"

static const char lib_num[] =
    "-- Exact signed 64-bit decimal arithmetic on text (Lua numbers are\n"
    "-- doubles). Texts are canonical: an optional '-', no leading zeros.\n"
    "local I64_MAX = '9223372036854775807'\n"
    "local I64_MIN_ABS = '9223372036854775808'\n"
    "\n"
    "local function ucmp(a, b)\n"
    "  if #a ~= #b then\n"
    "    if #a < #b then return -1 end\n"
    "    return 1\n"
    "  end\n"
    "  for i = 1, #a do\n"
    "    local x, y = string.byte(a, i), string.byte(b, i)\n"
    "    if x ~= y then\n"
    "      if x < y then return -1 end\n"
    "      return 1\n"
    "    end\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "\n"
    "local function strip(d)\n"
    "  local s = string.gsub(d, '^0+', '')\n"
    "  if s == '' then return '0' end\n"
    "  return s\n"
    "end\n"
    "\n"
    "local function digits(r)\n"
    "  local out = {}\n"
    "  for k = #r, 1, -1 do out[#out + 1] = string.char(48 + r[k]) end\n"
    "  return strip(table.concat(out))\n"
    "end\n"
    "\n"
    "local function uadd(a, b)\n"
    "  local r, c, i, j = {}, 0, #a, #b\n"
    "  while i > 0 or j > 0 or c > 0 do\n"
    "    local s = c\n"
    "    if i > 0 then s = s + string.byte(a, i) - 48; i = i - 1 end\n"
    "    if j > 0 then s = s + string.byte(b, j) - 48; j = j - 1 end\n"
    "    if s >= 10 then r[#r + 1] = s - 10; c = 1 else r[#r + 1] = s; c = 0 end\n"
    "  end\n"
    "  return digits(r)\n"
    "end\n"
    "\n"
    "local function usub(a, b)\n"
    "  local r, c, j = {}, 0, #b\n"
    "  for i = #a, 1, -1 do\n"
    "    local s = string.byte(a, i) - 48 - c\n"
    "    if j > 0 then s = s - (string.byte(b, j) - 48); j = j - 1 end\n"
    "    if s < 0 then r[#r + 1] = s + 10; c = 1 else r[#r + 1] = s; c = 0 end\n"
    "  end\n"
    "  return digits(r)\n"
    "end\n"
    "\n"
    "-- The canonical text of s when s is a whole decimal int64 (as\n"
    "-- sd_parse_i64 reads it), else nil.\n"
    "local function i64(s)\n"
    "  if type(s) ~= 'string' then return nil end\n"
    "  local sign, d = string.match(s, '^(%-?)(%d+)$')\n"
    "  if d == nil then return nil end\n"
    "  d = strip(d)\n"
    "  local lim = I64_MAX\n"
    "  if sign == '-' then lim = I64_MIN_ABS end\n"
    "  if ucmp(d, lim) > 0 then return nil end\n"
    "  if d == '0' then return '0' end\n"
    "  return sign .. d\n"
    "end\n"
    "\n"
    "local function mag(a)\n"
    "  if string.byte(a, 1) == 45 then return true, string.sub(a, 2) end\n"
    "  return false, a\n"
    "end\n"
    "\n"
    "local function signed(neg, m)\n"
    "  if neg and m ~= '0' then return '-' .. m end\n"
    "  return m\n"
    "end\n"
    "\n"
    "local function cmp(a, b)\n"
    "  local na, ma = mag(a)\n"
    "  local nb, mb = mag(b)\n"
    "  if na ~= nb then\n"
    "    if na then return -1 end\n"
    "    return 1\n"
    "  end\n"
    "  if na then return ucmp(mb, ma) end\n"
    "  return ucmp(ma, mb)\n"
    "end\n"
    "\n"
    "local function add(a, b)\n"
    "  local na, ma = mag(a)\n"
    "  local nb, mb = mag(b)\n"
    "  if na == nb then return signed(na, uadd(ma, mb)) end\n"
    "  if ucmp(ma, mb) >= 0 then return signed(na, usub(ma, mb)) end\n"
    "  return signed(nb, usub(mb, ma))\n"
    "end\n"
    "\n"
    "local function sub(a, b)\n"
    "  local nb, mb = mag(b)\n"
    "  return add(a, signed(not nb, mb))\n"
    "end\n";

static const char lib_ix[] =
    "-- The value index: IXF the indexed field ('' for none), IXR the hash of\n"
    "-- counted id -> value, IXP the prefix of the per-value sorted sets.\n"
    "local IXF, IXR, IXP = ARGV[3], ARGV[4], ARGV[5]\n"
    "local IX_ENC = {['%'] = '%25', [':'] = '%3A'}\n"
    "\n"
    "local function ix_key(v)\n"
    "  return IXP .. (string.gsub(v, '[%%:]', IX_ENC))\n"
    "end\n"
    "\n"
    "-- Counts id under value v with expiry exp ('0': none), out of the set\n"
    "-- of any other value; v nil counts it under none.\n"
    "local function ix_put(id, v, exp)\n"
    "  if IXF == '' then return end\n"
    "  local old = redis.call('HGET', IXR, id)\n"
    "  if old and old ~= v then redis.call('ZREM', ix_key(old), id) end\n"
    "  if v == nil then\n"
    "    if old then redis.call('HDEL', IXR, id) end\n"
    "    return\n"
    "  end\n"
    "  local score = exp\n"
    "  if exp == '0' then score = '+inf' end\n"
    "  redis.call('ZADD', ix_key(v), score, id)\n"
    "  if old ~= v then redis.call('HSET', IXR, id, v) end\n"
    "end\n"
    "\n"
    "-- Rescores a counted id to the new expiry exp (not '0').\n"
    "local function ix_renew(id, exp)\n"
    "  if IXF == '' then return end\n"
    "  local v = redis.call('HGET', IXR, id)\n"
    "  if v then redis.call('ZADD', ix_key(v), exp, id) end\n"
    "end\n";

static const char lib_rec[] =
    "-- Records. Expiries are texts of epoch milliseconds, '0' for none; the\n"
    "-- exp index holds each record's expiry as its score (+inf for none) and\n"
    "-- the lex index its id (score 0) for listing in byte order.\n"
    "local DEADLINE = '" SD_FIELD_DEADLINE "'\n"
    "\n"
    "local function index_put(expk, lexk, id, exp)\n"
    "  if exp == '0' then\n"
    "    redis.call('ZADD', expk, '+inf', id)\n"
    "  else\n"
    "    redis.call('ZADD', expk, exp, id)\n"
    "  end\n"
    "  redis.call('ZADD', lexk, 0, id)\n"
    "end\n"
    "\n"
    "local function drop(key, expk, lexk, id)\n"
    "  redis.call('DEL', key)\n"
    "  redis.call('ZREM', expk, id)\n"
    "  redis.call('ZREM', lexk, id)\n"
    "  ix_put(id, nil, '0')\n"
    "end\n"
    "\n"
    "-- The type and expiry of a live record by the client's clock (now), or\n"
    "-- nil. A record past its expiry is deleted; stale index entries are\n"
    "-- dropped and missing ones restored.\n"
    "local function live(key, expk, lexk, id, now)\n"
    "  local t = redis.call('TYPE', key)['ok']\n"
    "  if t == 'none' then\n"
    "    -- Read before writing: a script's first write decides whether a\n"
    "    -- server out of memory refuses it (OOM) before it changes anything.\n"
    "    if redis.call('ZSCORE', expk, id) or redis.call('ZSCORE', lexk, id) then\n"
    "      redis.call('ZREM', expk, id)\n"
    "      redis.call('ZREM', lexk, id)\n"
    "    end\n"
    "    ix_put(id, nil, '0')\n"
    "    return nil, '0'\n"
    "  end\n"
    "  local exp = redis.call('ZSCORE', expk, id)\n"
    "  if not exp then\n"
    "    local left = redis.call('PTTL', key)\n"
    "    exp = '0'\n"
    "    if left >= 0 then exp = string.format('%.0f', now + left) end\n"
    "    index_put(expk, lexk, id, exp)\n"
    "  elseif exp == 'inf' or exp == '+inf' then\n"
    "    exp = '0'\n"
    "  else\n"
    "    exp = string.format('%.0f', tonumber(exp))\n"
    "  end\n"
    "  if exp ~= '0' and now > tonumber(exp) then\n"
    "    drop(key, expk, lexk, id)\n"
    "    return nil, '0'\n"
    "  end\n"
    "  return t, exp\n"
    "end\n"
    "\n"
    "-- base (now + ttl, from the client) capped by a deadline field value.\n"
    "local function capped(base, deadline)\n"
    "  local d = i64(deadline)\n"
    "  if d ~= nil and cmp(d, base) < 0 then return d end\n"
    "  return base\n"
    "end\n"
    "\n"
    "-- capped() at the cost of two matches for the texts a poll meets:\n"
    "-- positive decimals of at most 15 digits with no leading zero are\n"
    "-- exact as Lua numbers; any other text takes capped()'s arithmetic.\n"
    "local function capped_fast(base, deadline)\n"
    "  if deadline == nil then return base end\n"
    "  if #deadline <= 15 and #base <= 15 and string.find(deadline, '^[1-9]%d*$')\n"
    "     and string.find(base, '^[1-9]%d*$') then\n"
    "    if tonumber(deadline) < tonumber(base) then return deadline end\n"
    "    return base\n"
    "  end\n"
    "  return capped(base, deadline)\n"
    "end\n"
    "\n"
    "-- Drops up to 1000 index entries (and records) whose expiry has passed.\n"
    "local function prune(expk, lexk, now, rprefix)\n"
    "  local old = redis.call('ZRANGEBYSCORE', expk, '-inf', '(' .. now, 'LIMIT', 0, 1000)\n"
    "  for _, id in ipairs(old) do drop(rprefix .. id .. '}', expk, lexk, id) end\n"
    "end\n"
    "\n"
    "local function append_all(r, list)\n"
    "  for i = 1, #list do r[#r + 1] = list[i] end\n"
    "  return r\n"
    "end\n";

static const char body_get[] =
    "-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),\n"
    "-- renewal base ('0': none). Reply {1} or {0, expiry, name, value, ...}.\n"
    "-- The poll's script, so its common case (a live hash with its index\n"
    "-- entry) costs HGETALL and ZSCORE before the renewal's writes; any\n"
    "-- other case goes through live(), as in every other script.\n"
    "local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]\n"
    "local id, now, base = ARGV[1], tonumber(ARGV[2]), ARGV[6]\n"
    "local all = redis.pcall('HGETALL', key)\n"
    "if type(all) ~= 'table' or all.err ~= nil or #all == 0 then\n"
    "  -- absent or not a hash: live() drops what expired and repairs the\n"
    "  -- indexes\n"
    "  live(key, expk, lexk, id, now)\n"
    "  return {1}\n"
    "end\n"
    "local exp = redis.call('ZSCORE', expk, id)\n"
    "if not exp or exp == 'inf' or exp == '+inf' then\n"
    "  local t\n"
    "  t, exp = live(key, expk, lexk, id, now)\n"
    "  if t ~= 'hash' then return {1} end\n"
    "else\n"
    "  exp = string.format('%.0f', tonumber(exp))\n"
    "  if exp ~= '0' and now > tonumber(exp) then\n"
    "    drop(key, expk, lexk, id)\n"
    "    return {1}\n"
    "  end\n"
    "end\n"
    "if base ~= '0' then\n"
    "  local dl = nil\n"
    "  for i = 1, #all, 2 do\n"
    "    if all[i] == DEADLINE then dl = all[i + 1] end\n"
    "  end\n"
    "  exp = capped_fast(base, dl)\n"
    "  if tonumber(exp) <= now then\n"
    "    drop(key, expk, lexk, id)\n"
    "    return {1}\n"
    "  end\n"
    "  redis.call('PEXPIREAT', key, exp)\n"
    "  redis.call('ZADD', expk, exp, id)\n"
    "  ix_renew(id, exp)\n"
    "end\n"
    "-- unpack is cheaper than a copy loop, within Lua's stack limit\n"
    "if #all <= 1000 then return {0, exp, unpack(all)} end\n"
    "return append_all({0, exp}, all)\n";

static const char lib_upd[] =
    "-- Record updates (sd_update), for the update script and for queue\n"
    "-- scripts that change a record in the same step. A spec is read from\n"
    "-- ARGV at i: mode (e, c, u), expiry base ('0': keep), want ('1': reply\n"
    "-- with the fields), number of condition values (-1: no condition),\n"
    "-- condition field, the values, then one (op, name, arg) triple per\n"
    "-- assignment to the end of ARGV, op one of s, n, i, d.\n"
    "local function upd_spec(i)\n"
    "  local n = tonumber(ARGV[i + 3])\n"
    "  return {mode = ARGV[i], base = ARGV[i + 1], want = ARGV[i + 2] == '1',\n"
    "          ncond = n, cfield = ARGV[i + 4], cond = i + 5,\n"
    "          ops = i + 5 + math.max(n, 0)}\n"
    "end\n"
    "\n"
    "-- Applies spec s to the record (key, id) by the client's clock now.\n"
    "-- Reply {code} or {code, expiry, name, value, ...}; code 0 ok, 1 not\n"
    "-- found, 2 exists, 3 conflict, 4 invalid.\n"
    "local function upd_apply(key, expk, lexk, id, now, s)\n"
    "  local t, exp = live(key, expk, lexk, id, now)\n"
    "  if t and s.mode == 'c' then return {2} end\n"
    "  if t and t ~= 'hash' then return {3} end\n"
    "  if not t and s.mode == 'e' then return {1} end\n"
    "  local h, names, seen = {}, {}, {}\n"
    "  if t then\n"
    "    local all = redis.call('HGETALL', key)\n"
    "    for i = 1, #all, 2 do\n"
    "      h[all[i]] = all[i + 1]\n"
    "      names[#names + 1] = all[i]\n"
    "      seen[all[i]] = true\n"
    "    end\n"
    "  end\n"
    "  local function fields(r)\n"
    "    if s.want then\n"
    "      for _, f in ipairs(names) do\n"
    "        if h[f] ~= nil then r[#r + 1] = f; r[#r + 1] = h[f] end\n"
    "      end\n"
    "    end\n"
    "    return r\n"
    "  end\n"
    "  if t and s.ncond >= 0 then\n"
    "    local v, ok = h[s.cfield], false\n"
    "    for i = 0, s.ncond - 1 do\n"
    "      if v ~= nil and ARGV[s.cond + i] == v then ok = true end\n"
    "    end\n"
    "    if not ok then return fields({3, exp}) end\n"
    "  end\n"
    "  -- Every assignment is applied to h first; nothing is written until\n"
    "  -- all of them are known to be valid.\n"
    "  local changed, touched = {}, {}\n"
    "  for i = s.ops, #ARGV - 2, 3 do\n"
    "    local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "    if op == 's' then\n"
    "      h[f] = v\n"
    "    elseif op == 'n' then\n"
    "      if h[f] == nil then h[f] = v end\n"
    "    elseif op == 'i' then\n"
    "      local cur = '0'\n"
    "      if h[f] ~= nil then cur = i64(h[f]) end\n"
    "      if cur == nil then return {4} end\n"
    "      h[f] = i64(add(cur, v))\n"
    "      if h[f] == nil then return {4} end\n"
    "    elseif op == 'd' then\n"
    "      h[f] = nil\n"
    "    else\n"
    "      return {4}\n"
    "    end\n"
    "    if not seen[f] then seen[f] = true; names[#names + 1] = f end\n"
    "    if not touched[f] then touched[f] = true; changed[#changed + 1] = f end\n"
    "  end\n"
    "  local n = 0\n"
    "  for _, f in ipairs(names) do\n"
    "    if h[f] ~= nil then n = n + 1 end\n"
    "  end\n"
    "  if s.base ~= '0' then\n"
    "    exp = capped(s.base, h[DEADLINE])\n"
    "  elseif not t then\n"
    "    exp = '0'\n"
    "  end\n"
    "  local reply = fields({0, exp})\n"
    "  if n == 0 or (s.base ~= '0' and tonumber(exp) <= now) then\n"
    "    if t then drop(key, expk, lexk, id) end\n"
    "    return reply\n"
    "  end\n"
    "  local sets, dels = {}, {}\n"
    "  for _, f in ipairs(changed) do\n"
    "    if h[f] ~= nil then\n"
    "      sets[#sets + 1] = f\n"
    "      sets[#sets + 1] = h[f]\n"
    "    else\n"
    "      dels[#dels + 1] = f\n"
    "    end\n"
    "  end\n"
    "  -- Sets before deletes: the hash never becomes empty on the way, which\n"
    "  -- would drop the key and its expiry.\n"
    "  for i = 1, #sets, 200 do\n"
    "    redis.call('HSET', key, unpack(sets, i, math.min(i + 199, #sets)))\n"
    "  end\n"
    "  for i = 1, #dels, 200 do\n"
    "    redis.call('HDEL', key, unpack(dels, i, math.min(i + 199, #dels)))\n"
    "  end\n"
    "  if s.base ~= '0' then redis.call('PEXPIREAT', key, exp) end\n"
    "  index_put(expk, lexk, id, exp)\n"
    "  ix_put(id, h[IXF], exp)\n"
    "  return reply\n"
    "end\n";

static const char body_update[] =
    "-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),\n"
    "-- then the update's spec (see upd_spec). Reply as upd_apply's.\n"
    "return upd_apply(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), upd_spec(6))\n";

static const char body_del[] =
    "-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3).\n"
    "-- Reply {0} or {1}.\n"
    "if not live(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2])) then return {1} end\n"
    "drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1])\n"
    "return {0}\n";

static const char body_list_append[] =
    "-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),\n"
    "-- expiry ('0': keep), max length ('0': unbounded), want ('1': reply\n"
    "-- with the items), items. Reply {3} or {0, expiry, item, ...}.\n"
    "local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]\n"
    "local id, now, base, maxlen = ARGV[1], tonumber(ARGV[2]), ARGV[6], ARGV[7]\n"
    "local t, exp = live(key, expk, lexk, id, now)\n"
    "if t and t ~= 'list' then return {3} end\n"
    "for i = 9, #ARGV, 200 do\n"
    "  redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))\n"
    "end\n"
    "if maxlen ~= '0' then redis.call('LTRIM', key, '-' .. maxlen, '-1') end\n"
    "if base ~= '0' then\n"
    "  exp = base\n"
    "  redis.call('PEXPIREAT', key, exp)\n"
    "end\n"
    "index_put(expk, lexk, id, exp)\n"
    "if ARGV[8] ~= '1' then return {0, exp} end\n"
    "return append_all({0, exp}, redis.call('LRANGE', key, 0, -1))\n";

static const char body_list_get[] =
    "-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),\n"
    "-- expiry ('0': keep). Reply {1} or {0, expiry, item, ...}.\n"
    "local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]\n"
    "local id, now, base = ARGV[1], tonumber(ARGV[2]), ARGV[6]\n"
    "local t, exp = live(key, expk, lexk, id, now)\n"
    "if t ~= 'list' then return {1} end\n"
    "if base ~= '0' then\n"
    "  exp = base\n"
    "  redis.call('PEXPIREAT', key, exp)\n"
    "  redis.call('ZADD', expk, exp, id)\n"
    "end\n"
    "return append_all({0, exp}, redis.call('LRANGE', key, 0, -1))\n";

static const char body_scan[] =
    "-- KEYS: exp index, lex index. ARGV: now, record key prefix (up to the\n"
    "-- id), value index (3), last id of the previous page ('' for the\n"
    "-- first), limit. Reply {more, id, ...}: the limit smallest live ids\n"
    "-- after the cursor.\n"
    "local expk, lexk, rprefix, after = KEYS[1], KEYS[2], ARGV[2], ARGV[6]\n"
    "local now, limit = tonumber(ARGV[1]), tonumber(ARGV[7])\n"
    "prune(expk, lexk, ARGV[1], rprefix)\n"
    "local ids, start = {}, '-'\n"
    "if after ~= '' then start = '(' .. after end\n"
    "while #ids <= limit do\n"
    "  local batch = redis.call('ZRANGEBYLEX', lexk, start, '+', 'LIMIT', 0,\n"
    "                           limit + 1 - #ids)\n"
    "  if #batch == 0 then break end\n"
    "  for _, id in ipairs(batch) do\n"
    "    if live(rprefix .. id .. '}', expk, lexk, id, now) then ids[#ids + 1] = id end\n"
    "    start = '(' .. id\n"
    "  end\n"
    "end\n"
    "local more = 0\n"
    "if #ids > limit then\n"
    "  more = 1\n"
    "  ids[#ids] = nil\n"
    "end\n"
    "return append_all({more}, ids)\n";

static const char body_count[] =
    "-- KEYS: exp index, lex index. ARGV: now, record key prefix, value\n"
    "-- index (3). Reply: the number of records whose expiry has not passed.\n"
    "prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])\n"
    "return redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')\n";

static const char body_count_by[] =
    "-- KEYS: exp index, lex index. ARGV: now, record key prefix, value\n"
    "-- index (3), value. Reply: the number of records counted under value\n"
    "-- whose expiry has not passed.\n"
    "prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])\n"
    "return redis.call('ZCOUNT', ix_key(ARGV[6]), ARGV[1], '+inf')\n";

static const char body_rate[] =
    "-- GCRA step. KEYS: state (the TAT in ns). ARGV: now, emission interval\n"
    "-- and burst - interval, all in ns. Reply {allowed, max(TAT - now, 0)}.\n"
    "local key, now, interval, room = KEYS[1], ARGV[1], ARGV[2], ARGV[3]\n"
    "local tat, ahead = now, '0'\n"
    "local stored = i64(redis.call('GET', key))\n"
    "if stored ~= nil and cmp(stored, now) > 0 then\n"
    "  tat = stored\n"
    "  ahead = sub(stored, now)\n"
    "end\n"
    "if cmp(ahead, room) > 0 then return {0, ahead} end\n"
    "local nxt = add(tat, interval)\n"
    "local ms = '1'\n"
    "if #nxt > 6 then\n"
    "  ms = string.sub(nxt, 1, #nxt - 6)\n"
    "  if string.sub(nxt, -6) ~= '000000' then ms = add(ms, '1') end\n"
    "end\n"
    "redis.call('SET', key, nxt)\n"
    "redis.call('PEXPIREAT', key, ms)\n"
    "return {1, ahead}\n";

#define SCRIPT_PARTS 7

typedef struct script_def {
    const char *name;
    const char *parts[SCRIPT_PARTS];   /* joined in order; NULL ends early */
} script_def;

#define REC_SCRIPT(name, body) {name, {lib_num, lib_ix, lib_rec, body}}
#define QREC_SCRIPT(name, body) \
    {name, {lib_num, lib_ix, lib_rec, lib_upd, rd_lib_q, rd_lib_qrec, body}}

static const script_def scripts[RD_SCRIPT_N] = {
    [RD_SCRIPT_GET] = REC_SCRIPT("get", body_get),
    [RD_SCRIPT_UPDATE] = {"update", {lib_num, lib_ix, lib_rec, lib_upd, body_update}},
    [RD_SCRIPT_DEL] = REC_SCRIPT("del", body_del),
    [RD_SCRIPT_LIST_APPEND] = REC_SCRIPT("list_append", body_list_append),
    [RD_SCRIPT_LIST_GET] = REC_SCRIPT("list_get", body_list_get),
    [RD_SCRIPT_SCAN] = REC_SCRIPT("scan", body_scan),
    [RD_SCRIPT_COUNT] = REC_SCRIPT("count", body_count),
    [RD_SCRIPT_COUNT_BY] = REC_SCRIPT("count_by", body_count_by),
    [RD_SCRIPT_RATE] = {"rate", {lib_num, body_rate}},
    [RD_SCRIPT_QPUSH] = QREC_SCRIPT("queue_push", rd_body_qpush),
    [RD_SCRIPT_QTAKE] = QREC_SCRIPT("queue_take", rd_body_qtake),
    [RD_SCRIPT_QRENEW] = QREC_SCRIPT("queue_renew", rd_body_qrenew),
    [RD_SCRIPT_QACK] = QREC_SCRIPT("queue_ack", rd_body_qack),
    [RD_SCRIPT_QRELEASE] = QREC_SCRIPT("queue_release", rd_body_qrelease),
    [RD_SCRIPT_QREMOVE] = QREC_SCRIPT("queue_remove", rd_body_qremove),
    [RD_SCRIPT_QREAP] = {"queue_reap", {rd_lib_q, rd_body_qreap}},
    [RD_SCRIPT_QSTATS] = {"queue_stats", {rd_lib_q, rd_body_qstats}},
};

char *rd_script_text(rd_script_id id)
{
    if ((unsigned)id >= RD_SCRIPT_N)
        return NULL;
    sd_buf b = SD_BUF_INIT;
    for (size_t i = 0; i < SCRIPT_PARTS && scripts[id].parts[i] != NULL; i++)
        sd_buf_puts(&b, scripts[id].parts[i]);
    return sd_buf_steal(&b, NULL);
}

const char *rd_script_name(rd_script_id id)
{
    return (unsigned)id < RD_SCRIPT_N ? scripts[id].name : "unknown";
}
