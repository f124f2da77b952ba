-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),
-- expiry ('0': keep), max length ('0': unbounded), want ('1': reply
-- with the items), items. Reply {3} or {0, expiry, item, ...}.
local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]
local id, now, base, maxlen = ARGV[1], tonumber(ARGV[2]), ARGV[6], ARGV[7]
local t, exp = live(key, expk, lexk, id, now)
if t and t ~= 'list' then return {3} end
for i = 9, #ARGV, 200 do
  redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if maxlen ~= '0' then redis.call('LTRIM', key, '-' .. maxlen, '-1') end
if base ~= '0' then
  exp = base
  redis.call('PEXPIREAT', key, exp)
end
index_put(expk, lexk, id, exp)
redis.call('PUBLISH', key, '')
if ARGV[8] ~= '1' then return {0, exp} end
return append_all({0, exp}, redis.call('LRANGE', key, 0, -1))
