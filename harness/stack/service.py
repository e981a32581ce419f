"""What it takes to run one service: a plain, immutable description the supervisor executes."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Readiness(Protocol):
    """A readiness strategy: `check()` returns None when ready, else a short reason.

    A check must return within a few seconds (every network call has a timeout); the caller
    polls it against a monotonic deadline.
    """

    def check(self) -> str | None: ...


@dataclass(frozen=True)
class ServiceSpec:
    """One process of a stack.

    `depends_on` names services that must be ready before this one starts. A `oneshot`
    service (a setup step such as initdb) is ready when it has exited with status 0; its
    `readiness` is then not consulted.
    """

    name: str
    command: list[str]
    readiness: Readiness
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    cwd: Path | None = None
    run_as: str | None = None  # OS user to run as (requires root), e.g. "postgres"
    start_timeout_s: float = 30.0
    depends_on: tuple[str, ...] = ()
    oneshot: bool = False
    # Postgres wants SIGINT (fast shutdown): SIGTERM would wait for clients to disconnect.
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.name or not self.command:
            raise ValueError("a service needs a name and a command")
        if self.start_timeout_s <= 0 or self.stop_timeout_s <= 0:
            raise ValueError(f"{self.name}: timeouts must be positive")
