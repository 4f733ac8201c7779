-- Takes or renews the duties lease for ARGV[1] for ARGV[2] ms.
-- KEYS[1] the lease key. Returns 1 while ARGV[1] holds it, else 0.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
