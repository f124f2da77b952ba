-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3), a set of the value index's earlier layout
-- (<prefix>ix:<ns>:<v>, ids scored by expiry), the first rank to read,
-- how many. Counts under v, with a new order key, each id read that the
-- value index names under v but that v's ordered set lacks (lib_ix.lua).
-- Reply: how many ids it read.
local old, first, n = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local ids = redis.call('ZRANGE', old, first, first + n - 1)
for _, id in ipairs(ids) do
  local v = redis.call('HGET', IXR, id)
  if v and ix_key(v) == old and not redis.call('ZSCORE', ix_order_key(v), id) then
    redis.call('ZADD', ix_order_key(v), redis.call('INCR', IXR .. ':n'), id)
  end
end
return #ids
