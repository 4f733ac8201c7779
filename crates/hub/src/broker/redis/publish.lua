-- One publication on one channel, in one atomic step: the next offset, the
-- history stream, the shared state it changes, and the fan-out to nodes.
--
-- KEYS[1]  the channel's history stream (entry ids are "<offset>-0")
-- KEYS[2]  its meta hash: `e` the epoch, `s` the top offset
-- KEYS[3..5] what the publication changes:
--            an alarm: the active alarms, their acks, their silences;
--            a sample: the sources' activity, their metric names, the node
--            that evaluated each source's last sample
-- ARGV[1]  the pub/sub channel of the fan-out
-- ARGV[2]  the publication's JSON, offset left out
-- ARGV[3]  history size, ARGV[4] history TTL (ms), ARGV[5] meta TTL (ms)
-- ARGV[6]  a fresh epoch, used when the channel has none (new, expired, or
--          Redis lost its data): clients then learn they cannot recover
-- ARGV[7]  '1' to keep the publication out of history
-- ARGV[8]  what it changes: '' nothing, 'alarm' or 'sample'
--   alarm:  ARGV[9] id, ARGV[10] state, ARGV[11] alarm JSON,
--           ARGV[12] acknowledgement JSON, ARGV[13] silenced until ('' none)
--   sample: ARGV[9] source, ARGV[10] names JSON ('' unchanged),
--           ARGV[11] gaps kept to estimate its interval,
--           ARGV[12] the node evaluating its rules
-- Returns {offset, epoch, moved}: moved is 1 when another node evaluated
-- the source's previous sample (this node's rule state for it is stale).
local epoch = epoch_of(KEYS[1], KEYS[2], ARGV[6])
local offset = redis.call('HINCRBY', KEYS[2], 's', 1)
local moved = 0
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if ARGV[7] ~= '1' then
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], offset .. '-0', 'p', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end

if ARGV[8] == 'alarm' then
  local id, state = ARGV[9], ARGV[10]
  if state == 'resolved' then
    -- A new episode starts without the old acknowledgement and silence.
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
  else
    redis.call('HSET', KEYS[3], id, ARGV[11])
    if state == 'acknowledged' then
      redis.call('HSET', KEYS[4], id, ARGV[12])
    end
    if ARGV[13] ~= '' then
      redis.call('HSET', KEYS[5], id, ARGV[13])
    end
  end
elseif ARGV[8] == 'sample' then
  -- "<last ms> <newest gap> <older gaps>...", by Redis's clock: one clock
  -- for every node.
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local entry = tostring(now)
  local previous = redis.call('HGET', KEYS[3], ARGV[9])
  if previous then
    local words = {}
    for word in string.gmatch(previous, '%S+') do
      words[#words + 1] = word
    end
    entry = entry .. ' ' .. tostring(now - tonumber(words[1]))
    for i = 2, math.min(#words, tonumber(ARGV[11])) do
      entry = entry .. ' ' .. words[i]
    end
  end
  redis.call('HSET', KEYS[3], ARGV[9], entry)
  if ARGV[10] ~= '' then
    redis.call('HSET', KEYS[4], ARGV[9], ARGV[10])
  end
  local evaluator = redis.call('HGET', KEYS[5], ARGV[9])
  if evaluator ~= ARGV[12] then
    redis.call('HSET', KEYS[5], ARGV[9], ARGV[12])
    if evaluator then
      moved = 1
    end
  end
end

redis.call('PUBLISH', ARGV[1], offset .. ' ' .. epoch .. ' ' .. ARGV[2])
return {offset, epoch, moved}
