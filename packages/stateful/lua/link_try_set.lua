-- trySetLinkedPod / setLinkedPodIfAbsent / computeLinkedPodIfAbsent. KEYS[1] links hash of one
-- uid. ARGV: service, podId, persistMs, mode, leaseMs. Links podId (live: leased for leaseMs when
-- > 0, else without expiry) when the service has no link or only an expired one (a lease that ran
-- out counts as expired). A live or persisting link to this very pod is made live again in mode
-- 'reclaim' (a reconnect within the persist window) and left alone in mode 'absent'. Anything
-- else changes nothing. Returns {1, podId} when this call linked podId, else {0, current pod}.
local key = KEYS[1]
local now = now_ms()
local service, pod, mode = ARGV[1], ARGV[2], ARGV[4]
local value = redis.call('HGET', key, service)
if value then
  local current, _, _, deadline = parse_link(key, service, value)
  if is_live(deadline, now) and (current ~= pod or mode == 'absent') then
    return { 0, current }
  end
end
redis.call('HSET', key, service, live_link(pod, ARGV[3], ARGV[5], now))
tidy(key, now)
return { 1, pod }
