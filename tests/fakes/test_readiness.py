"""Readiness: a worker reports ready only once Redis has answered.

The Redis client connects lazily, so a worker pings it at startup: one whose Redis is
unreachable must not come up looking healthy with no consumer running. (Core and the webhook
do start without Redis, and answer what needs a queue 503 queue_unavailable: see
test_versions.py and test_webhook.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._processes import free_port, start_service
from ._stack import WORKERS

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", WORKERS)
def test_a_worker_whose_redis_is_unreachable_never_reports_ready(
    name: str, shared_database_url: str, tmp_path: Path
) -> None:
    redis_port = free_port()  # nothing listens there
    env = {
        "WRK_DATABASE_URL": shared_database_url,
        "WRK_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "WRK_PLATFORM_URL": "http://127.0.0.1:1",  # the build worker's; never called
    }
    # start_service waits (30 s at most) for /healthz to answer 200 or the process to exit.
    with pytest.raises(RuntimeError, match=f"{name} exited with [1-9]") as caught:
        start_service(name, env, tmp_path).stop()  # stopped if it came up after all
    assert f"127.0.0.1:{redis_port}" in str(caught.value)  # the log tail says why
