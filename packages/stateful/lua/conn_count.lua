-- countConnections. KEYS[1] connections hash of one uid. Returns podId, count, podId, count, … of
-- the live (unexpired) connections. Read only.
local flat = live_heads(KEYS[1], now_ms())
local counts, order = {}, {}
for i = 2, #flat, 2 do
  local pod = flat[i]
  if counts[pod] == nil then
    counts[pod] = 0
    order[#order + 1] = pod
  end
  counts[pod] = counts[pod] + 1
end
local out = {}
for _, pod in ipairs(order) do
  out[#out + 1] = pod
  out[#out + 1] = counts[pod]
end
return out
