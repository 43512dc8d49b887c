-- Apply one change to an order and what it moves with it (its indexes, the
-- position, the working quantity, the day's figures, order_events,
-- exec_reports), only if nothing it was decided on has changed since: the
-- state strings compare equal, the order is at the version it was read at,
-- and a fill's venue trade id has not been applied before.
--
-- KEYS[1..n]  string state keys the change was decided on (position, working)
-- KEYS[n+1]   the order hash
-- KEYS[n+2]   the order's applied trade ids (set)
-- ARGV        1 presence mask of the state keys ('1' present, '0' missing);
--             2..n+1 their expected values ('' when missing);
--             n+2 the order's expected version ('' : the order must not exist yet);
--             n+3 the venue trade id of a fill ('' : not a fill);
--             n+4 the number of commands, then each as its argument count and arguments.
--
-- Returns: {1} applied; {0, mask, current values...} a state key changed;
-- {3, current version or false} the order changed; {4} the trade was applied before.
local n = #KEYS - 2
local mask = ARGV[1]
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  local want = string.byte(mask, i) == 49
  if (v and (not want or v ~= ARGV[i + 1])) or (not v and want) then
    local cur, bits = {}, {}
    for j = 1, n do
      local x = redis.call('GET', KEYS[j])
      if x then cur[j] = x; bits[j] = '1' else cur[j] = ''; bits[j] = '0' end
    end
    return {0, table.concat(bits), unpack(cur)}
  end
end
local version = redis.call('HGET', KEYS[n + 1], 'version')
local want_version = ARGV[n + 2]
if (want_version == '' and version) or (want_version ~= '' and version ~= want_version) then
  return {3, version}
end
local trade = ARGV[n + 3]
if trade ~= '' and redis.call('SISMEMBER', KEYS[n + 2], trade) == 1 then return {4} end
local p = n + 4
local m = tonumber(ARGV[p])
p = p + 1
for c = 1, m do
  local count = tonumber(ARGV[p])
  redis.call(unpack(ARGV, p + 1, p + count))
  p = p + count + 1
end
return {1}
