-- Shared by publish.lua and read.lua (prepended to each): a channel's
-- epoch, or a fresh one (with an empty history at offset 0) when it has
-- none: new, expired, or lost with Redis's data.
local function epoch_of(stream, meta, fresh)
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = fresh
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'e', epoch, 's', 0)
  end
  return epoch
end

