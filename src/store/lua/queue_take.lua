-- ARGV[6] owner, [7] lease end, [8] due limit, [9] max, [10] resume
-- ('1'), [11..] change. Reply {0, item, k, e1..ek, item, k, ...}: each
-- item with its record as a change's reply gives it (k = 0: none).
local owner, lend, max = ARGV[6], ARGV[7], tonumber(ARGV[9])
local out, n = {0}, 0
if ARGV[10] == '1' then
  for _, item in ipairs(redis.call('ZRANGE', QL, 0, -1)) do
    if n < max and q_holds(item, owner) then
      redis.call('ZADD', QL, lend, item)
      if ARGV[11] == '1' then q_put(out, item, q_read(item)) else q_put(out, item, nil) end
      n = n + 1
    end
  end
end
q_take(owner, lend, ARGV[8], max - n, 11, nil, out)
return out
