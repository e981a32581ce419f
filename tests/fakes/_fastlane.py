"""A spy on the framework routes behind a service's fast lane."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fake_services.observability import ServiceApp


class FallbackSpy:
    """Stands between the fast lane and FastAPI, recording the paths that reached FastAPI.

    A body the fast lane read and failed to replay would leave FastAPI waiting forever: the spy
    bounds that wait, so such a fault fails the test (a 500) instead of hanging it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])

        async def bounded() -> Message:
            return await asyncio.wait_for(receive(), timeout=5)

        await self.app(scope, bounded, send)

    @classmethod
    def install(cls, client: TestClient) -> FallbackSpy:
        app = client.app
        assert isinstance(app, ServiceApp)
        spy = cls(app.fast_lane.fallback)
        app.fast_lane.fallback = spy
        return spy
