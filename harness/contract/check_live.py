"""Preflight, the parts a scenario touches: levers answer, fault points exist and are clean.

Levers are only read (GET), never written: a preflight changes nothing in the target. The
reads go through the target's services as a scenario's calls would (the edge, with the
run's API key), so they also leave request samples behind for the metrics checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from harness import http_client as http
from harness.contract.gaps import Gap
from harness.contract.levers import Lever
from harness.contract.model import Contract
from harness.stack.target import Target

TIMEOUT_S = 5.0


def check_lever(lever: Lever, target: Target, contract: Contract) -> Gap | None:
    blocks = contract.blocked_by_lever(lever.name)
    base = target.services.get(lever.service)
    read = f"{lever.read.method.value} {lever.read.path}"
    if base is None:
        return Gap("lever", lever.name, f"the target has no service {lever.service!r}", blocks)
    headers = {}
    if lever.auth and target.credentials:
        headers["Authorization"] = f"Bearer {target.credentials[0].api_key}"
    try:
        resp = http.shared().request(
            lever.read.method.value, base + lever.read.path, timeout=TIMEOUT_S, headers=headers
        )
    except httpx.HTTPError as exc:
        return Gap("lever", lever.name, f"{read} on {lever.service}: {http.reason(exc)}", blocks)
    if not resp.is_success:
        status = resp.status_code
        return Gap("lever", lever.name, f"{read} on {lever.service} answered {status}", blocks)
    try:
        body = resp.json()
    except ValueError:
        return Gap("lever", lever.name, f"{read} on {lever.service} answered no JSON", blocks)
    missing = _unlisted(lever, body)
    if missing:
        reason = f"{read} does not list {', '.join(missing)}"
        return Gap("lever", lever.name, reason, blocks)
    return None


def _unlisted(lever: Lever, body: Any) -> list[str]:
    if lever.lists is None:
        return []
    items = body.get(lever.lists.items) if isinstance(body, dict) else None
    listed = {str(i.get(lever.lists.field)) for i in items or [] if isinstance(i, dict)}
    return [n for n in lever.lists.names if n not in listed]


def check_levers(levers: Sequence[Lever], target: Target, contract: Contract) -> list[Gap]:
    return [g for lever in levers if (g := check_lever(lever, target, contract)) is not None]


def check_proxies(
    contract: Contract, toxiproxy_url: str, deployed: Callable[[str], str]
) -> list[Gap]:
    """Every fault point is a proxy of the target's Toxiproxy, enabled, without toxics.

    `deployed` maps the contract's proxy name to the target's (a game-day file may rename).
    """
    try:
        resp = http.shared().get(f"{toxiproxy_url}/proxies", timeout=TIMEOUT_S)
        proxies = resp.json() if resp.status_code == 200 else None
    except httpx.HTTPError as exc:
        proxies, why = None, http.reason(exc)
    except ValueError as exc:
        proxies, why = None, str(exc)
    else:
        why = f"GET /proxies answered {resp.status_code}"
    if not isinstance(proxies, dict):
        blocks = tuple(s.name for s in contract.scenarios if s.proxies)
        return [Gap("backend", "toxiproxy", f"{toxiproxy_url}: {why}", blocks)]
    gaps = []
    for point in contract.fault_points:
        name = deployed(point.proxy)
        shown = point.proxy if name == point.proxy else f"{point.proxy} (deployed as {name})"
        found = proxies.get(name)
        if not isinstance(found, dict):
            between = f"between {', '.join(point.clients)} and {point.upstream}"
            reason = f"no Toxiproxy proxy {between}"
            gaps.append(Gap("proxy", shown, reason, point.scenarios))
            continue
        toxics = [str(t.get("name")) for t in found.get("toxics") or [] if isinstance(t, dict)]
        if not found.get("enabled", False) or toxics:
            state = "disabled" if not found.get("enabled", False) else "enabled"
            reason = f"not clean: {state}, toxics {toxics}"
            gaps.append(Gap("proxy", shown, reason, point.scenarios))
    return gaps
