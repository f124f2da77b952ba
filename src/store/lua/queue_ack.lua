-- ARGV[6] item, [7] owner, [8..] change.
local item = ARGV[6]
if not q_holds(item, ARGV[7]) then return {1, -1} end
local r = q_rec(8, item)
redis.call('ZREM', QL, item)
redis.call('HDEL', QO, item)
return q_reply(0, r)
