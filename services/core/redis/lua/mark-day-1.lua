-- Mark the day's risk statistics from one safety round: the current figures
-- are set, the day's peak equity and worst drawdown only ever rise.
--
-- KEYS[1]  the day hash (risk:daily:<YYYY-MM-DD>)
-- ARGV     1 peak equity as this round sees it, 2 equity, 3 net PnL,
--          4 drawdown pct, 5 marked at (ms)
--
-- Returns: 1.
local function raise(field, value)
  local cur = tonumber(redis.call('HGET', KEYS[1], field))
  if cur == nil or tonumber(value) > cur then redis.call('HSET', KEYS[1], field, value) end
end
raise('peak_equity', ARGV[1])
raise('max_drawdown_pct', ARGV[4])
redis.call('HSET', KEYS[1], 'equity', ARGV[2], 'net_pnl', ARGV[3], 'drawdown_pct', ARGV[4], 'marked_at', ARGV[5])
return 1
