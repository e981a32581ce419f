"""Toxiproxy's HTTP API, through toxiproxy-python, behind a deadline and a lock.

toxiproxy-python has no timeouts and keeps the server address in class attributes, so every
call goes through `ToxiproxyAPI`, which pins the address under a lock and runs the call on a
worker thread with a deadline: a hung Toxiproxy can fail a run, never hang it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from toxiproxy.api import APIConsumer
from toxiproxy.server import Toxiproxy

from harness.errors import FaultError

T = TypeVar("T")

_API_LOCK = threading.Lock()  # toxiproxy-python keeps host/port class-wide


class ToxiproxyAPI:
    """toxiproxy-python behind a deadline and a lock."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise FaultError(f"toxiproxy url {url!r} needs a host and a port")
        self.url = url
        self._host, self._port = parts.hostname, parts.port
        self._timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxiproxy-api")

    def _call(self, what: str, fn: Callable[[Toxiproxy], T]) -> T:
        def pinned() -> T:
            with _API_LOCK:
                APIConsumer.host, APIConsumer.port = self._host, self._port
                return fn(Toxiproxy())

        future = self._pool.submit(pinned)
        try:
            return future.result(timeout=self._timeout_s)
        except FutureTimeout:
            raise FaultError(
                f"toxiproxy at {self.url} did not answer {what} within {self._timeout_s} s"
            ) from None
        except Exception as exc:
            raise FaultError(f"toxiproxy at {self.url}: {what} failed: {exc}") from exc

    def _proxy(self, server: Toxiproxy, name: str) -> Any:
        proxy = server.get_proxy(name)
        if proxy is None:
            known = sorted(server.proxies())
            raise FaultError(f"toxiproxy has no proxy {name!r} (known: {known})")
        return proxy

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        action = "enable" if enabled else "disable"
        self._call(
            f"{action} {proxy}",
            lambda s: getattr(self._proxy(s, proxy), action)(),
        )

    def add_toxic(self, proxy: str, toxic: ToxicSpec) -> None:
        self._call(
            f"add toxic {toxic.name} to {proxy}",
            lambda s: self._proxy(s, proxy).add_toxic(
                name=toxic.name,
                type=toxic.type,
                stream=toxic.stream,
                toxicity=toxic.toxicity,
                attributes=dict(toxic.attributes),
            ),
        )

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call(
            f"remove toxic {name} from {proxy}",
            lambda s: self._proxy(s, proxy).destroy_toxic(name),
        )

    def state(self, proxy: str) -> ProxyState:
        def read(s: Toxiproxy) -> ProxyState:
            p = self._proxy(s, proxy)
            return ProxyState(proxy, bool(p.enabled), tuple(sorted(p.toxics())))

        return self._call(f"read {proxy}", read)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's own reset)."""
        self._call("reset", lambda s: s.reset())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class ToxicSpec:
    """One Toxiproxy toxic: its type and attributes as the Toxiproxy API names them."""

    name: str
    type: str
    attributes: dict[str, int | float] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0


@dataclass(frozen=True)
class ProxyState:
    name: str
    enabled: bool
    toxics: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return self.enabled and not self.toxics
