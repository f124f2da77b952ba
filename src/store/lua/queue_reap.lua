-- ARGV[6] new owner, [7] lease end, [8] max. Reply {0, item, old
-- owner, ...}: leases that ended before now, earliest first.
local out = {0}
local gone = redis.call('ZRANGEBYSCORE', QL, '-inf', '(' .. ARGV[2], 'LIMIT', 0,
                        tonumber(ARGV[8]))
for _, item in ipairs(gone) do
  out[#out + 1] = item
  out[#out + 1] = redis.call('HGET', QO, item) or ''
  redis.call('ZADD', QL, ARGV[7], item)
  redis.call('HSET', QO, item, ARGV[6])
end
return out
