-- Reply {ready, delayed, leased}.
local ready = redis.call('ZCOUNT', QW, '-inf', ARGV[2])
return {ready, redis.call('ZCARD', QW) - ready, redis.call('ZCARD', QL)}
