"""Faults that run: Toxiproxy outages and toxics, HTTP levers, harmful load; always rolled back.

The `FaultInjector` undoes every fault it applied (reverse order), falls back to Toxiproxy's
own reset, and verifies every touched proxy is clean; Toxiproxy is reached through
`harness.run.toxiproxy`, which puts a deadline on every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness import http_client
from harness.errors import FaultError
from harness.load.runner import LoadIdentity, LoadProfile, LoadRun
from harness.run.toxiproxy import ToxicSpec, ToxiproxyAPI
from harness.stack.target import Target

__all__ = [
    "ActiveFault",
    "Fault",
    "FaultContext",
    "FaultInjector",
    "HttpCall",
    "HttpFault",
    "LoadFault",
    "Outage",
    "Toxic",
    "send_all",
]

log = logging.getLogger("harness.run.faults")


@dataclass(frozen=True)
class FaultContext:
    """What a fault may touch: Toxiproxy, the target's services, a folder for its output."""

    toxiproxy: ToxiproxyAPI
    target: Target
    out_dir: Path
    identity: LoadIdentity


class Fault(Protocol):
    """Something that breaks the system under test and can be undone."""

    @property
    def name(self) -> str: ...
    @property
    def where(self) -> str: ...  # for progress lines and reports
    @property
    def proxies(self) -> tuple[str, ...]: ...  # Toxiproxy proxies verified clean afterwards
    def apply(self, ctx: FaultContext) -> float | None:
        """Break it; when it took effect if that is known to be later than the call
        (extra load: once its users run), else None."""

    def rollback(self, ctx: FaultContext) -> None: ...


@dataclass(frozen=True)
class Outage:
    """The dependency is unreachable: the proxy stops listening and drops connections."""

    name: str
    proxy: str

    @property
    def where(self) -> str:
        return f"outage of proxy {self.proxy}"

    @property
    def proxies(self) -> tuple[str, ...]:
        return (self.proxy,)

    def apply(self, ctx: FaultContext) -> None:
        ctx.toxiproxy.set_enabled(self.proxy, False)

    def rollback(self, ctx: FaultContext) -> None:
        ctx.toxiproxy.set_enabled(self.proxy, True)


@dataclass(frozen=True)
class Toxic:
    """The dependency misbehaves (latency, timeout, bandwidth, ...) through one toxic."""

    name: str
    proxy: str
    spec: ToxicSpec

    @property
    def where(self) -> str:
        return f"{self.spec.type} toxic on proxy {self.proxy}"

    @property
    def proxies(self) -> tuple[str, ...]:
        return (self.proxy,)

    def apply(self, ctx: FaultContext) -> None:
        ctx.toxiproxy.add_toxic(self.proxy, self.spec)

    def rollback(self, ctx: FaultContext) -> None:
        ctx.toxiproxy.remove_toxic(self.proxy, self.spec.name)


@dataclass(frozen=True)
class HttpCall:
    """One request to a service of the target; `auth` sends the run's API key.

    `capture` remembers response fields by name for later calls of the same sequence, whose
    paths refer to them as `{name}` (create a client, then change its status).
    """

    service: str
    method: str
    path: str
    json: object | None = None
    auth: bool = False
    capture: tuple[tuple[str, str], ...] = ()  # (name, response field)

    def send(self, target: Target, memory: dict[str, str], timeout_s: float = 5.0) -> None:
        base = target.services.get(self.service)
        if base is None:
            raise FaultError(f"target has no service {self.service!r} for {self}")
        try:
            path = self.path.format(**memory)
        except KeyError as exc:
            raise FaultError(f"{self}: nothing captured as {exc} before this call") from None
        headers = {}
        if self.auth and target.credentials:
            headers["Authorization"] = f"Bearer {target.credentials[0].api_key}"
        try:
            resp = http_client.shared().request(
                self.method, base.rstrip("/") + path,
                json=self.json, headers=headers, timeout=timeout_s,
            )  # fmt: skip
        except http_client.Unavailable as exc:
            raise FaultError(f"{self}: {http_client.reason(exc)}") from exc
        if resp.status_code >= 300:
            raise FaultError(f"{self} answered {resp.status_code}: {resp.content[:300]!r}")
        if self.capture:
            body = resp.json()
            memory.update({name: str(body[key]) for name, key in self.capture})

    def __str__(self) -> str:
        return f"{self.method} {self.service}{self.path}"


def send_all(calls: tuple[HttpCall, ...], target: Target, memory: dict[str, str]) -> None:
    for call in calls:
        call.send(target, memory)


