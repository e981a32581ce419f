"""What every stack the harness starts offers: start it for a Target, stop it, use it in `with`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from harness.stack.target import Target


class Stack(ABC):
    @abstractmethod
    def start(self) -> Target:
        """Start everything and return where it answers; on failure nothing is left running."""

    @abstractmethod
    def stop(self) -> None:
        """Stop everything started; idempotent, safe after a failed start."""

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
