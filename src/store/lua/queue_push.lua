-- ARGV[6] item, [7] due, [8] capacity ('0': none), [9..] change.
-- Codes: 0 pushed, 2 in the queue already, 5 full, or the change's.
local item = ARGV[6]
if redis.call('ZSCORE', QW, item) or redis.call('ZSCORE', QL, item) then
  return {2, -1}
end
local cap = tonumber(ARGV[8])
if cap > 0 and redis.call('ZCARD', QW) >= cap then return {5, -1} end
local r = q_rec(9, item)
if r ~= nil and r[1] ~= 0 then return q_reply(r[1], r) end
redis.call('ZADD', QW, ARGV[7], item)
return q_reply(0, r)
