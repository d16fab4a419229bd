-- computeLinkedPodIfAbsent. KEYS[1] links hash of one uid, KEYS[2] pods hash of the service.
-- ARGV: uid, service, persistMs, leaseMs, mode, allowed state, allowed state, …
-- A live or persisting link of the service is answered as is: {0, pod}. Otherwise, in mode
-- 'pick', the live pod whose state is allowed with the highest sha1(uid|podId) (rendezvous
-- hashing: the same uid and pod set always give the same pod, and a pod leaving only moves the
-- uids it held) is linked (live: leased for leaseMs when > 0, else without expiry): {1, pod};
-- nil, changing nothing, when no pod qualifies. In mode 'candidates' nothing is written:
-- {2, podId, state, podId, state, …} of the live pods, for a chooser outside Redis.
--
-- This is the hot path of a new connection (issue 17): the pods loop does one pattern match per
-- pod and one sha1 per allowed live pod, and the write needs no second read of the links.
local links, pods = KEYS[1], KEYS[2]
local uid, service, persist, lease, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
local match = string.match

-- This script reads two hashes: a key of another type is named in the error.
local function read(key)
  local reply = redis.pcall('HGETALL', key)
  if reply.err then
    return error({ err = 'WRONGTYPE key ' .. key .. ' holds another type (' .. reply.err .. ')' })
  end
  return reply
end

local held = read(links)
for i = 1, #held, 2 do
  if held[i] == service then
    local current, _, _, deadline = parse_link(links, service, held[i + 1])
    if is_live(deadline, now) then return { 0, current } end
  end
end

local flat = read(pods)
if mode == 'candidates' then
  local out = { 2 }
  for i = 1, #flat, 2 do
    if is_live(deadline_of(pods, flat[i], flat[i + 1]), now) then
      out[#out + 1] = flat[i]
      out[#out + 1] = match(flat[i + 1], '^([^|]*)|')
    end
  end
  return out
end

local allowed = {}
for i = 6, #ARGV do allowed[ARGV[i]] = true end
local sha1hex = redis.sha1hex
local prefix = uid .. '|'
local best, best_score = nil, ''
for i = 1, #flat, 2 do
  local value = flat[i + 1]
  -- A pod value is `state|deadlineMs`; anything else is read the general way (or refused).
  local state, d = match(value, '^([^|]*)|(%d+)$')
  if state then
    d = tonumber(d)
  else
    d = deadline_of(pods, flat[i], value)
    state = match(value, '^([^|]*)|')
  end
  if allowed[state] and (d == 0 or d > now) then
    -- sha1hex answers 40 hex digits, so comparing the strings compares the hashes.
    local score = sha1hex(prefix .. flat[i])
    if score > best_score then best, best_score = flat[i], score end
  end
end
if best == nil then return nil end
-- Link, then what `tidy` does, from the fields read above instead of reading them again: drop the
-- expired ones, and give the key the expiry of its longest-lived field (none if one has none).
local value = live_link(best, persist, lease, now)
redis.call('HSET', links, service, value)
local latest = deadline_of(links, service, value)
local forever = latest == 0
for i = 1, #held, 2 do
  if held[i] ~= service then
    local d = deadline_of(links, held[i], held[i + 1])
    if d == 0 then
      forever = true
    elseif d <= now then
      redis.call('HDEL', links, held[i])
    elseif d > latest then
      latest = d
    end
  end
end
-- A key that did not exist was created by HSET without an expiry.
if forever then
  if #held > 0 then redis.call('PERSIST', links) end
else
  redis.call('PEXPIREAT', links, latest)
end
return { 1, best }
