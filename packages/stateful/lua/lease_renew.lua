-- renewLeases. KEYS[1] links hash, KEYS[2] connections hash of one uid (one slot).
-- ARGV: service ('' = leave the links alone), podId, leaseMs, persistMs, connection id, … (the
-- connections of this uid that podId still holds, possibly none).
-- Link: a live link of podId gets a fresh lease; an absent or expired one is linked to podId again
-- (leased; the pod still serves the uid); a persisting link, or one of another pod, is left alone.
-- Connections: each listed one is (re)entered for podId with a fresh lease; the others of podId
-- are left to expire with their own lease. Returns {1 when podId is the uid's live link, live
-- connection count}.
local links, conns = KEYS[1], KEYS[2]
local now = now_ms()
local service, pod, lease, persist = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local linked = 0
if service ~= '' then
  local value = redis.call('HGET', links, service)
  local mine = true
  if value then
    local current, _, current_lease, deadline = parse_link(links, service, value)
    if is_live(deadline, now) then
      mine = current == pod and (deadline == 0 or current_lease > 0)
    end
  end
  if mine then
    redis.call('HSET', links, service, live_link(pod, persist, lease, now))
    linked = 1
  end
  tidy(links, now)
end
for i = 5, #ARGV do
  redis.call('HSET', conns, ARGV[i], pod .. '|' .. (now + lease))
end
tidy(conns, now)
return { linked, redis.call('HLEN', conns) }
