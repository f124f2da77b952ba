-- Exact signed 64-bit decimal arithmetic on text (Lua numbers are
-- doubles). Texts are canonical: an optional '-', no leading zeros.
local I64_MAX = '9223372036854775807'
local I64_MIN_ABS = '9223372036854775808'

local function ucmp(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

local function strip(d)
  local s = string.gsub(d, '^0+', '')
  if s == '' then return '0' end
  return s
end

local function digits(r)
  local out = {}
  for k = #r, 1, -1 do out[#out + 1] = string.char(48 + r[k]) end
  return strip(table.concat(out))
end

local function uadd(a, b)
  local r, c, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or c > 0 do
    local s = c
    if i > 0 then s = s + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then s = s + string.byte(b, j) - 48; j = j - 1 end
    if s >= 10 then r[#r + 1] = s - 10; c = 1 else r[#r + 1] = s; c = 0 end
  end
  return digits(r)
end

local function usub(a, b)
  local r, c, j = {}, 0, #b
  for i = #a, 1, -1 do
    local s = string.byte(a, i) - 48 - c
    if j > 0 then s = s - (string.byte(b, j) - 48); j = j - 1 end
    if s < 0 then r[#r + 1] = s + 10; c = 1 else r[#r + 1] = s; c = 0 end
  end
  return digits(r)
end

-- The canonical text of s when s is a whole decimal int64 (as
-- sd_parse_i64 reads it), else nil.
local function i64(s)
  if type(s) ~= 'string' then return nil end
  local sign, d = string.match(s, '^(%-?)(%d+)$')
  if d == nil then return nil end
  d = strip(d)
  local lim = I64_MAX
  if sign == '-' then lim = I64_MIN_ABS end
  if ucmp(d, lim) > 0 then return nil end
  if d == '0' then return '0' end
  return sign .. d
end

local function mag(a)
  if string.byte(a, 1) == 45 then return true, string.sub(a, 2) end
  return false, a
end

local function signed(neg, m)
  if neg and m ~= '0' then return '-' .. m end
  return m
end

local function cmp(a, b)
  local na, ma = mag(a)
  local nb, mb = mag(b)
  if na ~= nb then
    if na then return -1 end
    return 1
  end
  if na then return ucmp(mb, ma) end
  return ucmp(ma, mb)
end

local function add(a, b)
  local na, ma = mag(a)
  local nb, mb = mag(b)
  if na == nb then return signed(na, uadd(ma, mb)) end
  if ucmp(ma, mb) >= 0 then return signed(na, usub(ma, mb)) end
  return signed(nb, usub(mb, ma))
end

local function sub(a, b)
  local nb, mb = mag(b)
  return add(a, signed(not nb, mb))
end

-- i64(add(i64(a), b)) for b canonical: nil when a is not a whole
-- decimal int64 or the sum leaves the range. Canonical texts of at most
-- 15 digits, the counters' common case, add as Lua numbers, exact there.
local function i64_add(a, b)
  if #a <= 15 and #b <= 15 and (a == '0' or string.find(a, '^%-?[1-9]%d*$'))
     and (b == '0' or string.find(b, '^%-?[1-9]%d*$')) then
    return string.format('%.0f', tonumber(a) + tonumber(b))
  end
  local x = i64(a)
  if x == nil then return nil end
  return i64(add(x, b))
end
