-- Delivers new entries to the pool and re-offers those whose owner's lease ran out.
-- ARGV +: transition JSON (reoffer), lease ms (the idle time after which an entry's
-- holder is presumed dead), batch size, most rounds.
-- Returns {delivered ids, re-offered ids}.
local rule = cjson.decode(ARGV[5])
local lease_ms, count, rounds = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local delivered, reoffered = {}, {}
deliver_new(count, rounds, delivered)
local now = now_ms()
local cursor = '0-0'
for _ = 1, rounds do
  local reply = redis.call('XAUTOCLAIM', stream, group, pool, lease_ms, cursor,
    'COUNT', count, 'JUSTID')
  for _, id in ipairs(reply[2]) do
    local key = prefix .. id
    if may_start(rule, key, '', now) then
      apply(rule, key, id, '', '', now, lease_ms)
      table.insert(reoffered, id)
    else
      -- Renewed meanwhile (or a longer lease): it stays with its owner.
      settle(id)
    end
  end
  cursor = reply[1]
  if cursor == '0-0' then break end
end
return {delivered, reoffered}
