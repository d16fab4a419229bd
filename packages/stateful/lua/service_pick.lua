-- computeLinkedPodIfAbsent with a declarative chooser. KEYS[1] pods hash of one service.
-- ARGV: uid, allowed state, allowed state, … Among live pods whose state is allowed, returns the
-- one with the highest sha1(uid|podId) (rendezvous hashing: the same uid and pod set always give
-- the same pod, and a pod leaving only moves the uids it held). nil when no pod qualifies.
local key = KEYS[1]
local now = now_ms()
local uid = ARGV[1]
local allowed = {}
for i = 2, #ARGV do allowed[ARGV[i]] = true end
local flat = redis.call('HGETALL', key)
local best, best_score = nil, nil
for i = 1, #flat, 2 do
  local value = flat[i + 1]
  if is_live(deadline_of(key, flat[i], value), now) and allowed[string.match(value, '^([^|]*)|')] then
    local score = redis.sha1hex(uid .. '|' .. flat[i])
    if best_score == nil or score > best_score then
      best, best_score = flat[i], score
    end
  end
end
return best
