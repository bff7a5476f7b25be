"""The Lua scripts of the Redis store: each is one round trip that Redis runs atomically.

An event log is a list whose items are `<seq> <event JSON>`, oldest first, with consecutive seq
numbers, so the item of seq `n` sits at index `n - first seq`. Logs written by earlier versions were
streams (`e:` keys, entry id `<seq>-0`, field `d`): they are read as they are and moved into the list
by the session's next commit.
"""

from __future__ import annotations

# Take the session lock and read the session with it. KEYS: lock, session. ARGV: token, ttl in ms.
# Returns {1, session JSON or nil} when taken, {0} when another holder has it.
TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}
"""

# Extend (PEXPIRE) or release (DEL) the lock if it is still ours. KEYS: lock. ARGV: token, ttl in ms
# (extend) or nothing (release). Returns 1 when it was ours, else 0.
EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

# One turn: refuse it if the session lock was lost (fencing), store the session (and when, for
# expiry), write the turn's claims, release the lock when the turn ends here, append the events
# after the last seq, keep the newest `limit`, and wake every replica's readers of this session.
# KEYS: session, log, lock, the updated-at sorted set, the old stream, then one key per claim.
# ARGV: lock token or "", "1" to store the session, the session JSON, the wake channel, the session
# key, the time, the limit, "1" to release the lock, the number of claims n, n claim lifetimes in
# ms, then one JSON document per event.
# Returns the first seq, 0 when there were no events, -1 when fenced out.
COMMIT = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
end
local claims = tonumber(ARGV[9])
for i = 1, claims do
  redis.call('SET', KEYS[5 + i], '1', 'PX', ARGV[9 + i])
end
if ARGV[8] == '1' and ARGV[1] ~= '' then redis.call('DEL', KEYS[3]) end
local events = 10 + claims
if #ARGV < events then return 0 end
if redis.call('LLEN', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[5]) == 1 then
  local old = {}
  for _, entry in ipairs(redis.call('XRANGE', KEYS[5], '-', '+')) do
    old[#old + 1] = string.match(entry[1], '^(%d+)') .. ' ' .. entry[2][2]
  end
  for i = 1, #old, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(old, i, math.min(i + 999, #old)))
  end
  redis.call('DEL', KEYS[5])
end
local seq = 0
local last = redis.call('LINDEX', KEYS[2], -1)
if last then seq = tonumber(string.match(last, '^(%d+)')) end
local first = seq + 1
local items = {}
for i = events, #ARGV do
  seq = seq + 1
  items[#items + 1] = seq .. ' ' .. ARGV[i]
end
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[7]), -1)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return first
"""

# Events with seq > after, at most `limit`, oldest first, as `<seq> <JSON>` items.
# KEYS: log, the old stream. ARGV: after, limit.
READ = """
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  local out = {}
  for _, entry in ipairs(redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', limit)) do
    out[#out + 1] = string.match(entry[1], '^(%d+)') .. ' ' .. entry[2][2]
  end
  return out
end
local start = after + 1 - tonumber(string.match(head, '^(%d+)'))
if start < 0 then start = 0 end
return redis.call('LRANGE', KEYS[1], start, start + limit - 1)
"""

# The seq of the newest event, 0 for an empty log. KEYS: log, the old stream.
LAST_SEQ = """
local last = redis.call('LINDEX', KEYS[1], -1)
if not last then
  local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #entries == 0 then return 0 end
  last = entries[1][1]
end
return tonumber(string.match(last, '^(%d+)'))
"""
