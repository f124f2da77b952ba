-- GCRA step. KEYS: state (the TAT in ns). ARGV: now, emission interval
-- and burst - interval, all in ns. Reply {allowed, max(TAT - now, 0)}.
local key, now, interval, room = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local tat, ahead = now, '0'
local stored = i64(redis.call('GET', key))
if stored ~= nil and cmp(stored, now) > 0 then
  tat = stored
  ahead = sub(stored, now)
end
if cmp(ahead, room) > 0 then return {0, ahead} end
local nxt = add(tat, interval)
local ms = '1'
if #nxt > 6 then
  ms = string.sub(nxt, 1, #nxt - 6)
  if string.sub(nxt, -6) ~= '000000' then ms = add(ms, '1') end
end
redis.call('SET', key, nxt)
redis.call('PEXPIREAT', key, ms)
return {1, ahead}
