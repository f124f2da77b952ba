-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3), a set of the value index's earlier layout
-- (<prefix>ix:<ns>:<v>, ids scored by expiry), how many ids to take.
-- Takes (ZPOPMIN) up to that many ids out of the set and counts under v,
-- with a new order key, each that the value index names under v but
-- that v's ordered set lacks (lib_ix.lua). Reply: {ids taken, ids
-- counted}.
local old, n = ARGV[6], tonumber(ARGV[7])
local popped = redis.call('ZPOPMIN', old, n)
local counted = 0
for i = 1, #popped, 2 do
  local id = popped[i]
  local v = redis.call('HGET', IXR, id)
  if v and ix_key(v) == old and not redis.call('ZSCORE', ix_order_key(v), id) then
    redis.call('ZADD', ix_order_key(v), redis.call('INCR', IXR .. ':n'), id)
    counted = counted + 1
  end
end
return {#popped / 2, counted}
