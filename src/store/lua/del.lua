-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3).
-- Reply {0} or {1}.
if not live(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2])) then return {1} end
drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[1], '')
return {0}
