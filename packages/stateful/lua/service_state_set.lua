-- setServiceState. KEYS[1] pods hash of one service. ARGV: podId, state, ttlMs (0 = no expiry).
local key = KEYS[1]
local now = now_ms()
local ttl = tonumber(ARGV[3])
local deadline = 0
if ttl > 0 then deadline = now + ttl end
redis.call('HSET', key, ARGV[1], ARGV[2] .. '|' .. deadline)
tidy(key, now)
return 1
