-- computeLinkedPodIfAbsent. KEYS[1] links hash of one uid, KEYS[2] pods hash of the service.
-- ARGV: uid, service, persistMs, leaseMs, mode, allowed state, allowed state, …
-- A live or persisting link of the service is answered as is: {0, pod}. Otherwise, in mode
-- 'pick', the live pod whose state is allowed with the highest sha1(uid|podId) (rendezvous
-- hashing: the same uid and pod set always give the same pod, and a pod leaving only moves the
-- uids it held) is linked (live: leased for leaseMs when > 0, else without expiry): {1, pod};
-- nil, changing nothing, when no pod qualifies. In mode 'candidates' nothing is written:
-- {2, podId, state, podId, state, …} of the live pods, for a chooser outside Redis.
--
-- This is the hot path of a new connection (issue 17), so it carries no prelude (src/scripts.ts):
-- creating the prelude's closures cost more per call than the few lines of it repeated here. It
-- reads and writes the formats `_prelude.lua` describes, with the same checks. The pods loop does
-- one pattern match per pod and one sha1 per allowed live pod (the sha1s are most of the script's
-- time; hashing the pod id in Lua instead costs more), and the write reads nothing again.
local links, pods = KEYS[1], KEYS[2]
local uid, service, persist, lease, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local match, tonumber = string.match, tonumber
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- The two hashes this script reads: a key of another type is named in the error.
local function read(key)
  local reply = redis.pcall('HGETALL', key)
  if reply.err then
    return error({ err = 'WRONGTYPE key ' .. key .. ' holds another type (' .. reply.err .. ')' })
  end
  return reply
end

local function bad_value(key, field)
  return error({ err = 'TLBADVALUE field ' .. field .. ' of key ' .. key .. ' does not hold a Tideline stateful value' })
end

-- Deadline (number) of any stored value: its last `|`-separated field.
local function deadline_of(key, field, value)
  local d = match(value, '|(%d+)$')
  if not d then bad_value(key, field) end
  return tonumber(d)
end

local held = read(links)
for i = 1, #held, 2 do
  if held[i] == service then
    -- `podId|persistMs|deadlineMs` or `podId|persistMs|leaseMs|deadlineMs`.
    local value = held[i + 1]
    local current, deadline = match(value, '^([^|]*)|%d+|(%d+)$')
    if not current then current, deadline = match(value, '^([^|]*)|%d+|%d+|(%d+)$') end
    if not current then bad_value(links, service) end
    deadline = tonumber(deadline)
    if deadline == 0 or deadline > now then return { 0, current } end
  end
end

local flat = read(pods)
if mode == 'candidates' then
  local out = { 2 }
  for i = 1, #flat, 2 do
    local d = deadline_of(pods, flat[i], flat[i + 1])
    if d == 0 or d > now then
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

-- Link (live: leased until now + leaseMs when leaseMs > 0, else without expiry), then prune from
-- the fields read above: drop the expired ones, and give the key the expiry of its longest-lived
-- field (none if one has none).
local latest = 0
if tonumber(lease) > 0 then
  latest = now + tonumber(lease)
  redis.call('HSET', links, service, best .. '|' .. persist .. '|' .. lease .. '|' .. latest)
else
  redis.call('HSET', links, service, best .. '|' .. persist .. '|0')
end
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
