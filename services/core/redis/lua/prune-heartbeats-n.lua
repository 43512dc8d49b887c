-- Remove the heartbeats of instances that stopped beating long ago (a
-- process killed with SIGKILL never removes its own), with what they left:
-- their heartbeat detail and their entry in each config-applied hash.
--
-- KEYS[1]     heartbeats sorted set (member "<service>|<instance>", score = ms of the last beat)
-- KEYS[2]     heartbeat detail hash (field = member)
-- KEYS[3..n]  config-applied hashes (field = instance)
-- ARGV[1]     cutoff, ms: members scored below it are removed
--
-- Returns: the number of instances removed.
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if #dead == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(dead))
redis.call('HDEL', KEYS[2], unpack(dead))
if #KEYS > 2 then
  local instances = {}
  for i, member in ipairs(dead) do
    local bar = string.find(member, '|', 1, true)
    instances[i] = bar and string.sub(member, bar + 1) or member
  end
  for k = 3, #KEYS do redis.call('HDEL', KEYS[k], unpack(instances)) end
end
return #dead
