-- Apply one control-plane transition, only if the state it was decided on
-- still holds (compare-and-set on one hash field), and tell every instance.
--
-- KEYS[1]  the control hash to change (e.g. control:kill_switch, control:scoped)
-- KEYS[2]  the audit stream (appended to when ARGV says so; absent otherwise)
-- ARGV     1 field compared; 2 '1' if it was present, '0' if missing;
--          3 its expected value ('' when missing);
--          4 n, then n field/value pairs to HSET;
--          then m, then m fields to HDEL;
--          then a, then a field/value pairs for one XADD to KEYS[2] (a = 0: none);
--          then the channel and the message to PUBLISH.
--
-- Returns: {1} applied; {0, current value or false} the field changed since
-- (nothing written: the caller re-reads and decides again).
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local want_present = ARGV[2] == '1'
if (cur and (not want_present or cur ~= ARGV[3])) or (not cur and want_present) then
  return {0, cur}
end
local p = 4
local n = tonumber(ARGV[p])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, p + 1, p + 2 * n)) end
p = p + 2 * n + 1
local m = tonumber(ARGV[p])
if m > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, p + 1, p + m)) end
p = p + m + 1
local a = tonumber(ARGV[p])
if a > 0 then redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', unpack(ARGV, p + 1, p + 2 * a)) end
p = p + 2 * a + 1
redis.call('PUBLISH', ARGV[p], ARGV[p + 1])
return {1}
