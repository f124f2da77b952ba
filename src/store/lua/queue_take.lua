-- ARGV[6] owner, [7] lease end, [8] due limit, [9] max, [10] resume
-- ('1'), [11..] change. Reply {0, item, k, e1..ek, item, k, ...}: each
-- item with its record as a change's reply gives it (k = 0: none).
local owner, lend, max = ARGV[6], ARGV[7], tonumber(ARGV[9])
local out, n = {0}, 0
local function put(item, r)
  out[#out + 1] = item
  if r == nil then r = {} end
  out[#out + 1] = #r
  append_all(out, r)
  n = n + 1
end
if ARGV[10] == '1' then
  for _, item in ipairs(redis.call('ZRANGE', QL, 0, -1)) do
    if n < max and q_holds(item, owner) then
      redis.call('ZADD', QL, lend, item)
      if ARGV[11] == '1' then put(item, q_read(item)) else put(item, nil) end
    end
  end
end
-- Due items move in batches: one ZREM, ZADD and HSET for each (of at
-- most 500 items, within Lua's stack for unpack).
while n < max do
  local batch = redis.call('ZRANGEBYSCORE', QW, '-inf', ARGV[8], 'LIMIT', 0,
                           math.min(max - n, 500))
  if #batch == 0 then break end
  redis.call('ZREM', QW, unpack(batch))
  local leases, owners = {}, {}
  for _, item in ipairs(batch) do
    local r = q_rec(11, item)
    if r == nil or r[1] == 0 then
      leases[#leases + 1] = lend
      leases[#leases + 1] = item
      owners[#owners + 1] = item
      owners[#owners + 1] = owner
      put(item, r)
    end
  end
  if #leases > 0 then
    redis.call('ZADD', QL, unpack(leases))
    redis.call('HSET', QO, unpack(owners))
  end
end
return out
