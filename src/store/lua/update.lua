-- KEYS: record, exp index, lex index. ARGV: id, now, value index (3),
-- then the update's spec (see upd_spec). Reply as upd_apply's.
return upd_apply(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), upd_spec(6))
