"""Status machines: which status may follow which, checked before any write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fake_services.observability import ErrorCode, ServiceError


@dataclass(frozen=True)
class Transitions:
    resource: str
    allowed: Mapping[str, frozenset[str]]

    def check(self, current: str, target: str) -> None:
        if target not in self.allowed.get(current, frozenset()):
            raise ServiceError(
                ErrorCode.INVALID_TRANSITION,
                f"a {self.resource} cannot go from {current!r} to {target!r}",
            )

    @property
    def statuses(self) -> tuple[str, ...]:
        found = {*self.allowed, *(s for targets in self.allowed.values() for s in targets)}
        return tuple(sorted(found))
