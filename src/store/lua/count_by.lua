-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3), value. Drops up to 1000 records whose expiry has passed
-- (prune), then replies {the number of records counted under value,
-- how many records whose expiry has passed are left}: the count is
-- exact when none is left, and the caller calls again while some are.
prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return {redis.call('ZCARD', ix_order_key(ARGV[6])),
        redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])}
