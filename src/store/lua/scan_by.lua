-- KEYS: exp index, lex index. ARGV: now, record key prefix (up to the
-- id), value index (3), value, order key bound ('0': none), limit.
-- Reply {more, id, key, ...}: the live ids counted under value with the
-- limit highest order keys below the bound, highest first.
local expk, lexk, rprefix = KEYS[1], KEYS[2], ARGV[2]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[8])
prune(expk, lexk, ARGV[1], rprefix)
local ordk, top = ix_order_key(ARGV[6]), '+inf'
if ARGV[7] ~= '0' then top = '(' .. ARGV[7] end
local out = {}
while #out < 2 * (limit + 1) do
  local batch = redis.call('ZREVRANGEBYSCORE', ordk, top, '-inf', 'WITHSCORES',
                           'LIMIT', 0, limit + 1 - #out / 2)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local id, key = batch[i], batch[i + 1]
    if live(rprefix .. id .. '}', expk, lexk, id, now) then
      out[#out + 1] = id
      out[#out + 1] = key
    end
    top = '(' .. key
  end
end
local more = 0
if #out > 2 * limit then
  more = 1
  out[#out] = nil
  out[#out] = nil
end
return append_all({more}, out)
