-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3), value. Reply: the number of records counted under value,
-- or -1 while records whose expiry has passed are left after this
-- call's prune (each call drops up to 1000; the caller calls again).
prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1]) > 0 then return -1 end
return redis.call('ZCARD', ix_order_key(ARGV[6]))
