-- The change whose flag is at ARGV[i] (its spec ending at ARGV[last],
-- default the end of ARGV), applied to item's record: its reply, or nil
-- when the flag says there is no change.
local q_specs = {}
local function q_rec(i, item, last)
  if ARGV[i] ~= '1' then return nil end
  if q_specs[i] == nil then q_specs[i] = upd_spec(i + 1, last) end
  return upd_apply(ARGV[1] .. item .. '}', KEYS[4], KEYS[5], item, NOW, q_specs[i])
end

-- item's record as it stands, as a change's reply would give it.
local function q_read(item)
  local key = ARGV[1] .. item .. '}'
  local t, exp = live(key, KEYS[4], KEYS[5], item, NOW)
  if t ~= 'hash' then return {1} end
  return append_all({0, exp}, redis.call('HGETALL', key))
end

-- {queue code, change code (-1: not tried), expiry, fields...}
local function q_reply(code, r)
  if r == nil then return {code, -1} end
  return append_all({code}, r)
end

local function q_holds(item, owner)
  return redis.call('HGET', QO, item) == owner
end
