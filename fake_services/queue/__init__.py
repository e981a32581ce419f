"""Redis job queues with reliable delivery (spec §2.2 Workers, §3.3, §7 request ids in payloads).

Layout per queue `q` (all plain Redis keys, inspectable with redis-cli):
  q                      ready jobs, LPUSH by producers, BLMOVE'd from the right by workers
  q:processing:<worker>  jobs a worker holds; acknowledged by LREM
  q:alive:<worker>       the worker's heartbeat, a key with a TTL (its lease)
  q:workers              set of worker ids that may hold jobs
  q:delayed              sorted set of jobs waiting for a retry, scored by due time
  q:dead                 dead letters, jobs that exhausted their attempts
"""

from fake_services.queue.jobs import Job
from fake_services.queue.names import ALL_QUEUES, QueueName
from fake_services.queue.producer import Producer
from fake_services.queue.redis_client import connect_redis, redis_url_from_env

__all__ = ["ALL_QUEUES", "Job", "Producer", "QueueName", "connect_redis", "redis_url_from_env"]
