-- The value index: IXF the indexed field ('' for none), IXR the hash of
-- counted id -> value, IXP the prefix of the per-value sorted sets.
-- Order keys (scan_by): IXR..':s' maps each counted id to the key it got
-- from the counter IXR..':n' when first counted; the set of value v
-- scored by those keys is ix_key(v)..':o' (an encoded value has no ':').
local IXF, IXR, IXP = ARGV[3], ARGV[4], ARGV[5]
local IX_ENC = {['%'] = '%25', [':'] = '%3A'}

local function ix_key(v)
  return IXP .. (string.gsub(v, '[%%:]', IX_ENC))
end

local function ix_order_key(v)
  return ix_key(v) .. ':o'
end

-- Counts id under value v with expiry exp ('0': none), out of the set
-- of any other value; v nil counts it under none. same: exp is the
-- expiry id is already scored with, so an id staying under its value
-- needs no write.
local function ix_put(id, v, exp, same)
  if IXF == '' then return end
  local old = redis.call('HGET', IXR, id)
  if old and old ~= v then
    redis.call('ZREM', ix_key(old), id)
    redis.call('ZREM', ix_order_key(old), id)
  end
  if v == nil then
    if old then
      redis.call('HDEL', IXR, id)
      redis.call('HDEL', IXR .. ':s', id)
    end
    return
  end
  if same and old == v then return end
  local score = exp
  if exp == '0' then score = '+inf' end
  redis.call('ZADD', ix_key(v), score, id)
  if old ~= v then
    local seq = redis.call('HGET', IXR .. ':s', id)
    if not seq then
      seq = redis.call('INCR', IXR .. ':n')
      redis.call('HSET', IXR .. ':s', id, seq)
    end
    redis.call('ZADD', ix_order_key(v), seq, id)
    redis.call('HSET', IXR, id, v)
  end
end

-- Rescores a counted id to the new expiry exp (not '0').
local function ix_renew(id, exp)
  if IXF == '' then return end
  local v = redis.call('HGET', IXR, id)
  if v then redis.call('ZADD', ix_key(v), exp, id) end
end
