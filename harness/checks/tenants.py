"""Async SLO items per tenant: every tenant that produced items in a window must see them.

An async SLO's percentile is judged over all tenants together, so a build that serves one
tenant and skips another can still hold 95 %. A user of the skipped tenant sees nothing at
all: a tenant none of whose items a user can see fails the SLO on its own, named.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.observe.database import AsyncItem

UNNAMED = "(no tenant)"
MAX_PROBLEMS_SHOWN = 2  # per tenant, most frequent first


@dataclass
class TenantItems:
    tenant: str
    count: int = 0
    within: int = 0  # finished within the threshold and visible
    visible: int = 0  # visible at all, late or not
    problems: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        text = f"{self.tenant} {self.within}/{self.count} within"
        if self.problems:
            shown = self.problems.most_common(MAX_PROBLEMS_SHOWN)
            text += " (" + "; ".join(f"{p} x{n}" for p, n in shown) + ")"
        return text


@dataclass(frozen=True)
class TenantVerdict:
    tenants: tuple[TenantItems, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Tenants with items of which a user sees none."""
        return tuple(
            t.tenant for t in self.tenants if t.count and not t.visible and t.tenant != UNNAMED
        )

    @property
    def named(self) -> bool:
        """The query names tenants (else there is nothing to judge per tenant)."""
        return any(t.tenant != UNNAMED for t in self.tenants)

    def describe(self) -> str:
        return "per tenant: " + ", ".join(t.describe() for t in self.tenants)


def per_tenant(items: Sequence[AsyncItem], threshold_s: float) -> TenantVerdict:
    """Items grouped by tenant: how many, how many within `threshold_s`, and why not."""
    groups: dict[str, TenantItems] = defaultdict(lambda: TenantItems(""))
    for item in items:
        tenant = item.tenant_id or UNNAMED
        group = groups[tenant]
        group.tenant = tenant
        group.count += 1
        if item.latency_s is not None:
            group.visible += 1
            group.within += item.latency_s <= threshold_s
        else:
            group.problems[item.problem or "never finished"] += 1
    return TenantVerdict(tuple(groups[t] for t in sorted(groups)))
