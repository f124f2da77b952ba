-- The value index: IXF the indexed field ('' for none), IXR the hash of
-- counted id -> value, IXP the prefix of the per-value sorted sets.
-- The set of value v, ix_key(v)..':o' (an encoded value has no ':'),
-- scores each id counted under v by its order key: the number the
-- counter IXR..':n' gave it when it was first counted, which it keeps
-- as it moves from set to set (scan_by reads it; count_by counts it).
local IXF, IXR, IXP = ARGV[3], ARGV[4], ARGV[5]
local IX_ENC = {['%'] = '%25', [':'] = '%3A'}

local function ix_key(v)
  return IXP .. (string.gsub(v, '[%%:]', IX_ENC))
end

local function ix_order_key(v)
  return ix_key(v) .. ':o'
end

-- Counts id under value v, out of the set of any other value; v nil
-- counts it under none. An id staying under its value writes nothing;
-- one that moves takes its order key along.
local function ix_put(id, v)
  if IXF == '' then return end
  local old = redis.call('HGET', IXR, id)
  if old == v then return end
  local seq = nil
  if old then
    -- The order key is the score the ZREM takes away; reads come
    -- before writes, as everywhere (a server out of memory refuses a
    -- script's first write, which must leave nothing half done).
    seq = redis.call('ZSCORE', ix_order_key(old), id)
    redis.call('ZREM', ix_order_key(old), id)
  end
  if v == nil then
    redis.call('HDEL', IXR, id)
    return
  end
  if not seq then seq = redis.call('INCR', IXR .. ':n') end
  redis.call('ZADD', ix_order_key(v), seq, id)
  redis.call('HSET', IXR, id, v)
end
