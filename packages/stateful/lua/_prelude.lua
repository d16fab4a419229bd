-- Shared helpers, put in front of every script of this folder (src/scripts.ts), so each script is
-- one self-contained EVALSHA body. Stored values are `|`-separated; the last field is always the
-- expiry deadline in Unix milliseconds, 0 meaning "no expiry". Ids never contain `|`.
--
-- A link is `podId|persistMs|deadlineMs` (live without expiry when the deadline is 0, else
-- persisting until it) or `podId|persistMs|leaseMs|deadlineMs` with leaseMs > 0: live, held by a
-- lease that its pod's heartbeat renews; the deadline is the end of the lease, after which the link
-- is simply gone (its pod died). A connection entry is `podId|deadlineMs`, also leased.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function bad_value(key, field)
  return error({ err = 'TLBADVALUE field ' .. field .. ' of key ' .. key .. ' does not hold a Tideline stateful value' })
end

-- Deadline (number) of an encoded value, raising a typed error when the value is not ours.
local function deadline_of(key, field, value)
  local d = string.match(value, '|(%d+)$')
  if not d then bad_value(key, field) end
  return tonumber(d)
end

local function is_live(deadline, now)
  return deadline == 0 or deadline > now
end

-- Drops the expired fields among `flat` (field, value, field, value, … of hash `key`, as read
-- before any field `written` since) and gives the key the expiry of its longest-lived field, so a
-- key whose fields all expired disappears without anyone touching it again. `latest` is the
-- deadline of the field written since (0: none was, or it has no expiry), `forever` whether it
-- has no expiry.
local function prune(key, flat, now, written, latest, forever)
  for i = 1, #flat, 2 do
    if flat[i] ~= written then
      local d = deadline_of(key, flat[i], flat[i + 1])
      if d == 0 then
        forever = true
      elseif d <= now then
        redis.call('HDEL', key, flat[i])
      elseif d > latest then
        latest = d
      end
    end
  end
  if forever then
    -- A key that did not exist before was created without an expiry.
    if #flat > 0 then redis.call('PERSIST', key) end
  elseif latest > 0 then
    redis.call('PEXPIREAT', key, latest)
  end
end

-- `prune` of hash `key` as it is now.
local function tidy(key, now)
  prune(key, redis.call('HGETALL', key), now, nil, 0, false)
end

-- Field, head, field, head, … of the live fields of hash `key`, the head being the first
-- `|`-separated part of the value (a pod id, a state). Read only.
local function live_heads(key, now)
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
end

-- pod, persistMs, leaseMs, deadline of a link value (leaseMs 0 for the three-field form).
local function parse_link(key, field, value)
  local pod, persist, lease, deadline = string.match(value, '^([^|]*)|(%d+)|(%d+)|(%d+)$')
  if pod then return pod, tonumber(persist), tonumber(lease), tonumber(deadline) end
  pod, persist, deadline = string.match(value, '^([^|]*)|(%d+)|(%d+)$')
  if not pod then bad_value(key, field) end
  return pod, tonumber(persist), 0, tonumber(deadline)
end

-- A live link of `pod`: leased (leaseMs > 0) until now + leaseMs, else without expiry.
local function live_link(pod, persist, lease, now)
  if tonumber(lease) > 0 then
    return pod .. '|' .. persist .. '|' .. lease .. '|' .. (now + tonumber(lease))
  end
  return pod .. '|' .. persist .. '|0'
end
