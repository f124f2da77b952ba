-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),
-- renewal base ('0': none). Reply {1} or {0, expiry, name, value, ...}.
-- The poll's script, so its common case (a live hash with its index
-- entry) costs HGETALL and ZSCORE before the renewal's writes; any
-- other case goes through live(), as in every other script.
local key, expk, lexk = KEYS[1], KEYS[2], KEYS[3]
local id, now, base = ARGV[1], tonumber(ARGV[2]), ARGV[6]
local all = redis.pcall('HGETALL', key)
if type(all) ~= 'table' or all.err ~= nil or #all == 0 then
  -- absent or not a hash: live() drops what expired and repairs the
  -- indexes
  live(key, expk, lexk, id, now)
  return {1}
end
local exp = redis.call('ZSCORE', expk, id)
if not exp or exp == 'inf' or exp == '+inf' then
  local t
  t, exp = live(key, expk, lexk, id, now)
  if t ~= 'hash' then return {1} end
else
  exp = string.format('%.0f', tonumber(exp))
  if exp ~= '0' and now > tonumber(exp) then
    drop(key, expk, lexk, id)
    return {1}
  end
end
if base ~= '0' then
  local dl = nil
  for i = 1, #all, 2 do
    if all[i] == DEADLINE then dl = all[i + 1] end
  end
  exp = capped_fast(base, dl)
  if tonumber(exp) <= now then
    drop(key, expk, lexk, id)
    return {1}
  end
  redis.call('PEXPIREAT', key, exp)
  redis.call('ZADD', expk, exp, id)
end
-- unpack is cheaper than a copy loop, within Lua's stack limit
if #all <= 1000 then return {0, exp, unpack(all)} end
return append_all({0, exp}, all)
