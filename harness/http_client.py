"""The harness's one HTTP client library, httpx, set up once for every caller.

Every request carries a timeout (the client's default, or the caller's own). Proxy
environment variables are ignored on purpose (`trust_env=False`): every address here is the
system under test's or its backends', and a corporate HTTP_PROXY would swallow requests to
127.0.0.1. PromQL queries go through prometheus-api-client (harness.observe.prometheus); every
other call (readiness probes, HTTP levers, Toxiproxy's proxies, the alerts and targets APIs,
Alertmanager) goes through here.
"""

from __future__ import annotations

import functools

import httpx

__all__ = ["DEFAULT_TIMEOUT_S", "Unavailable", "new_client", "reason", "shared"]

DEFAULT_TIMEOUT_S = 5.0
# No HTTP answer at all: refused, reset, timed out. A status, even 5xx, is an answer.
Unavailable = httpx.TransportError


def new_client(base_url: str = "", timeout_s: float = DEFAULT_TIMEOUT_S) -> httpx.Client:
    """A client of its own (one peer, closed by its owner), pooling connections to it."""
    return httpx.Client(base_url=base_url, timeout=timeout_s, trust_env=False)


@functools.cache
def shared() -> httpx.Client:
    """One pooled client for short calls; callers pass their own timeout where it matters."""
    return new_client()


def reason(exc: httpx.HTTPError) -> str:
    """A short reason for a failed request, as a message names it."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(exc):
        return "connection refused"
    return str(exc) or type(exc).__name__
