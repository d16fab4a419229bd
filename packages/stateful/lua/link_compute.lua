-- computeLinkedPodIfAbsent, for one uid or for several of one service at once.
-- KEYS[1] pods hash of the service; KEYS[2], KEYS[3], … the links hash of each uid.
-- ARGV: service, persistMs, leaseMs, mode, n, n allowed states, then the uids (one per links key).
--
-- Mode 'pick', for each uid in turn: a live or persisting link of the service is answered as is:
-- {0, pod}. Otherwise the live pod whose state is allowed with the highest sha1(uid|podId)
-- (rendezvous hashing: the same uid and pod set always give the same pod, and a pod leaving only
-- moves the uids it held) is linked (live: leased for leaseMs when > 0, else without expiry):
-- {1, pod}; false, changing nothing, when no pod qualifies; {-1, error} when that uid failed (a key
-- of another type, a value not in our format). The answer is the list of these, in uid order: the
-- same as one call per uid in that order, at one instant.
-- Mode 'candidates' (one uid, n = 0) writes nothing: {0, pod} for a link as above, else
-- {2, podId, state, podId, state, …} of the live pods, for a chooser outside Redis.
--
-- This is the hot path of new connections (issue 17). The pods are read and sorted out once for
-- all the uids of a call; then each uid costs one sha1 per allowed live pod (most of its time;
-- hashing the pod id in Lua instead costs more), and the write reads nothing again.
local pods = KEYS[1]
local service, persist, lease, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local first_uid = 6 + tonumber(ARGV[5])
local match = string.match
local now = now_ms()

-- The hashes this script reads: a key of another type is named in the error.
local function read(key)
  local reply = redis.pcall('HGETALL', key)
  if reply.err then
    return error({ err = 'WRONGTYPE key ' .. key .. ' holds another type (' .. reply.err .. ')' })
  end
  return reply
end

-- The pod of the live or persisting link of the service among `held` (the fields of `links`).
local function linked(links, held)
  for i = 1, #held, 2 do
    if held[i] == service then
      local current, _, _, deadline = parse_link(links, service, held[i + 1])
      if is_live(deadline, now) then return current end
    end
  end
  return nil
end

if mode == 'candidates' then
  local links = KEYS[2]
  local current = linked(links, read(links))
  if current then return { 0, current } end
  local flat = read(pods)
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
for i = 6, first_uid - 1 do allowed[ARGV[i]] = true end

-- The live pods in an allowed state, read when the first uid without a link needs them.
local candidates
local function candidates_once()
  if candidates then return candidates end
  local flat = read(pods)
  local out = {}
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
    if allowed[state] and is_live(d, now) then out[#out + 1] = flat[i] end
  end
  candidates = out
  return out
end

local sha1hex = redis.sha1hex
local function link_one(links, uid)
  local held = read(links)
  local current = linked(links, held)
  if current then return { 0, current } end
  local prefix = uid .. '|'
  local best, best_score = nil, ''
  local among = candidates_once()
  for i = 1, #among do
    -- sha1hex answers 40 hex digits, so comparing the strings compares the hashes.
    local score = sha1hex(prefix .. among[i])
    if score > best_score then best, best_score = among[i], score end
  end
  if best == nil then return false end

  -- Link, then prune from the fields read above (`tidy` without reading them again).
  local value = live_link(best, persist, lease, now)
  redis.call('HSET', links, service, value)
  local latest = deadline_of(links, service, value)
  prune(links, held, now, service, latest, latest == 0)
  return { 1, best }
end

local out = {}
for k = 2, #KEYS do
  local ok, answer = pcall(link_one, KEYS[k], ARGV[first_uid + k - 2])
  if ok then
    out[k - 1] = answer
  else
    out[k - 1] = { -1, (type(answer) == 'table' and answer.err) or tostring(answer) }
  end
end
return out
