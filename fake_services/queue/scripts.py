"""Lua scripts: each runs atomically in Redis, so two workers never move the same job twice."""

from __future__ import annotations

# KEYS: delayed zset, ready list. ARGV: now (unix s), max jobs to move.
# Moves retries whose due time has come back to the ready list.
PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('RPUSH', KEYS[2], job)
end
return #due
"""

# KEYS: heartbeat key, processing list, ready list, workers set. ARGV: worker id.
# A worker whose heartbeat expired is dead (or partitioned): its jobs go back to the front of
# the ready list and it leaves the workers set. A live worker is left alone.
REAP_WORKER = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
local moved = 0
while redis.call('LMOVE', KEYS[2], KEYS[3], 'RIGHT', 'RIGHT') do
  moved = moved + 1
end
redis.call('SREM', KEYS[4], ARGV[1])
return moved
"""

# KEYS: processing list, ready list. ARGV: raw job.
# Returns a held job to the front of the ready list, only if it is still held.
RELEASE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""