@dataclass
class HttpFault:
    """A fault set through the system's own HTTP levers (fault modes, flags, data changes)."""

    name: str
    apply_calls: tuple[HttpCall, ...]
    rollback_calls: tuple[HttpCall, ...] = ()
    _memory: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def where(self) -> str:
        return ", then ".join(str(c) for c in self.apply_calls)

    @property
    def proxies(self) -> tuple[str, ...]:
        return ()

    def apply(self, ctx: FaultContext) -> float | None:
        """The fault starts with its last call (the earlier ones set it up, e.g. create the
        record the last one changes): when that call was sent, as a call that times out
        may still have taken effect."""
        self._memory.clear()
        if len(self.apply_calls) < 2:
            send_all(self.apply_calls, ctx.target, self._memory)
            return None  # the injector's own time, taken just before
        *setup, last = self.apply_calls
        send_all(tuple(setup), ctx.target, self._memory)
        sent = time.time()
        last.send(ctx.target, self._memory)
        return sent

    def rollback(self, ctx: FaultContext) -> None:
        send_all(self.rollback_calls, ctx.target, self._memory)


@dataclass
class LoadFault:
    """Extra, harmful load for the fault window (bad keys, bad signatures, a flood)."""

    name: str
    profile: LoadProfile
    service: str = "edge"
    _run: LoadRun | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        mix = ", ".join(self.profile.mix)
        return f"extra load ({mix}) to {self.service} from {self.profile.users} user(s)"

    @property
    def proxies(self) -> tuple[str, ...]:
        return ()

    def apply(self, ctx: FaultContext) -> float:
        host = ctx.target.services.get(self.service)
        if host is None:
            raise FaultError(f"target has no service {self.service!r} to load")
        out = ctx.out_dir / f"fault-{self.name}"
        self._run = LoadRun(host, ctx.identity, self.profile, out).start()
        return self._run.wait_running()

    def rollback(self, ctx: FaultContext) -> None:
        if self._run is not None:
            self._run.stop()
            self._run = None


@dataclass(frozen=True)
class ActiveFault:
    fault: Fault
    started_at: float  # unix seconds, comparable with Prometheus timestamps


class FaultInjector:
    """Applies faults and guarantees their rollback (reverse order, then a verified reset)."""

    def __init__(self, ctx: FaultContext) -> None:
        self.api = ctx.toxiproxy
        self.ctx = ctx
        self._active: list[ActiveFault] = []
        self._touched: set[str] = set()

    @property
    def active(self) -> tuple[ActiveFault, ...]:
        return tuple(self._active)

    def apply(self, fault: Fault) -> ActiveFault:
        self._touched.update(fault.proxies)
        # Recorded before the call: a call that times out may still have taken effect.
        active = ActiveFault(fault, time.time())
        self._active.append(active)
        took_effect = fault.apply(self.ctx)
        if took_effect is not None:
            self._active[-1] = active = ActiveFault(fault, took_effect)
        log.info("fault %s applied: %s", fault.name, fault.where)
        return active

    def remove(self, active: ActiveFault) -> float:
        """Roll one fault back; returns when it ended (unix seconds)."""
        active.fault.rollback(self.ctx)
        self._active.remove(active)
        log.info("fault %s removed: %s", active.fault.name, active.fault.where)
        return time.time()

    def rollback_all(self) -> None:
        """Undo every active fault; fall back to a full reset; verify nothing is left."""
        failed: list[tuple[ActiveFault, str]] = []
        for active in reversed(list(self._active)):
            try:
                self.remove(active)
            except FaultError as exc:
                failed.append((active, str(exc)))
        self._active.clear()
        if failed or not self._verified_clean():
            self.api.reset()  # Toxiproxy's own reset: every proxy enabled, every toxic gone
        # A reset cannot undo a fault set through the system's own HTTP levers.
        unrecovered = [msg for active, msg in failed if not active.fault.proxies]
        if unrecovered or not self._verified_clean():
            raise FaultError(f"faults still present after rollback and reset: {unrecovered}")

    def close(self) -> str:
        """Teardown: undo every active fault, verified (see `rollback_all`); what was verified."""
        self.rollback_all()
        return "every touched proxy verified clean"

    def _verified_clean(self) -> bool:
        return all(self.api.state(p).clean for p in sorted(self._touched))

    @contextmanager
    def session(self) -> Iterator[FaultInjector]:
        try:
            yield self
        finally:
            self.rollback_all()
