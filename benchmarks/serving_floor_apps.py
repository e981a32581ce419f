"""The two ASGI apps of benchmarks/serving_floor.py: a serving skeleton with no work in it.

`core` answers every request with one fixed JSON body the size of a listing; `edge` reads the
request and forwards it to core with the client the edge uses (fake_services.sender, httpx).
Neither logs, traces, counts, authenticates or touches a database: what they cost is what the
serving stack costs.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from fake_services.sender import Sender

_ITEM = {
    "id": str(uuid.uuid4()),
    "tenant_id": "tenant-bench",
    "name": "bench",
    "status": "draft",
    "created_at": "2026-11-27T13:00:00.000000Z",
    "updated_at": "2026-11-27T13:00:00.000000Z",
}
BODY = json.dumps({"id": _ITEM["id"], "items": [_ITEM] * 10}).encode()
_HEAD = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}

Scope = dict[str, Any]


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def core(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await _read_body(receive)
    await send(_HEAD)
    await send({"type": "http.response.body", "body": BODY})


class _Edge:
    """Its client is made on the first request: it needs the server's running loop."""

    def __init__(self) -> None:
        self._client: Sender | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._client is None:
            self._client = Sender(os.environ["FLOOR_CORE_URL"], 10.0, max_connections=200)
        body = await _read_body(receive)
        target = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        headers.pop("host", None)
        headers.pop("content-length", None)
        answer = await self._client.send(scope["method"], target, body, headers)
        dropped = ("connection", "date", "server")
        kept = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k not in dropped]
        await send({"type": "http.response.start", "status": answer.status, "headers": kept})
        await send({"type": "http.response.body", "body": answer.body})


edge = _Edge()
