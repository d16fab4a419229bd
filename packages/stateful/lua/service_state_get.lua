-- getServiceState. KEYS[1] pods hash of one service. Returns podId, state, podId, state, … of the
-- pods whose registration has not expired. Read only.
local key = KEYS[1]
local now = now_ms()
local flat = redis.call('HGETALL', key)
local out = {}
for i = 1, #flat, 2 do
  local value = flat[i + 1]
  if is_live(deadline_of(key, flat[i], value), now) then
    out[#out + 1] = flat[i]
    out[#out + 1] = string.match(value, '^([^|]*)|')
  end
end
return out
