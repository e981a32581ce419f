"""Tenant isolation in core: a row is invisible and immutable to every other tenant.

Core trusts the X-Tenant-ID the edge sets. For each per-row route a row made by one tenant is,
for another, a 404 on GET and PATCH (the row left as it was) and absent from every listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

OWNER = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}
STRANGER = {"X-Tenant-ID": "t2", "X-User-ID": "u2"}
AUTOMATIONS = "/v1/automations"


def send(
    core: TestClient,
    method: str,
    path: str,
    identity: dict[str, str],
    *,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    response: httpx.Response = core.request(method, path, json=body, headers=identity)
    return response


def _create(core: TestClient, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    response = core.post(collection, json=body, headers=OWNER)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _draft_version(core: TestClient) -> dict[str, Any]:
    return {"automation_id": _create(core, AUTOMATIONS, {"name": "a"})["id"], "build": False}


@dataclass(frozen=True)
class Resource:
    collection: str
    body: Callable[[TestClient], dict[str, Any]]  # the POST body, made as the owner
    change: dict[str, Any] | None  # a change its PATCH accepts; None where there is no PATCH


RESOURCES = {
    "automation": Resource(AUTOMATIONS, lambda _: {"name": "a"}, None),
    "version": Resource("/v1/automation-versions", _draft_version, {"status": "archived"}),
    "project": Resource("/v1/admin/projects", lambda _: {"name": "p"}, {"status": "active"}),
    "quote": Resource(
        "/v1/admin/quotes",
        lambda _: {"title": "q", "amount_cents": 5},
        {"status": "sent"},
    ),
    "client": Resource("/v1/admin/clients", lambda _: {"name": "c"}, {"health_status": "At Risk"}),
}
PATCHES = [name for name, resource in RESOURCES.items() if resource.change is not None]
# (resource, the row field a listing is filtered on, if any)
LISTINGS = [*((name, None) for name in RESOURCES), ("version", "automation_id")]


def _row(core: TestClient, name: str) -> dict[str, Any]:
    resource = RESOURCES[name]
    return _create(core, resource.collection, resource.body(core))


def _assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error_code"] == "not_found"


@pytest.mark.parametrize("name", RESOURCES)
def test_another_tenant_cannot_read_a_row(core: TestClient, name: str) -> None:
    row = _row(core, name)
    path = f"{RESOURCES[name].collection}/{row['id']}"
    _assert_not_found(send(core, "GET", path, STRANGER))
    owned = send(core, "GET", path, OWNER)  # the 404 is the tenant's, not the path's
    assert (owned.status_code, owned.json()) == (200, row)


@pytest.mark.parametrize("name", PATCHES)
def test_another_tenant_cannot_change_a_row(core: TestClient, name: str) -> None:
    resource = RESOURCES[name]
    assert resource.change is not None
    row = _row(core, name)
    path = f"{resource.collection}/{row['id']}"
    _assert_not_found(send(core, "PATCH", path, STRANGER, body=resource.change))
    assert core.get(path, headers=OWNER).json() == row
    changed = send(core, "PATCH", path, OWNER, body=resource.change)
    assert changed.status_code == 200, changed.text
    assert changed.json().items() >= resource.change.items()


@pytest.mark.parametrize(("name", "field"), LISTINGS)
def test_listings_hold_only_the_callers_rows(
    core: TestClient, name: str, field: str | None
) -> None:
    row = _row(core, name)
    query = f"?{field}={row[field]}" if field is not None else ""
    path = f"{RESOURCES[name].collection}{query}"
    listed = send(core, "GET", path, STRANGER)
    assert (listed.status_code, listed.json()["items"]) == (200, [])
    owned = send(core, "GET", path, OWNER)
    assert [item["id"] for item in owned.json()["items"]] == [row["id"]]


def test_a_version_cannot_be_added_to_another_tenants_automation(core: TestClient) -> None:
    collection = RESOURCES["version"].collection
    body = _draft_version(core)
    _assert_not_found(send(core, "POST", collection, STRANGER, body=body))
    listing = f"{collection}?automation_id={body['automation_id']}"
    assert core.get(listing, headers=OWNER).json()["items"] == []
    created = send(core, "POST", collection, OWNER, body=body)
    assert (created.status_code, created.json()["version"]) == (201, 1), created.text
