-- Take the HALF_OPEN probe lease (one test order at a time in the whole
-- deployment) and count the order, together, so the count cap holds across
-- replicas before any order reaches the venue. Idempotent for its owner.
--
-- KEYS[1]  breaker hash; KEYS[2] HALF_OPEN order count; KEYS[3] probe lease
-- ARGV     1 the episode's `at`; 2 max test orders; 3 owner (client order id); 4 lease TTL (ms)
--
-- Returns: {1, orders counted} taken; {0, 'not_half_open' | 'busy' | 'cap'} refused.
if redis.call('HGET', KEYS[1], 'state') ~= 'HALF_OPEN' or (redis.call('HGET', KEYS[1], 'at') or '') ~= ARGV[1] then return {0, 'not_half_open'} end
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[3] then return {1, tonumber(redis.call('GET', KEYS[2]) or '0')} end
if holder then return {0, 'busy'} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return {0, 'cap'} end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return {1, redis.call('INCR', KEYS[2])}
