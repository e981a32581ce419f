"""Property-based fuzzing of the Studio/Admin API and the webhook: no input yields a 500.

Requests are shaped like real ones (an endpoint, its own field names, values of every type and
strings with NUL, lone surrogates, huge numbers, odd dates) so they get past parsing and reach
the validators and the database, where an unguarded value becomes a driver error.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_services import routes
from fake_services.db import DatabaseSettings
from fake_services.observability import create_telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.routes import CORE_ROUTES, PLATFORM_ROUTES, WEBHOOK_ROUTES
from fake_services.webhook.app import create_app as create_webhook_app
from fake_services.webhook.settings import WebhookSettings

from . import _postgres, _redis
from ._core import core_client
from ._webhook import PATH, SECRET, event, signed

# The services run in a background thread whose tracing draws span ids from the global `random`
# while examples are generated; Hypothesis reports that as if a strategy used `random`.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HEADERS = {"X-Tenant-ID": "fuzz", "X-User-ID": "fuzzer", "Content-Type": "application/json"}

# Text that breaks storage (NUL, lone surrogates), limits, or naive parsers and queries.
UNSTORABLE = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\udc80\ud800"])
TRICKY = st.sampled_from(
    ["", " ", "é" * 201, "x" * 201, "${jndi:x}", "'; DROP TABLE quotes; --", "\u202e",
     "null", "0", "-1", "1e309", "../../etc", "%00"]
)  # fmt: skip
TEXT = st.one_of(UNSTORABLE, TRICKY, st.text(max_size=30))
ENUMS = st.sampled_from(
    ["draft", "sent", "signed", "rejected", "building", "archived", "active", "build_failed",
     "top", "standard", "Healthy", "At Risk", "Churn Risk", "planned", "on_hold", "completed"]
)  # fmt: skip
SCALARS = st.one_of(
    TEXT,
    ENUMS,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(TEXT, SCALARS, max_size=2)
)

# method, template, the fields its body has.
ENDPOINTS = [
    ("GET", routes.AUTOMATIONS, ()),
    ("POST", routes.AUTOMATIONS, ("name",)),
    ("GET", routes.AUTOMATION, ()),
    ("GET", routes.AUTOMATION_VERSIONS, ()),
    ("POST", routes.AUTOMATION_VERSIONS, ("automation_id", "notes", "build")),
    ("GET", routes.AUTOMATION_VERSION, ()),
    ("PATCH", routes.AUTOMATION_VERSION, ("status",)),
    ("GET", routes.ADMIN_TENANTS, ()),
    ("POST", routes.ADMIN_TENANTS, ("tenant_id", "name")),
    ("POST", routes.ADMIN_PROJECTS, ("name", "status")),
    ("PATCH", routes.ADMIN_PROJECT, ("status",)),
    ("POST", routes.ADMIN_QUOTES, ("title", "amount_cents")),
    ("PATCH", routes.ADMIN_QUOTE, ("status",)),
    ("POST", routes.ADMIN_CLIENTS, ("name", "tier", "health_status")),
    ("PATCH", routes.ADMIN_CLIENT, ("health_status",)),
    ("GET", routes.ADMIN_FEATURE_FLAGS, ()),
    ("PUT", routes.ADMIN_FEATURE_FLAG, ("enabled",)),
    ("DELETE", routes.ADMIN_CLIENT, ()),
]


def _fill(template: str, ident: str) -> str:
    """The template with its parameter (if any) replaced by `ident`, percent-encoded."""
    start = template.find("{")
    if start < 0:
        return template
    encoded = quote(ident.encode("utf-8", "surrogatepass"), safe="") or "x"
    return template[:start] + encoded + template[template.index("}") + 1 :]


def _encoded(value: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \\udXXX escapes, as a hostile client would.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


# Values each field plausibly takes: a request reaches the database only if every other field
# is valid, so each field is usually plausible and sometimes hostile.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "name": TEXT,
    "title": TEXT,
    "notes": TEXT,
    "tenant_id": TEXT,
    "status": ENUMS,
    "tier": st.sampled_from(["standard", "top"]),
    "health_status": st.sampled_from(["Healthy", "At Risk", "Churn Risk"]),
    "build": st.booleans(),
    "enabled": st.booleans(),
    "amount_cents": st.one_of(st.integers(0, 10**6), st.integers(-(2**70), 2**70)),
}


@st.composite
def requests(draw: st.DrawFn, known_ids: list[str]) -> tuple[str, str, bytes]:
    method, template, fields = draw(st.sampled_from(ENDPOINTS))
    ident = draw(st.one_of(st.sampled_from(known_ids), st.uuids().map(str), TEXT))
    body: Any = {}
    for name in fields:
        plausible = PLAUSIBLE.get(name, st.sampled_from(known_ids))
        if draw(st.integers(0, 3)) > 0:
            body[name] = draw(plausible)
        elif draw(st.booleans()):
            body[name] = draw(VALUES)
    if draw(st.integers(0, 9)) == 0:
        body = draw(VALUES)  # not even an object
    path = _fill(template, ident)
    if method == "GET" and draw(st.booleans()):
        limit = draw(st.one_of(st.integers(min_value=-5, max_value=10**6), TEXT))
        path += "?limit=" + quote(str(limit).encode("utf-8", "surrogatepass"), safe="")
    return method, path, _encoded(body)


@pytest.fixture(scope="module")
def fuzz_database(postgres: _postgres.Postgres) -> str:
    return postgres.create_migrated_database()


@pytest.fixture(scope="module")
def seeded(
    fuzz_database: str, redis_server: _redis.Redis
) -> Iterator[tuple[TestClient, list[str]]]:
    """Core with one row of each kind, whose ids the fuzzer reuses to reach deeper code."""
    platform = create_platform_app(create_telemetry("platform", PLATFORM_ROUTES))
    telemetry = create_telemetry("core", CORE_ROUTES)
    with core_client(
        fuzz_database, redis_server.url(1), telemetry, httpx.ASGITransport(platform)
    ) as client:
        automation = client.post("/v1/automations", json={"name": "seed"}, headers=HEADERS).json()
        ids = [automation["id"], "wrk_platform_calls", "ai_ingestion"]
        seeds = [
            ("/v1/automation-versions", {"automation_id": automation["id"]}),
            ("/v1/admin/projects", {"name": "p"}),
            ("/v1/admin/quotes", {"title": "q", "amount_cents": 1}),
            ("/v1/admin/clients", {"name": "c", "tier": "top"}),
        ]
        for path, body in seeds:
            ids.append(client.post(path, json=body, headers=HEADERS).json()["id"])
        yield client, ids


@FUZZ
@given(data=st.data())
def test_core_never_answers_500(seeded: tuple[TestClient, list[str]], data: st.DataObject) -> None:
    client, ids = seeded
    method, path, body = data.draw(requests(ids))
    response = client.request(method, path, content=body, headers=HEADERS)
    assert response.status_code < 500, (method, path, body, response.text)


@FUZZ
@given(raw=st.binary(max_size=300), endpoint=st.sampled_from(ENDPOINTS))
def test_core_survives_arbitrary_bytes(
    seeded: tuple[TestClient, list[str]], raw: bytes, endpoint: tuple[str, str, tuple[str, ...]]
) -> None:
    client, ids = seeded
    method, template, _ = endpoint
    headers = {**HEADERS, "Content-Type": "application/json"}
    response = client.request(method, _fill(template, ids[-1]), content=raw, headers=headers)
    assert response.status_code < 500, (method, template, raw, response.text)


@pytest.fixture(scope="module")
def webhook(fuzz_database: str, redis_server: _redis.Redis) -> Iterator[TestClient]:
    settings_ = WebhookSettings(DatabaseSettings(fuzz_database), redis_server.url(1), SECRET)
    app = create_webhook_app(settings_, create_telemetry("webhook", WEBHOOK_ROUTES))
    with TestClient(app) as client:
        yield client


EVENT_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "event_id": TEXT,
        "tenant_id": TEXT,
        "automation_id": TEXT,
        "status": st.one_of(st.sampled_from(["started", "succeeded", "failed"]), VALUES),
        "occurred_at": st.one_of(
            st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat()),
            st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]),
            VALUES,
        ),
    },
)


@FUZZ
@given(fields=EVENT_FIELDS, extra=st.dictionaries(st.text(max_size=5), VALUES, max_size=2))
def test_webhook_never_answers_500_to_signed_input(
    webhook: TestClient, fields: dict[str, Any], extra: dict[str, Any]
) -> None:
    body = {**event(event_id=f"evt-{uuid.uuid4().hex}"), **extra, **fields}
    raw, headers = signed(_encoded(body))
    response = webhook.post(PATH, content=raw, headers=headers)
    assert response.status_code in (200, 400, 413), (body, response.text)


@FUZZ
@given(
    raw=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(["X-WRK-Signature", "X-WRK-Timestamp", "X-WRK-Delivery-Attempt"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ),
)
def test_webhook_never_answers_500_to_unsigned_input(
    webhook: TestClient, raw: bytes, headers: dict[str, str]
) -> None:
    response = webhook.post(PATH, content=raw, headers=headers)
    assert response.status_code in (400, 401, 413), (raw, headers, response.text)
