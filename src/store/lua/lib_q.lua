-- The queue scripts' shared part (see the queue operations of
-- statusd/store.h); redis_scripts.c joins it after the record helpers.
--
-- Keys of a queue, all with the queue's name as hash tag so they share a
-- slot: <prefix>q:{<queue>}:w, the waiting items, a sorted set scored by
-- due time (epoch ms); <prefix>q:{<queue>}:l, the leased items, scored by
-- lease end; <prefix>q:{<queue>}:o, a hash of each leased item's owner.
-- An item is a member of :w or of :l (then with an owner in :o), never
-- both. Due items are those scored at most now; a lease ran out when its
-- end is before now. Sorted sets order equal scores by member bytes,
-- which the memory store copies.
--
-- A script that changes a record gets the record namespace's exp and lex
-- indexes as KEYS[4] and KEYS[5], the record key prefix ("<prefix>{<ns>:")
-- as ARGV[1] and the value index as ARGV[3..5], the layout lib_rec and
-- lib_ix read; ARGV[2] is always the client's clock. Its change is a flag
-- ('1': there is one) followed by an update spec (lib_upd) at the end of
-- ARGV.
--
-- Writes come after the reads that decide them, and the first write of a
-- script is never one that could be left half done: a server out of
-- memory refuses a script's first write, and only that one.

-- Queue keys: waiting (by due time), leased (by lease end), owners.
local QW, QL, QO = KEYS[1], KEYS[2], KEYS[3]
local NOW = tonumber(ARGV[2])
