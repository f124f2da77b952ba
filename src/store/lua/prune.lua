-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3). Drops up to 1000 records whose expiry has passed, with
-- their index entries (the sweeper's step, redis_sweep.c). Reply: how
-- many such records are left.
prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
