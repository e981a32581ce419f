"""Async SLO items judged per tenant: a tenant that sees none of its items is named."""

from __future__ import annotations

from harness.checks.tenants import per_tenant
from harness.observe.database import AsyncItem

MISSING = "no usage aggregate for its automation and day"


def test_every_tenant_is_counted_with_why_its_items_do_not_count() -> None:
    items = [
        AsyncItem(1.0, "tenant-1"),
        AsyncItem(9.0, "tenant-1"),  # visible, but late
        AsyncItem(None, "tenant-2", MISSING),
        AsyncItem(None, "tenant-2", MISSING),
        AsyncItem(None, "tenant-2"),
    ]
    verdict = per_tenant(items, threshold_s=5.0)
    assert verdict.missing == ("tenant-2",)
    assert verdict.describe() == (
        f"per tenant: tenant-1 1/2 within, tenant-2 0/3 within ({MISSING} x2; never finished x1)"
    )


def test_a_tenant_with_one_visible_item_is_not_missing() -> None:
    verdict = per_tenant([AsyncItem(None, "t1"), AsyncItem(50.0, "t1")], threshold_s=5.0)
    assert verdict.missing == ()
    assert verdict.named


def test_a_query_naming_no_tenant_has_nothing_to_judge_per_tenant() -> None:
    verdict = per_tenant([AsyncItem(None), AsyncItem(1.0)], threshold_s=5.0)
    assert not verdict.named and verdict.missing == ()
