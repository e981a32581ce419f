"""When a game day must stop: a severe alert nobody expected fires, or too much budget burned.

Pure decisions on what was observed (the monitor thread gathers the observations), so every
condition can be shown to pass and to fail without a deployment. Ctrl-C / SIGTERM are the
third abort condition; they arrive as `Interrupted` and need no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.gameday.budget import BudgetBurn
from harness.gameday.config import AbortOn
from harness.spec.alerts import Severity


@dataclass(frozen=True)
class FiringAlert:
    name: str
    severity: str | None  # the alert's `severity` label, if it has one


def _rank(severity: str) -> int | None:
    """SEV-1 -> 1 (worst); None for anything that is not a SEV level."""
    try:
        return int(Severity(severity).value.removeprefix("SEV-"))
    except ValueError:
        return None


def unexpected_severe(
    firing: Iterable[FiringAlert], expected: Iterable[str], at_least: Severity
) -> list[FiringAlert]:
    """Firing alerts at `at_least` or worse that the scenario does not expect."""
    allowed, limit = set(expected), _rank(at_least.value) or 0
    out = []
    for a in firing:
        rank = _rank(a.severity) if a.severity else None
        if a.name not in allowed and rank is not None and rank <= limit:
            out.append(a)
    return out


@dataclass(frozen=True)
class AbortPolicy:
    conditions: AbortOn
    expected: frozenset[str]  # alerts the scenario expects or allows to fire

    def reason(self, firing: Sequence[FiringAlert], burn: BudgetBurn | None) -> str | None:
        """Why the game day must stop now, or None to go on."""
        severity = self.conditions.unexpected_severity
        if severity is not None:
            severe = unexpected_severe(firing, self.expected, severity)
            if severe:
                names = ", ".join(f"{a.name} ({a.severity})" for a in severe)
                return f"unexpected {severity.value} or worse alert firing: {names}"
        limit = self.conditions.error_budget_burned
        if limit is None or burn is None or burn.percent is None:
            return None
        if burn.percent <= limit.max_percent:
            return None
        return (
            f"{burn.slo} burned {burn.percent:.2f}% of its error budget "
            f"(limit {limit.max_percent:g}%): {burn.errors:.0f} of {burn.total:.0f} "
            f"requests failed in {burn.window_s:.0f} s"
        )
