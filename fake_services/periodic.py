"""Background loops (gauge refreshers, reapers, heartbeats) that survive dependency outages.

A failing iteration is logged once when the loop starts failing and once when it recovers, not
on every tick: an outage must not turn into a log flood that hides everything else.

Loops stop on an event, not on cancellation alone: some client libraries swallow a
CancelledError that arrives mid-call, and a loop relying on it would then never end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fake_services.observability import get_logger, tracing

_log = get_logger(__name__)

STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class Periodic:
    name: str
    interval_s: float
    tick: Callable[[], Awaitable[object]]


async def _tick_once(task: Periodic, failing: bool) -> bool:
    """One iteration; returns whether the loop is now failing."""
    try:
        with tracing.untraced():
            await task.tick()
    except Exception as exc:
        if not failing:
            _log.warning(
                f"background task {task.name} failing",
                task=task.name,
                error_type=type(exc).__name__,
            )
        return True
    if failing:
        _log.info(f"background task {task.name} recovered", task=task.name)
    return False


async def run_every(task: Periodic, stop: asyncio.Event) -> None:
    failing = False
    while not stop.is_set():
        failing = await _tick_once(task, failing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=task.interval_s)


@asynccontextmanager
async def running(tasks: Sequence[Periodic]) -> AsyncIterator[None]:
    """Run the loops for the duration of the block; stop them on the way out."""
    stop = asyncio.Event()
    started = [asyncio.create_task(run_every(t, stop), name=t.name) for t in tasks]
    try:
        yield
    finally:
        stop.set()
        await stop_tasks(started)


async def stop_tasks(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Give tasks a grace period to notice their stop event, then cancel what is left."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=STOP_GRACE_S)
