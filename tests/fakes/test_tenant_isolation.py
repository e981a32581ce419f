"""Tenant isolation in core: a row is invisible and immutable to every other tenant.

Core trusts the X-Tenant-ID the edge sets. For each per-row route a row made by one tenant is,
for another, a 404 on GET and PATCH (the row left as it was) and absent from every listing, on
the fast lane and on the FastAPI route alike: they run separate code, so each is checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ._fastlane import FallbackSpy

OWNER = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}
STRANGER = {"X-Tenant-ID": "t2", "X-User-ID": "u2"}
AUTOMATIONS = "/v1/automations"


@dataclass(frozen=True)
class Lane:
    """Which path answers: the fast lane serves canonical requests only, so a framework request
    is the same one made irregular (an unhyphenated id, a repeated query parameter, a charset)."""

    name: str
    fast: bool

    def __str__(self) -> str:
        return self.name

    def item(self, collection: str, row_id: str) -> str:
        return f"{collection}/{row_id if self.fast else row_id.replace('-', '')}"

    def listing(self, collection: str, query: str = "") -> str:
        params = [p for p in (query, "" if self.fast else "x=1&x=1") if p]
        return f"{collection}?{'&'.join(params)}" if params else collection

    def headers(self, identity: dict[str, str]) -> dict[str, str]:
        charset = "" if self.fast else "; charset=utf-8"
        return {**identity, "content-type": f"application/json{charset}"}

    def send(
        self,
        core: TestClient,
        spy: FallbackSpy,
        method: str,
        path: str,
        identity: dict[str, str],
        *,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        spy.paths.clear()
        content = json.dumps(body).encode() if body is not None else None
        headers = self.headers(identity)
        response: httpx.Response = core.request(method, path, content=content, headers=headers)
        expected = [] if self.fast else [path.split("?", maxsplit=1)[0]]
        assert spy.paths == expected, f"{method} {path} did not take the {self} path"
        return response


FAST, FRAMEWORK = Lane("fast", fast=True), Lane("framework", fast=False)
LANES = (FAST, FRAMEWORK)


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
    fast_patch: bool = False


RESOURCES = {
    "automation": Resource(AUTOMATIONS, lambda _: {"name": "a"}, None),
    "version": Resource("/v1/automation-versions", _draft_version, {"status": "archived"}),
    "project": Resource("/v1/admin/projects", lambda _: {"name": "p"}, {"status": "active"}),
    "quote": Resource(
        "/v1/admin/quotes",
        lambda _: {"title": "q", "amount_cents": 5},
        {"status": "sent"},
        fast_patch=True,
    ),
    "client": Resource(
        "/v1/admin/clients", lambda _: {"name": "c"}, {"health_status": "At Risk"}, fast_patch=True
    ),
}
PATCHES = [
    pytest.param(name, lane, id=f"{name}-{lane}")
    for name, resource in RESOURCES.items()
    if resource.change is not None
    for lane in (LANES if resource.fast_patch else (FRAMEWORK,))
]
# (resource, the row field a listing is filtered on, if any)
LISTINGS = [*((name, None) for name in RESOURCES), ("version", "automation_id")]


def _row(core: TestClient, name: str) -> dict[str, Any]:
    resource = RESOURCES[name]
    return _create(core, resource.collection, resource.body(core))


@pytest.fixture
def spy(core: TestClient) -> FallbackSpy:
    return FallbackSpy.install(core)


def _assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error_code"] == "not_found"


@pytest.mark.parametrize("lane", LANES, ids=str)
@pytest.mark.parametrize("name", RESOURCES)
def test_another_tenant_cannot_read_a_row(
    core: TestClient, spy: FallbackSpy, name: str, lane: Lane
) -> None:
    row = _row(core, name)
    path = lane.item(RESOURCES[name].collection, row["id"])
    _assert_not_found(lane.send(core, spy, "GET", path, STRANGER))
    owned = lane.send(core, spy, "GET", path, OWNER)  # the 404 is the tenant's, not the path's
    assert (owned.status_code, owned.json()) == (200, row)


@pytest.mark.parametrize(("name", "lane"), PATCHES)
def test_another_tenant_cannot_change_a_row(
    core: TestClient, spy: FallbackSpy, name: str, lane: Lane
) -> None:
    resource = RESOURCES[name]
    assert resource.change is not None
    row = _row(core, name)
    path = lane.item(resource.collection, row["id"])
    _assert_not_found(lane.send(core, spy, "PATCH", path, STRANGER, body=resource.change))
    assert core.get(f"{resource.collection}/{row['id']}", headers=OWNER).json() == row
    changed = lane.send(core, spy, "PATCH", path, OWNER, body=resource.change)
    assert changed.status_code == 200, changed.text
    assert changed.json().items() >= resource.change.items()


@pytest.mark.parametrize("lane", LANES, ids=str)
@pytest.mark.parametrize(("name", "field"), LISTINGS)
def test_listings_hold_only_the_callers_rows(
    core: TestClient, spy: FallbackSpy, name: str, field: str | None, lane: Lane
) -> None:
    row = _row(core, name)
    query = f"{field}={row[field]}" if field is not None else ""
    path = lane.listing(RESOURCES[name].collection, query)
    listed = lane.send(core, spy, "GET", path, STRANGER)
    assert (listed.status_code, listed.json()["items"]) == (200, [])
    owned = lane.send(core, spy, "GET", path, OWNER)
    assert [item["id"] for item in owned.json()["items"]] == [row["id"]]


@pytest.mark.parametrize("lane", LANES, ids=str)
def test_a_version_cannot_be_added_to_another_tenants_automation(
    core: TestClient, spy: FallbackSpy, lane: Lane
) -> None:
    collection = RESOURCES["version"].collection
    body = _draft_version(core)
    _assert_not_found(lane.send(core, spy, "POST", collection, STRANGER, body=body))
    listing = f"{collection}?automation_id={body['automation_id']}"
    assert core.get(listing, headers=OWNER).json()["items"] == []
    created = lane.send(core, spy, "POST", collection, OWNER, body=body)
    assert (created.status_code, created.json()["version"]) == (201, 1), created.text
