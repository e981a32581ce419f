"""What every stack the harness starts offers: start it for a Target, stop it, use it in `with`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from harness.errors import ComponentDied
from harness.spec.timescale import Timing
from harness.stack.target import Target


@dataclass(frozen=True)
class StackConfig:
    """What every stack needs; the caller renders the rules and Alertmanager files."""

    base_dir: Path
    timing: Timing
    alertmanager_config: Path
    rules_file: Path | None = None
    tenants: int = 2  # API keys generated per run, one tenant each
    run_id: str | None = None
    scrape_timeout_s: float = 30.0  # Prometheus' first scrape of every job
    # False: `start` returns once every service answers and `await_scraped` waits for
    # Prometheus' first scrape of all (~5 s after its start), so the caller can overlap it.
    scraped_at_start: bool = True
    port_lock_dir: Path | None = None


class Stack(ABC):
    @abstractmethod
    def start(self) -> Target:
        """Start everything and return where it answers; on failure nothing is left running."""

    @abstractmethod
    def stop(self) -> None:
        """Stop everything started; idempotent, safe after a failed start."""

    def await_scraped(self) -> float:
        """Once started: wait until Prometheus has scraped every service (at once when `start`
        waited for it already); seconds waited."""
        return 0.0

    def watch(self, on_death: Callable[[ComponentDied], None]) -> None:
        """Once started: call `on_death` when a part of the stack dies before `stop`. A stack
        whose parts the harness does not run as its own processes watches nothing."""
        return None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
