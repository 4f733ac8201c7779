-- Gives the duties lease up, if ARGV[1] holds it. KEYS[1] the lease key.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
