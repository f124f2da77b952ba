-- ARGV[6] item, [7..] change. Code 1: the item is not waiting.
local item = ARGV[6]
local r = q_rec(7, item)
if r ~= nil and r[1] ~= 0 then return q_reply(0, r) end
if redis.call('ZREM', QW, item) == 0 then return q_reply(1, r) end
return q_reply(0, r)
