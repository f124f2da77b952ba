-- Record updates (sd_update), for the update script and for queue
-- scripts that change a record in the same step. A spec is read from
-- ARGV at i: mode (e, c, u), expiry base ('0': keep), renewal slack
-- (ms, '0': none), want ('1': reply with the fields), number of
-- condition values (-1: no condition), condition field, the values, then
-- one (op, name, arg) triple per assignment to ARGV[last] (default: the
-- end of ARGV), op one of s, n, i, d.
local function upd_spec(i, last)
  local n = tonumber(ARGV[i + 4])
  return {mode = ARGV[i], base = ARGV[i + 1], slack = tonumber(ARGV[i + 2]),
          want = ARGV[i + 3] == '1', ncond = n, cfield = ARGV[i + 5], cond = i + 6,
          ops = i + 6 + math.max(n, 0), last = last or #ARGV}
end

-- Applies spec s to the record (key, id) by the client's clock now.
-- Reply {code} or {code, expiry, name, value, ...}; code 0 ok, 1 not
-- found, 2 exists, 3 conflict, 4 invalid.
--
-- Writes only what changes: the fields whose value moves, the expiry's
-- index entries when the expiry moves (a change without a renewal
-- writes none of them), the value index when the value moves; the lex
-- index only for a record it creates (a live record's entry is there:
-- every script that writes the exp index writes both). A renewal the
-- slack does not leave out always sets the key's own expiry.
local function upd_apply(key, expk, lexk, id, now, s)
  local t, exp, all = rec_read(key, expk, lexk, id, now, s.mode ~= 'e')
  if t and s.mode == 'c' then return {2} end
  if t and t ~= 'hash' then return {3} end
  if not t and s.mode == 'e' then return {1} end
  local old_exp = exp
  local h = {}
  for i = 1, #all, 2 do h[all[i]] = all[i + 1] end
  -- changed: the fields the change names, in the order first named;
  -- was[f]: the value each had before it (false: none).
  local changed, was = {}, {}
  -- The fields as they stand, in HGETALL's order, then those the change
  -- adds, in the order it names them.
  local function fields(r)
    if s.want then
      for i = 1, #all, 2 do
        local f = all[i]
        if h[f] ~= nil then r[#r + 1] = f; r[#r + 1] = h[f] end
      end
      for _, f in ipairs(changed) do
        if was[f] == false and h[f] ~= nil then r[#r + 1] = f; r[#r + 1] = h[f] end
      end
    end
    return r
  end
  if t and s.ncond >= 0 then
    local v, ok = h[s.cfield], false
    for i = 0, s.ncond - 1 do
      if v ~= nil and ARGV[s.cond + i] == v then ok = true end
    end
    if not ok then return fields({3, exp}) end
  end
  -- Every assignment is applied to h first; nothing is written until
  -- all of them are known to be valid.
  for i = s.ops, s.last - 2, 3 do
    local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if was[f] == nil then
      local before = h[f]
      if before == nil then before = false end
      was[f] = before
      changed[#changed + 1] = f
    end
    if op == 's' then
      h[f] = v
    elseif op == 'n' then
      if h[f] == nil then h[f] = v end
    elseif op == 'i' then
      h[f] = i64_add(h[f] or '0', v)
      if h[f] == nil then return {4} end
    elseif op == 'd' then
      h[f] = nil
    else
      return {4}
    end
  end
  -- How many fields the record keeps.
  local n = #all / 2
  for _, f in ipairs(changed) do
    if was[f] == false and h[f] ~= nil then
      n = n + 1
    elseif was[f] ~= false and h[f] == nil then
      n = n - 1
    end
  end
  local renew = s.base ~= '0'
  if renew then
    exp = capped_fast(s.base, h[DEADLINE])
    -- A renewal that would move a live record's expiry forward by no
    -- more than the slack is left out, unless the deadline caps it
    -- (sd_renew_skippable).
    if t and s.slack > 0 and old_exp ~= '0' and exp == s.base then
      local d = tonumber(exp) - tonumber(old_exp)
      if d >= 0 and d <= s.slack then
        exp = old_exp
        renew = false
      end
    end
  elseif not t then
    exp = '0'
  end
  local reply = fields({0, exp})
  if n == 0 or (s.base ~= '0' and tonumber(exp) <= now) then
    if t then
      drop(key, expk, lexk, id)
      redis.call('PUBLISH', key, '')
    else
      -- rec_read left stale index entries of a missing record for the
      -- write to replace; with no write, they go now.
      live(key, expk, lexk, id, now)
    end
    return reply
  end
  local sets, dels = {}, {}
  for _, f in ipairs(changed) do
    -- A field left with the value it had (or deleted while absent) is
    -- not written.
    local before = was[f]
    if before == false then before = nil end
    if h[f] ~= before then
      if h[f] ~= nil then
        sets[#sets + 1] = f
        sets[#sets + 1] = h[f]
      else
        dels[#dels + 1] = f
      end
    end
  end
  -- Sets before deletes: the hash never becomes empty on the way, which
  -- would drop the key and its expiry.
  for i = 1, #sets, 200 do
    redis.call('HSET', key, unpack(sets, i, math.min(i + 199, #sets)))
  end
  for i = 1, #dels, 200 do
    redis.call('HDEL', key, unpack(dels, i, math.min(i + 199, #dels)))
  end
  -- The key's expiry is set on every renewal made, whatever the index
  -- says: the index does not see a TTL changed behind the store's back.
  if renew then redis.call('PEXPIREAT', key, exp) end
  local same = t ~= nil and exp == old_exp
  if not t then
    index_put(expk, lexk, id, exp)
  elseif not same then
    redis.call('ZADD', expk, exp, id)
  end
  ix_put(id, h[IXF])
  -- Every change is told on the channel named by the record's key, for
  -- the requests other instances hold on it (redis_sub.c).
  redis.call('PUBLISH', key, '')
  return reply
end
