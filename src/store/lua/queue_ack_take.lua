-- ARGV[6] item, [7] owner, [8] take owner, [9] lease end, [10] due
-- limit, [11] max, [12] j, where the take's change starts; [13..j-1] the
-- ack's change, [j..] the take's. Reply {ack, take}: ack as queue_ack's,
-- take as queue_take's (nothing taken when the ack found no lease).
local item, j = ARGV[6], tonumber(ARGV[12])
if not q_holds(item, ARGV[7]) then return {{1, -1}, {0}} end
local r = q_rec(13, item, j - 1)
redis.call('ZREM', QL, item)
redis.call('HDEL', QO, item)
local out = {0}
q_take(ARGV[8], ARGV[9], ARGV[10], tonumber(ARGV[11]), j, nil, out)
return {q_reply(0, r), out}
