-- Commit one batch of a stream consumer: the handler's writes and the XACK
-- of its entries, only if the state it was decided on still holds and every
-- entry is still this consumer's (core/redis/batch-commit.ts, decision 0006
-- and 0008).
--
-- KEYS: the state keys, then the input stream (declared, so on Redis Cluster
-- the call goes to its slot even when a batch has no state key). ARGV: a
-- presence mask ('1' present, '0' missing, one character per state key), one
-- expected value per state key ('' when missing); the group, the consumer,
-- the number of entry ids and the ids in stream order; the number of
-- commands, then for each its argument count and arguments; the number of
-- hashes to read back after the writes and their names.
--
-- Two checks before any write: every state key holds its expected value
-- (else {0, mask, current...}: the batch is re-decided on those), and every
-- entry of the batch is still pending to this consumer (else {2, {ids}}:
-- those entries were claimed by another consumer while this one stalled, or
-- do not exist on this server, e.g. read from a master that has since failed
-- over; their effects must not be applied here). Then the writes:
-- {1, {index, error, ...}, hash1 as HGETALL, hash2, ...}.
--
local n = #KEYS - 1
local mask = ARGV[1]
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  local want = string.byte(mask, i) == 49
  if (v and (not want or v ~= ARGV[i + 1])) or (not v and want) then
    local cur = {}
    local bits = {}
    for j = 1, n do
      local x = redis.call('GET', KEYS[j])
      if x then cur[j] = x; bits[j] = '1' else cur[j] = ''; bits[j] = '0' end
    end
    return {0, table.concat(bits), unpack(cur)}
  end
end
local p = n + 2
local group, consumer, k = ARGV[p], ARGV[p + 1], tonumber(ARGV[p + 2])
p = p + 3
if k > 0 then
  local stream = KEYS[n + 1]
  local room = k + 100
  local owned = {}
  local got = redis.pcall('XPENDING', stream, group, ARGV[p], ARGV[p + k - 1], room, consumer)
  if type(got) == 'table' and not got.err then
    for _, e in ipairs(got) do owned[e[1]] = true end
  else
    got = {}
  end
  local missing = {}
  for i = 0, k - 1 do
    local id = ARGV[p + i]
    if not owned[id] and #got >= room then
      local one = redis.pcall('XPENDING', stream, group, id, id, 1, consumer)
      if type(one) == 'table' and not one.err and #one == 1 then owned[id] = true end
    end
    if not owned[id] then missing[#missing + 1] = id end
  end
  if #missing > 0 then return {2, missing} end
end
p = p + k
local m = tonumber(ARGV[p])
p = p + 1
local errors = {}
for c = 1, m do
  local count = tonumber(ARGV[p])
  local r = redis.pcall(unpack(ARGV, p + 1, p + count))
  p = p + count + 1
  if type(r) == 'table' and r.err then
    errors[#errors + 1] = c
    errors[#errors + 1] = r.err
  end
end
local result = {1, errors}
local h = tonumber(ARGV[p])
for i = 1, h do
  result[#result + 1] = redis.call('HGETALL', ARGV[p + i])
end
return result
