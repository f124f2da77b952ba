-- Records. Expiries are texts of epoch milliseconds, '0' for none; the
-- exp index holds each record's expiry as its score (+inf for none) and
-- the lex index its id (score 0) for listing in byte order.
-- DEADLINE, the field that caps a record's expiry, is set by the
-- prelude redis_scripts.c puts before every script.

local function index_put(expk, lexk, id, exp)
  if exp == '0' then
    redis.call('ZADD', expk, '+inf', id)
  else
    redis.call('ZADD', expk, exp, id)
  end
  redis.call('ZADD', lexk, 0, id)
end

local function drop(key, expk, lexk, id)
  redis.call('DEL', key)
  redis.call('ZREM', expk, id)
  redis.call('ZREM', lexk, id)
  ix_put(id, nil)
end

-- The type and expiry of a live record by the client's clock (now), or
-- nil. A record past its expiry is deleted; stale index entries are
-- dropped and missing ones restored.
local function live(key, expk, lexk, id, now)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then
    -- Read before writing: a script's first write decides whether a
    -- server out of memory refuses it (OOM) before it changes anything.
    if redis.call('ZSCORE', expk, id) or redis.call('ZSCORE', lexk, id) then
      redis.call('ZREM', expk, id)
      redis.call('ZREM', lexk, id)
    end
    ix_put(id, nil)
    return nil, '0'
  end
  local exp = redis.call('ZSCORE', expk, id)
  if not exp then
    local left = redis.call('PTTL', key)
    exp = '0'
    if left >= 0 then exp = string.format('%.0f', now + left) end
    index_put(expk, lexk, id, exp)
  elseif exp == 'inf' or exp == '+inf' then
    exp = '0'
  else
    exp = string.format('%.0f', tonumber(exp))
  end
  if exp ~= '0' and now > tonumber(exp) then
    drop(key, expk, lexk, id)
    return nil, '0'
  end
  return t, exp
end

-- A record as a change needs it: live()'s type and expiry, and a hash's
-- fields (HGETALL's list; {} for anything else). A live hash with its
-- index entry, the common case, costs HGETALL and ZSCORE. A missing
-- record with create set (the change writes one) skips live()'s repair
-- of stale index entries: the write puts the id in every index anew,
-- and a change that writes nothing calls live() itself. fresh: the
-- record is missing (the exp and lex entries may be stale).
local function rec_read(key, expk, lexk, id, now, create)
  local all = redis.pcall('HGETALL', key)
  if type(all) == 'table' and all.err == nil then
    if #all == 0 and create then return nil, '0', all, true end
    local exp = #all > 0 and redis.call('ZSCORE', expk, id)
    if exp == 'inf' or exp == '+inf' then return 'hash', '0', all, false end
    if exp then
      exp = string.format('%.0f', tonumber(exp))
      if now <= tonumber(exp) then return 'hash', exp, all, false end
    end
  end
  local t, exp = live(key, expk, lexk, id, now)
  if t == 'hash' then
    all = redis.call('HGETALL', key)
  else
    all = {}
  end
  return t, exp, all, t == nil
end

-- base (now + ttl, from the client) capped by a deadline field value.
local function capped(base, deadline)
  local d = i64(deadline)
  if d ~= nil and cmp(d, base) < 0 then return d end
  return base
end

-- capped() at the cost of two matches for the texts a poll meets:
-- positive decimals of at most 15 digits with no leading zero are
-- exact as Lua numbers; any other text takes capped()'s arithmetic.
local function capped_fast(base, deadline)
  if deadline == nil then return base end
  if #deadline <= 15 and #base <= 15 and string.find(deadline, '^[1-9]%d*$')
     and string.find(base, '^[1-9]%d*$') then
    if tonumber(deadline) < tonumber(base) then return deadline end
    return base
  end
  return capped(base, deadline)
end

-- Drops up to 1000 index entries (and records) whose expiry has passed.
local function prune(expk, lexk, now, rprefix)
  local old = redis.call('ZRANGEBYSCORE', expk, '-inf', '(' .. now, 'LIMIT', 0, 1000)
  for _, id in ipairs(old) do drop(rprefix .. id .. '}', expk, lexk, id) end
end

local function append_all(r, list)
  for i = 1, #list do r[#r + 1] = list[i] end
  return r
end
