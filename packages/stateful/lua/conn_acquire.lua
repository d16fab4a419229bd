-- acquireConnection. KEYS[1] connections hash of one uid. ARGV: connection id, podId, max (0 = no
-- cap), leaseMs. Expired entries (a dead pod's, whose lease ran out) are dropped first; then the
-- connection is entered for podId, leased for leaseMs, unless the uid already holds `max` live
-- ones. Idempotent: an id already entered is only renewed. Returns {1, count} when entered,
-- {0, count} when refused, count being the live connections after the call.
local key = KEYS[1]
local now = now_ms()
local id, pod, max, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
tidy(key, now)
local count = redis.call('HLEN', key)
local known = redis.call('HEXISTS', key, id) == 1
if not known and max > 0 and count >= max then return { 0, count } end
redis.call('HSET', key, id, pod .. '|' .. (now + lease))
tidy(key, now)
if known then return { 1, count } end
return { 1, count + 1 }
