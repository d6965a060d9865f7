-- Puts a packet on the queue, once per handoff id, and at most one open entry per
-- conversation (one pending or claimed: its id is returned instead).
-- KEYS +: dedupe key, conversation list.  ARGV +: packet JSON, handoff id,
-- conversation id, priority, priority rank.
-- Returns {entry id, 1 if added / 0 if the handoff was queued already}.
local existing = redis.call('GET', KEYS[4])
if existing then
  return {existing, 0}
end
for _, other in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
  local status = redis.call('HGET', prefix .. other, 'status')
  if status == 'pending' or status == 'claimed' then
    return {other, 0}
  end
end
local id = redis.call('XADD', stream, '*',
  'packet', ARGV[5], 'handoff_id', ARGV[6], 'conversation_id', ARGV[7])
local ms = string.match(id, '^(%d+)-')
local score = ARGV[9] .. string.rep('0', 13 - #ms) .. ms
redis.call('SET', KEYS[4], id, 'NX')
redis.call('HSET', prefix .. id, 'status', 'pending', 'handoff_id', ARGV[6],
  'conversation_id', ARGV[7], 'priority', ARGV[8], 'score', score,
  'enqueued_at', fmt(now_ms()), 'claims', 0, 'reoffers', 0)
redis.call('ZADD', pending_key, score, id)
redis.call('RPUSH', KEYS[5], id)
return {id, 1}
