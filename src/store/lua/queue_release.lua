-- ARGV[6] item, [7] owner, [8] due, [9..] change. A failed change
-- takes the item out of the queue instead.
local item = ARGV[6]
if not q_holds(item, ARGV[7]) then return {1, -1} end
local r = q_rec(9, item)
redis.call('ZREM', QL, item)
redis.call('HDEL', QO, item)
if r == nil or r[1] == 0 then redis.call('ZADD', QW, ARGV[8], item) end
return q_reply(0, r)
