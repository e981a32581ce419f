"""Background loops (gauge refreshers, reapers, heartbeats) that survive dependency outages.

A failing iteration is logged once when the loop starts failing and once when it recovers, not
on every tick: an outage must not turn into a log flood that hides everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fake_services.observability import get_logger, tracing

_log = get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    interval_s: float
    tick: Callable[[], Awaitable[object]]


async def run_every(task: Periodic) -> None:
    failing = False
    while True:
        try:
            with tracing.untraced():
                await task.tick()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not failing:
                _log.warning(
                    f"background task {task.name} failing",
                    task=task.name,
                    error_type=type(exc).__name__,
                )
            failing = True
        else:
            if failing:
                _log.info(f"background task {task.name} recovered", task=task.name)
            failing = False
        await asyncio.sleep(task.interval_s)


@asynccontextmanager
async def running(tasks: Sequence[Periodic]) -> AsyncIterator[None]:
    """Run the loops for the duration of the block; cancel them on the way out."""
    started = [asyncio.create_task(run_every(t), name=t.name) for t in tasks]
    try:
        yield
    finally:
        for task in started:
            task.cancel()
        for task in started:
            with contextlib.suppress(asyncio.CancelledError):
                await task
