"""Tiny HTTP client for talking to local services: stdlib only, always with a timeout.

Proxy environment variables are ignored on purpose: every address here is 127.0.0.1, and a
corporate HTTP_PROXY would otherwise swallow the requests.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpUnavailable(Exception):
    """No HTTP response at all (refused, reset, timed out); the message is a short reason."""


def request(
    method: str,
    url: str,
    *,
    timeout_s: float,
    payload: object | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request; any HTTP status is a Response, a transport failure is HttpUnavailable."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout_s) as resp:
            return Response(resp.status, resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(exc.code, exc.read())
    except urllib.error.URLError as exc:
        raise HttpUnavailable(_reason(exc.reason)) from exc
    except TimeoutError as exc:
        raise HttpUnavailable(f"timed out after {timeout_s}s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise HttpUnavailable(_reason(exc)) from exc


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
