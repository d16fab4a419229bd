-- setLinkedPod. KEYS[1] links hash of one uid. ARGV: service, podId, persistMs, leaseMs. The link
-- becomes live whatever was there (leased for leaseMs when > 0, else without expiry); persistMs is
-- recorded as its persist window.
local key = KEYS[1]
local now = now_ms()
redis.call('HSET', key, ARGV[1], live_link(ARGV[2], ARGV[3], ARGV[4], now))
tidy(key, now)
return ARGV[2]
