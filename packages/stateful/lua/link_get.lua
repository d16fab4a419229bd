-- getLinkedPod. KEYS[1] links hash of one uid. ARGV: service. The linked pod when the link is
-- live or inside its persist window, else nil. Read only.
local key = KEYS[1]
local value = redis.call('HGET', key, ARGV[1])
if not value then return nil end
if not is_live(deadline_of(key, ARGV[1], value), now_ms()) then return nil end
return string.match(value, '^([^|]*)|')
