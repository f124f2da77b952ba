-- KEYS: exp index, lex index. ARGV: now, record key prefix, value
-- index (3). Reply: the number of records whose expiry has not passed.
prune(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
