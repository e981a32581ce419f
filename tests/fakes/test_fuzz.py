"""Property-based fuzzing of the edge, the Studio/Admin API and the webhook: no input yields a 500.

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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fake_services import routes
from fake_services.db import DatabaseSettings
from fake_services.edge.app import FORWARDED_METHODS
from fake_services.edge.app import create_app as create_edge_app
from fake_services.edge.settings import ApiKey, EdgeSettings
from fake_services.observability import create_telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.routes import CORE_ROUTES, EDGE_ROUTES, PLATFORM_ROUTES, WEBHOOK_ROUTES
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


FULL_KEY = "fuzz-key-full-0123"
EDGE_KEYS = {
    FULL_KEY: ApiKey(tenant_id="t1", user_id="u1", scopes=frozenset({"studio", "admin"})),
    "fuzz-key-studio-0123": ApiKey(tenant_id="t2", user_id="u2", scopes=frozenset({"studio"})),
}
ADMIN = {"Authorization": f"Bearer {FULL_KEY}"}
NO_LIMIT = {"requests_per_second": None}


@pytest.fixture(scope="module")
def edge() -> Iterator[TestClient]:
    """The edge before a stand-in core that answers every request normally (a 5xx is the
    edge's own), trusting X-Forwarded-For so that parsing is fuzzed too."""
    settings_ = EdgeSettings("http://core.invalid", 5.0, EDGE_KEYS, trust_forwarded=True)
    core = httpx.MockTransport(lambda _: httpx.Response(200, json={"items": []}))
    app = create_edge_app(settings_, create_telemetry("edge", EDGE_ROUTES), core)
    with TestClient(app) as client:
        yield client


# Any value a client can put in a header: latin-1 but CR/LF, sent as bytes (httpx would encode
# a str as ASCII).
HEADER_TEXT = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60)
HEX = st.text("0123456789abcdefABCDEF", min_size=0, max_size=34)
# A valid key about half the time, so most requests get past authentication.
EDGE_HEADERS = st.fixed_dictionaries(
    {
        "Authorization": st.one_of(
            st.sampled_from(list(EDGE_KEYS)).map(lambda k: f"Bearer {k}"),
            st.sampled_from(list(EDGE_KEYS)).map(lambda k: f"bEaReR \t{k} "),
            st.sampled_from(["", "Bearer", "Bearer ", "Basic abc", "Bearer a b"]),
            HEADER_TEXT,
        ),
    },
    optional={
        "X-Request-ID": st.one_of(HEADER_TEXT, st.text("req-0123", min_size=100, max_size=300)),
        "X-Forwarded-For": st.one_of(
            st.lists(st.ip_addresses().map(str), min_size=1, max_size=3).map(", ".join),
            HEADER_TEXT,
        ),
        "traceparent": st.one_of(
            st.tuples(HEX, HEX, HEX, HEX).map("-".join),
            st.sampled_from(["00-" + "0" * 32 + "-" + "0" * 16 + "-01", "ff-" + "a" * 32]),
            HEADER_TEXT,
        ),
        "X-Tenant-ID": st.one_of(st.sampled_from(["t1", "t2"]), HEADER_TEXT),
        "Content-Type": st.sampled_from(["application/json", "text/plain", ""]),
    },
).map(lambda headers: {name: value.encode("latin-1") for name, value in headers.items()})
EDGE_ROUTE_PATHS = st.builds(_fill, st.sampled_from(EDGE_ROUTES.templates), TEXT)
EDGE_PATHS = st.one_of(
    EDGE_ROUTE_PATHS,
    st.builds(
        lambda path, query: f"{path}?{quote(query.encode('utf-8', 'surrogatepass'), safe='=&')}",
        EDGE_ROUTE_PATHS,
        TEXT,
    ),
    st.sampled_from(["/", "/v1", "/v1/", "/v1//automations", "/v1/admin/rate-limit/", "/metrics"]),
    st.text(max_size=30).map(lambda t: "/" + quote(t.encode("utf-8", "surrogatepass"), safe="/")),
)
# Rates of every order of magnitude, down to subnormal floats: a limit is a rate, and the
# arithmetic on it (refill, Retry-After) breaks at the extremes, not at typical values.
MAGNITUDES = st.builds(
    lambda mantissa, exponent: mantissa * 10.0**exponent,
    st.floats(min_value=1, max_value=9.99),
    st.integers(min_value=-323, max_value=6),
)
LIMIT_VALUES = st.one_of(MAGNITUDES, st.floats(), st.integers(-(2**70), 2**70), VALUES)
LIMIT_BODIES = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"requests_per_second": LIMIT_VALUES, "burst": LIMIT_VALUES}
    ).map(_encoded),
    VALUES.map(_encoded),
    st.binary(max_size=100),
)


@FUZZ
@given(
    method=st.sampled_from([*FORWARDED_METHODS, "HEAD", "OPTIONS"]),
    path=EDGE_PATHS,
    headers=EDGE_HEADERS,
    body=LIMIT_BODIES,
)
def test_edge_never_answers_500(
    edge: TestClient, method: str, path: str, headers: dict[str, bytes], body: bytes
) -> None:
    edge.put(routes.EDGE_RATE_LIMIT, json=NO_LIMIT, headers=ADMIN)  # whatever the last example set
    response = edge.request(method, path, content=body, headers=headers)
    assert response.status_code < 500, (method, path, headers, body, response.text)


@FUZZ
@given(rate=MAGNITUDES, burst=st.none() | MAGNITUDES)
@example(rate=5e-324, burst=None)  # found by this test: Retry-After overflowed, a 500
def test_edge_rate_limit_lever_never_leads_to_500(
    edge: TestClient, rate: float, burst: float | None
) -> None:
    edge.put(routes.EDGE_RATE_LIMIT, json=NO_LIMIT, headers=ADMIN)
    body = _encoded({"requests_per_second": rate, "burst": burst})
    headers = {**ADMIN, "Content-Type": "application/json"}
    statuses = [edge.put(routes.EDGE_RATE_LIMIT, content=body, headers=headers).status_code]
    # Then enough requests to run the tenant's bucket dry under whatever limit was set.
    statuses += [edge.get("/v1/automations", headers=ADMIN).status_code for _ in range(3)]
    assert max(statuses) < 500, (body, statuses)
