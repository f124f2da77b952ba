-- KEYS: exp index, lex index. ARGV: now, record key prefix (up to the
-- id), value index (3), last id of the previous page ('' for the
-- first), limit. Reply {more, id, ...}: the limit smallest live ids
-- after the cursor.
local expk, lexk, rprefix, after = KEYS[1], KEYS[2], ARGV[2], ARGV[6]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[7])
prune(expk, lexk, ARGV[1], rprefix)
local ids, start = {}, '-'
if after ~= '' then start = '(' .. after end
while #ids <= limit do
  local batch = redis.call('ZRANGEBYLEX', lexk, start, '+', 'LIMIT', 0,
                           limit + 1 - #ids)
  if #batch == 0 then break end
  for _, id in ipairs(batch) do
    if live(rprefix .. id .. '}', expk, lexk, id, now) then ids[#ids + 1] = id end
    start = '(' .. id
  end
end
local more = 0
if #ids > limit then
  more = 1
  ids[#ids] = nil
end
return append_all({more}, ids)
