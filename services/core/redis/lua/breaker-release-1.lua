-- Give the HALF_OPEN probe lease back, if `owner` still holds it.
--
-- KEYS[1]  probe lease
-- ARGV[1]  owner (client order id)
--
-- Returns: 1 released; 0 not held by owner.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
