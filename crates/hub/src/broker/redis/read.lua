-- A channel's position and part of its history, read in one step.
--
-- KEYS[1] the history stream, KEYS[2] the meta hash (see publish.lua)
-- ARGV[1] a fresh epoch, given to a channel that has none, so that the
--         position a subscriber gets now is the one publications continue
-- ARGV[2] meta TTL (ms)
-- ARGV[3] read after this offset (before it when reversed); '' from the end
-- ARGV[4] most entries returned (0: only the position)
-- ARGV[5] '1' for newest first
-- Returns {top offset, epoch, entries}.
local epoch = epoch_of(KEYS[1], KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local top = tonumber(redis.call('HGET', KEYS[2], 's'))
local limit = tonumber(ARGV[4])
local entries = {}
if limit > 0 then
  if ARGV[5] == '1' then
    local last = '+'
    if ARGV[3] ~= '' then last = '(' .. ARGV[3] .. '-0' end
    entries = redis.call('XREVRANGE', KEYS[1], last, '-', 'COUNT', limit)
  else
    local first = '-'
    if ARGV[3] ~= '' then first = '(' .. ARGV[3] .. '-0' end
    entries = redis.call('XRANGE', KEYS[1], first, '+', 'COUNT', limit)
  end
end
return {top, epoch, entries}
