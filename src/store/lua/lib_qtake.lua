-- A take's moves, shared by queue_take and queue_ack_take (see lib_q).
--
-- q_put(out, item, r) appends item and its record r (a change's reply,
-- nil: none) to a take's reply: item, k, then k elements.
local function q_put(out, item, r)
  out[#out + 1] = item
  if r == nil then r = {} end
  out[#out + 1] = #r
  append_all(out, r)
end

-- Leases up to max waiting items due by limit to owner until lend, each
-- with the change whose flag is at ARGV[ci] (spec ending at ARGV[last],
-- default the end of ARGV); an item whose change fails leaves the queue
-- instead. Appends each to out (q_put) and returns how many. Due items
-- move in batches: one ZREM, ZADD and HSET for each (of at most 500
-- items, within Lua's stack for unpack).
local function q_take(owner, lend, limit, max, ci, last, out)
  local n = 0
  while n < max do
    local batch = redis.call('ZRANGEBYSCORE', QW, '-inf', limit, 'LIMIT', 0,
                             math.min(max - n, 500))
    if #batch == 0 then break end
    redis.call('ZREM', QW, unpack(batch))
    local leases, owners = {}, {}
    for _, item in ipairs(batch) do
      local r = q_rec(ci, item, last)
      if r == nil or r[1] == 0 then
        leases[#leases + 1] = lend
        leases[#leases + 1] = item
        owners[#owners + 1] = item
        owners[#owners + 1] = owner
        q_put(out, item, r)
        n = n + 1
      end
    end
    if #leases > 0 then
      redis.call('ZADD', QL, unpack(leases))
      redis.call('HSET', QO, unpack(owners))
    end
  end
  return n
end
