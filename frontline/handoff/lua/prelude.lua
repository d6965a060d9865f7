-- Shared by every script of the Redis handoff queue (frontline/handoff/redis_queue.py),
-- which runs each script as this prelude followed by the script's own body.
--
-- Every script gets KEYS = stream, pending set, claimed set (+ its own keys) and
-- ARGV = entry key prefix, group, pool consumer, agent consumer prefix (+ its own).
-- A transition arrives as the JSON of frontline/handoff/transitions.py's Transition:
-- {name, to, start = {{status, owner, lease}, ...}, sets = {{field, value, when}, ...}}.
local stream, pending_key, claimed_key = KEYS[1], KEYS[2], KEYS[3]
local prefix, group, pool, agent_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- Priority rank, then the enqueue millisecond: the order of the queue.
local function score_of(key, id)
  local score = redis.call('HGET', key, 'score')
  if score then return score end
  local ms = string.match(id, '^(%d+)-')
  return '2' .. string.rep('0', 13 - #ms) .. ms
end

-- Moves an entry of the group's pending entries list to a consumer; resets its idle time.
local function hold(id, consumer)
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
end

-- Puts an entry the group has just handed to the pool where its state says it belongs.
local function settle(id)
  local key = prefix .. id
  local status = redis.call('HGET', key, 'status')
  if status == 'resolved' then
    redis.call('XACK', stream, group, id)
  elseif status == 'claimed' then
    hold(id, agent_prefix .. redis.call('HGET', key, 'claimed_by'))
  end
end

-- XREADGROUP: delivers the entries the group has not read yet to the pool.
local function deliver_new(count, rounds, delivered)
  for _ = 1, rounds do
    local reply = redis.call('XREADGROUP', 'GROUP', group, pool, 'COUNT', count,
      'STREAMS', stream, '>')
    if not reply then return end
    local entries = reply[1][2]
    for _, item in ipairs(entries) do
      settle(item[1])
      if delivered then table.insert(delivered, item[1]) end
    end
    if #entries < count then return end
  end
end

local function lease_of(key)
  return tonumber(redis.call('HGET', key, 'lease_expires_at') or '0') or 0
end

-- Whether the entry is in one of the states the transition may start from, for agent.
local function may_start(rule, key, agent, now)
  local status = redis.call('HGET', key, 'status')
  local is_agents = redis.call('HGET', key, 'claimed_by') == agent
  for _, start in ipairs(rule.start) do
    local owner, lease = start[2], start[3]
    if status == start[1]
        and (owner == 'anyone' or (owner == 'agent') == is_agents)
        and (lease == 'any' or lease_of(key) <= now) then
      return true
    end
  end
  return false
end

-- Puts an entry where its status says: its sorted set and its consumer (or acknowledged).
local function place(key, id)
  local status = redis.call('HGET', key, 'status')
  if status == 'pending' then
    redis.call('ZREM', claimed_key, id)
    redis.call('ZADD', pending_key, score_of(key, id), id)
    hold(id, pool)
  elseif status == 'claimed' then
    redis.call('ZREM', pending_key, id)
    redis.call('ZADD', claimed_key, score_of(key, id), id)
    hold(id, agent_prefix .. redis.call('HGET', key, 'claimed_by'))
  else
    redis.call('ZREM', pending_key, id)
    redis.call('ZREM', claimed_key, id)
    redis.call('XACK', stream, group, id)
  end
end

-- Writes the transition's status and fields into the entry's hash, then places it.
local function apply(rule, key, id, agent, code, now, lease_ms)
  local before = redis.call('HGET', key, 'status')
  redis.call('HSET', key, 'status', rule.to)
  for _, set in ipairs(rule.sets) do
    local field, value, when = set[1], set[2], set[3]
    if value == 'agent' then
      redis.call('HSET', key, field, agent)
    elseif value == 'code' then
      redis.call('HSET', key, field, code)
    elseif value == 'now' then
      redis.call('HSET', key, field, fmt(now))
    elseif value == 'now_if_unset' then
      redis.call('HSETNX', key, field, fmt(now))
    elseif value == 'lease_end' then
      redis.call('HSET', key, field, fmt(now + lease_ms))
    elseif value == 'clear' then
      redis.call('HDEL', key, field)
    elseif value == 'increment' then
      if when == '' or when == before then
        redis.call('HINCRBY', key, field, 1)
      end
    else
      return error('transition ' .. rule.name .. ' sets ' .. field .. ' to unknown ' .. value)
    end
  end
  place(key, id)
end
