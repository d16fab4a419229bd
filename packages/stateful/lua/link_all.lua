-- getLinkService. KEYS[1] links hash of one uid. Returns service, podId, … of the links that are
-- live or inside their persist window. Read only.
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
