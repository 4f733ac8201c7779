-- The mark of the shared state's life: set to ARGV[1] when absent (first
-- node, or Redis lost its data), then returned. KEYS[1] the mark's key.
local mark = redis.call('GET', KEYS[1])
if not mark then
  redis.call('SET', KEYS[1], ARGV[1])
  mark = ARGV[1]
end
return mark
