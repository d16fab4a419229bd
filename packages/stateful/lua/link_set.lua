-- setLinkedPod. KEYS[1] links hash of one uid. ARGV: service, podId, persistMs. The link becomes
-- live (no expiry) whatever was there; persistMs is recorded as its persist window.
local key = KEYS[1]
local now = now_ms()
redis.call('HSET', key, ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|0')
tidy(key, now)
return ARGV[2]
