-- Move the shared circuit breaker, only if it is still in one of the
-- transition's `from` states (and, for a move that belongs to one HALF_OPEN
-- episode, still in that episode); bump its sequence, reset the HALF_OPEN
-- order count and the probe lease, append the transition to its events
-- stream and publish it with the new state (instances apply it on arrival).
--
-- KEYS[1]  breaker hash (state, cause, by, at, seq)
-- KEYS[2]  HALF_OPEN order count
-- KEYS[3]  breaker events stream
-- KEYS[4]  probe lease
-- ARGV     1 allowed from-states, comma-separated; 2 the episode's `at` ('' = any);
--          3 new state; 4 cause; 5 by; 6 at (ms); 7 channel; 8 event name
--
-- Returns: {1, previous state} moved; {0, current state} not moved.
local cur = redis.call('HGET', KEYS[1], 'state')
if cur ~= 'OPEN' and cur ~= 'HALF_OPEN' then cur = 'CLOSED' end
if not string.find(',' .. ARGV[1] .. ',', ',' .. cur .. ',', 1, true) then return {0, cur} end
if ARGV[2] ~= '' and (redis.call('HGET', KEYS[1], 'at') or '') ~= ARGV[2] then return {0, cur} end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'cause', ARGV[4], 'by', ARGV[5], 'at', ARGV[6])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('SET', KEYS[2], '0')
redis.call('DEL', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'state', ARGV[3], 'from', cur, 'cause', ARGV[4], 'by', ARGV[5], 'at', ARGV[6])
redis.call('PUBLISH', ARGV[7], cjson.encode({event = ARGV[8], key = KEYS[1], at = ARGV[6],
  breaker = {state = ARGV[3], cause = ARGV[4], by = ARGV[5], at = ARGV[6], seq = seq}}))
return {1, cur}
