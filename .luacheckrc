-- Lua of the Redis store's scripts (src/store/lua/), as Redis 7 runs it:
-- Lua 5.1 with the globals Redis gives a script. scripts/lint-lua lints
-- each script as it is run: its parts joined in the order
-- src/store/redis_scripts.c gives.
std = "lua51"
read_globals = { "redis", "KEYS", "ARGV", "cjson", "cmsgpack", "bit", "struct" }
max_line_length = 100
