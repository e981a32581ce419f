"""A fast lane past FastAPI's routing, dependency injection and validation for hot routes.

FastAPI's layers cost more CPU per request than the work most requests do (a keyed lookup). A
fast handler serves only the well-formed common case of one route and returns None for anything
else; the request then goes on to the FastAPI route, which stays the single source of
validation errors (a body the handler has read is replayed to it). Responses are the ones the
route would give: the same models, serialised the same way, and ServiceError becomes the same
JSON error response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fake_services.observability import context
from fake_services.observability.errors import ServiceError
from fake_services.observability.responses import error_response
from fake_services.routes import RouteTable

JSON = "application/json"
M = TypeVar("M", bound=BaseModel)


class FastRequest:
    """What a fast handler sees: the ASGI scope, the request context, path and query params."""

    __slots__ = ("_body", "_pattern", "_query", "ctx", "receive", "scope")

    def __init__(
        self, scope: Scope, receive: Receive, ctx: context.RequestContext, pattern: re.Pattern[str]
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.ctx = ctx
        self._pattern = pattern
        self._query: dict[str, str] | None = None
        self._body: bytes | None = None

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower case), as sent."""
        return next((v for k, v in self.scope["headers"] if k == name), None)

    async def body(self) -> bytes | None:
        """The whole request body, or None when the client left first. Either way `receive`
        then replays what was read to whoever reads next (the framework route)."""
        if self._body is None:
            chunks = []
            while True:
                message = await self.receive()
                if message["type"] != "http.request":  # a disconnect: the framework sees it too
                    self.receive = _replaying(message, self.receive)
                    return None
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
            whole = {"type": "http.request", "body": self._body, "more_body": False}
            self.receive = _replaying(whole, self.receive)
        return self._body

    async def json_model(self, model: type[M]) -> M | None:
        """The body as a FastAPI route would validate it (json.loads, then the model in Python
        mode), or None for anything it might treat otherwise: another content type, bad JSON,
        a body the model refuses, a client gone."""
        if self.header(b"content-type") != b"application/json":
            return None
        raw = await self.body()
        if raw is None:
            return None
        try:
            return model.model_validate(json.loads(raw))
        except ValueError:  # JSONDecodeError and pydantic's ValidationError
            return None

    def path_param(self, name: str) -> str:
        match = self._pattern.fullmatch(self.scope["path"])
        return match[name] if match is not None else ""

    def query(self) -> dict[str, str] | None:
        """The query parameters, or None when one is repeated (left to the framework)."""
        if self._query is None:
            raw: bytes = self.scope.get("query_string", b"")
            pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
            parsed = dict(pairs)
            if len(parsed) != len(pairs):
                return None
            self._query = parsed
        return self._query


def _replaying(message: Message, receive: Receive) -> Receive:
    """A receive that gives `message` once, then passes on to the server's."""
    pending = [message]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


FastHandler = Callable[[FastRequest], Awaitable[Response | None]]


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)


class FastLane:
    """Dispatches (method, route template) to a fast handler, else to `fallback`."""

    def __init__(self, routes: RouteTable, fallback: ASGIApp) -> None:
        self._patterns = routes.patterns()
        self._handlers: dict[tuple[str, str], FastHandler] = {}
        # Public so a test can observe which requests took the framework route.
        self.fallback = fallback

    def add(self, methods: Iterable[str], templates: Iterable[str], handler: FastHandler) -> None:
        for template in templates:
            if template not in self._patterns:
                raise ValueError(f"{template!r} is not a route of this service")
            for method in methods:
                self._handlers[(method, template)] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context.current()
        handler = (
            self._handlers.get((scope["method"], ctx.route or "")) if ctx is not None else None
        )
        if handler is None or ctx is None:
            await self.fallback(scope, receive, send)
            return
        request = FastRequest(scope, receive, ctx, self._patterns[ctx.route or ""])
        try:
            response = await handler(request)
        except ServiceError as exc:
            response = error_response(exc.code, exc.message, exc.status, exc.headers)
        if response is None:
            await self.fallback(scope, request.receive, send)
            return
        await response(scope, receive, send)
