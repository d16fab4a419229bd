-- removeLinkedPod / removeLinkedPodWithId. KEYS[1] links hash of one uid.
-- ARGV: service, persistMs (or '' = the window recorded with the link), expected podId ('' = any).
-- A live link (leased or not) starts its persist window (0: removed at once); a link already
-- inside its window is removed at once by a 0 window and otherwise left alone (a window is never
-- extended). Returns 1 when the link changed.
local key = KEYS[1]
local now = now_ms()
local service, expected = ARGV[1], ARGV[3]
local value = redis.call('HGET', key, service)
if not value then return 0 end
local pod, recorded, lease, deadline = parse_link(key, service, value)
if not is_live(deadline, now) or (expected ~= '' and pod ~= expected) then
  tidy(key, now)
  return 0
end
local window = recorded
if ARGV[2] ~= '' then window = tonumber(ARGV[2]) end
local changed = 0
if window == 0 then
  redis.call('HDEL', key, service)
  changed = 1
elseif deadline == 0 or lease > 0 then
  redis.call('HSET', key, service, pod .. '|' .. recorded .. '|' .. (now + window))
  changed = 1
end
tidy(key, now)
return changed
