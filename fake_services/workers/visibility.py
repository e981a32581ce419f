"""Waiting for the producer's commit before acting on a job.

Producers enqueue inside the transaction that writes what the job is about, just before it
commits: a failed enqueue then rolls the write back, and no row is ever left without its job.
The price is a short window in which a worker already holds the job while that transaction is
still open (Redis hands the job over in well under a millisecond; the commit follows a few
milliseconds later, more under load). In that window a new row is not visible yet, and a
changed row still shows its previous values.

So a handler reads what its job names with `committed`: it re-reads, with a short backoff,
until the row is there, for at most `deadline_s`; a row still missing then was rolled back or
deleted, and the job is treated as one whose subject is gone. A read that must see a change
of an existing row takes the row `FOR SHARE`: that waits for the writer's `FOR UPDATE` lock,
that is for its commit, and then returns the committed values. On the healthy path the first
read succeeds and nothing waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

Row = TypeVar("Row")

FIRST_PAUSE_S = 0.005
MAX_PAUSE_S = 0.1
DEADLINE_S = 3.0


async def committed(
    read: Callable[[], Awaitable[Row | None]], deadline_s: float | None = None
) -> Row | None:
    """`read()`'s first non-None result, retried for `deadline_s` (default DEADLINE_S); None
    if it never came."""
    deadline = time.monotonic() + (DEADLINE_S if deadline_s is None else deadline_s)
    pause = FIRST_PAUSE_S
    while True:
        row = await read()
        remaining = deadline - time.monotonic()
        if row is not None or remaining <= 0:
            return row
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, MAX_PAUSE_S)
