-- ARGV[6] item, [7] owner, [8] lease end, [9..] change.
local item = ARGV[6]
if not q_holds(item, ARGV[7]) then return {1, -1} end
redis.call('ZADD', QL, ARGV[8], item)
return q_reply(0, q_rec(9, item))
