-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3), value. Reply: the number of records counted under value
-- whose expiry has not passed.
prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return redis.call('ZCOUNT', ix_key(ARGV[6]), ARGV[1], '+inf')
