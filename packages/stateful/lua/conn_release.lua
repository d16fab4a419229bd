-- releaseConnection. KEYS[1] connections hash of one uid. ARGV: connection id. Returns 1 when a
-- live entry was removed.
local key = KEYS[1]
local now = now_ms()
local value = redis.call('HGET', key, ARGV[1])
local removed = 0
if value then
  if is_live(deadline_of(key, ARGV[1], value), now) then removed = 1 end
  redis.call('HDEL', key, ARGV[1])
end
tidy(key, now)
return removed
