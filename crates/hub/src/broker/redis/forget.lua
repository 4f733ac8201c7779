-- Forgets the sources that sent nothing for ARGV[1] ms, by Redis's clock.
-- KEYS[1] the sources' activity, KEYS[2] their metric names, KEYS[3] the
-- node that evaluated each.
-- Returns how many were forgotten.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local age = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local forgotten = 0
for i = 1, #all, 2 do
  local last = tonumber(string.match(all[i + 1], '^%d+'))
  if not last or now - last >= age then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('HDEL', KEYS[2], all[i])
    redis.call('HDEL', KEYS[3], all[i])
    forgotten = forgotten + 1
  end
end
return forgotten
