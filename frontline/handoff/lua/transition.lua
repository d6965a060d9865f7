-- Applies one transition (claim, release, reassign, resolve) to one entry, atomically.
-- ARGV +: transition JSON, entry id, agent id, lease ms, resolution code ('' if none).
-- Returns {1 if changed / 0 if not / -1 if missing, the hash as a flat list}.
local rule = cjson.decode(ARGV[5])
local id, agent, lease_ms, code = ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
local key = prefix .. id
if redis.call('EXISTS', key) == 0 then
  return {-1, {}}
end
local now = now_ms()
if not may_start(rule, key, agent, now) then
  return {0, redis.call('HGETALL', key)}
end
if rule.to == 'claimed' then
  -- A consumer can only hold what the group has read.
  deliver_new(100, 1000, nil)
end
apply(rule, key, id, agent, code, now, lease_ms)
return {1, redis.call('HGETALL', key)}
