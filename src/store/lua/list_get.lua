-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),
-- expiry ('0': keep). Reply {1} or {0, expiry, item, ...}.
local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]
local id, now, base = ARGV[1], tonumber(ARGV[2]), ARGV[6]
local t, exp = live(key, expk, lexk, id, now)
if t ~= 'list' then return {1} end
if base ~= '0' then
  exp = base
  redis.call('PEXPIREAT', key, exp)
  redis.call('ZADD', expk, exp, id)
end
return append_all({0, exp}, redis.call('LRANGE', key, 0, -1))
