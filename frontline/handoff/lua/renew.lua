-- The heartbeat: renews the lease of everything the agent holds.
-- ARGV +: transition JSON (renew), agent id, lease ms.
-- Returns the ids the agent still owns, leases renewed.
local rule = cjson.decode(ARGV[5])
local agent, lease_ms = ARGV[6], tonumber(ARGV[7])
local consumer = agent_prefix .. agent
local now = now_ms()
local held = {}
local start = '-'
for _ = 1, 1000 do
  local entries = redis.call('XPENDING', stream, group, start, '+', 100, consumer)
  for _, item in ipairs(entries) do
    local id = item[1]
    local key = prefix .. id
    if may_start(rule, key, agent, now) then
      apply(rule, key, id, agent, '', now, lease_ms)
      table.insert(held, id)
    else
      settle(id)
    end
  end
  if #entries < 100 then break end
  start = '(' .. entries[#entries][1]
end
return held
