"""What a preflight found: gaps between a target and the contract, each with what it blocks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_GAPS = 1  # as `wrkh report diff`: the command ran, the answer is "no"


@dataclass(frozen=True)
class Gap:
    """One thing the target lacks; `blocks` are the scenarios that cannot pass without it."""

    kind: str  # backend | service | metric | labels | buckets | lever | proxy | rule | routing
    item: str
    reason: str
    blocks: tuple[str, ...]

    def __str__(self) -> str:
        blocked = f"blocks {', '.join(self.blocks)}" if self.blocks else "blocks no scenario"
        return f"{self.kind} {self.item}: {self.reason} ({blocked})"


@dataclass
class PreflightReport:
    target: str
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be verified, and why
    checked: list[str] = field(default_factory=list)  # what was checked, one line each
    duration_s: float = 0.0

    def blocking(self, scenarios: Collection[str] | None = None) -> list[Gap]:
        """Gaps that block any of `scenarios` (None: every gap)."""
        if scenarios is None:
            return list(self.gaps)
        return [g for g in self.gaps if set(g.blocks) & set(scenarios)]

    def lines(self, scenarios: Collection[str] | None = None) -> list[str]:
        blocking = self.blocking(scenarios)
        head = "ok" if not blocking else f"{len(blocking)} gap(s)"
        lines = [f"preflight of {self.target}: {head} in {self.duration_s:.1f} s"]
        lines += [f"  ok   {c}" for c in self.checked]
        lines += [f"  GAP  {g}" for g in blocking]
        lines += [f"  gap  {g}" for g in self.gaps if g not in blocking]
        lines += [f"  note {n}" for n in self.notes]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "duration_s": round(self.duration_s, 3),
            "gaps": [asdict(g) for g in self.gaps],
            "notes": list(self.notes),
            "checked": list(self.checked),
        }
