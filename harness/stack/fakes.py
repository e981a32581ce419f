"""The services under test and the Toxiproxy routes between them, as data.

Adding a service (webhook, workers) is one `FakeService` entry; adding a breakable
dependency is one `ProxyRoute`. Environment values are `str.format` templates over an
address book, resolved once all ports are known:

    {service[core]}   host:port of a service of the stack (fakes and infrastructure)
    {proxy[redis]}    host:port where Toxiproxy listens for that route
    {api_keys_json}   the run's API keys, as edge expects them in WRK_API_KEYS
    {redact_values}   the run's secrets, comma-separated (values logs must never contain)
    {webhook_secret}  the run's HMAC secret for run-event webhooks
    {tenant_ids}      the run's tenants, comma-separated (the platform's run events take turns)

A literal brace in a template is written twice (`{{`), as with `str.format`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harness.errors import Problem
from harness.stack.target import Credentials

FAKES_MODULE = "fake_services"


@dataclass(frozen=True)
class FakeService:
    """A service of the system under test, started as `python -m fake_services <name>`.

    `command` replaces that command line (tests use small stand-ins); `depends_on` names
    services (fakes or infrastructure: postgres, redis, toxiproxy) that must be ready first.
    """

    name: str
    depends_on: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    health_path: str = "/healthz"
    metrics_path: str = "/metrics"

    def command_line(self, python: str) -> list[str]:
        return list(self.command) if self.command else [python, "-m", FAKES_MODULE, self.name]


@dataclass(frozen=True)
class ProxyRoute:
    """A Toxiproxy proxy named `name` in front of the stack service `upstream`."""

    name: str
    upstream: str


# Services reach their dependencies through Toxiproxy wherever a scenario may break the link.
# `depends_on` lists only what a service cannot start without (its database, for migrations,
# and the proxies it connects through); peers it merely calls are retried at run time, so
# the Python services start side by side and the stack's cold start is not a chain of them.
_DB = "postgresql://postgres@{proxy[postgres]}/wrk"
_WORKER_DEPS = ("postgres", "redis", "toxiproxy")
# Three attempts, retried after 0.25 s then 0.5 s at most (not five, from 2 s to 60 s): a job
# failing every attempt reaches the dead-letter list within about a second of work, inside
# wrk-platform-errors' fault window (15m: 6 s at the default time scale) on a loaded machine.
_WORKER_ENV = {
    "WRK_DATABASE_URL": _DB,
    "WRK_REDIS_URL": "redis://{proxy[redis_workers]}/0",
    "WRK_MAX_ATTEMPTS": "3",
    "WRK_RETRY_BASE_S": "0.25",
    "WRK_RETRY_MAX_S": "2",
}
RUN_EVENTS_PER_S = "5"  # the fake platform's steady run-event traffic (RunEventsSilent's input)

DEFAULT_FAKES: tuple[FakeService, ...] = (
    FakeService(
        "webhook",
        depends_on=("postgres", "redis", "toxiproxy"),
        env={
            "WRK_DATABASE_URL": _DB,
            "WRK_REDIS_URL": "redis://{proxy[redis]}/0",
            "WRK_WEBHOOK_SECRET": "{webhook_secret}",
        },
    ),
    FakeService(
        "platform",
        depends_on=("toxiproxy",),
        env={
            "WRK_WEBHOOK_URL": "http://{proxy[webhook]}/v1/webhooks/run-events",
            "WRK_WEBHOOK_SECRET": "{webhook_secret}",
            "WRK_RUN_EVENT_RATE": RUN_EVENTS_PER_S,
            "WRK_RUN_EVENT_TENANT": "{tenant_ids}",
        },
    ),
    FakeService(
        "core",
        depends_on=("postgres", "redis", "toxiproxy"),
        env={
            "WRK_DATABASE_URL": _DB,
            "WRK_PLATFORM_URL": "http://{proxy[wrk_platform]}",
            "WRK_REDIS_URL": "redis://{proxy[redis]}/0",
        },
    ),
    FakeService(
        "edge",
        env={
            "WRK_CORE_URL": "http://{service[core]}",
            "WRK_API_KEYS": "{api_keys_json}",
            # Load tests speak for many clients from one loopback address.
            "WRK_TRUST_FORWARDED": "1",
        },
    ),
    FakeService(
        "worker-build",
        depends_on=_WORKER_DEPS,
        env={**_WORKER_ENV, "WRK_PLATFORM_URL": "http://{proxy[wrk_platform]}"},
    ),
    FakeService("worker-ai-ingestion", depends_on=_WORKER_DEPS, env=_WORKER_ENV),
    FakeService("worker-notifications", depends_on=_WORKER_DEPS, env=_WORKER_ENV),
    FakeService("worker-usage-aggregation", depends_on=_WORKER_DEPS, env=_WORKER_ENV),
)

DEFAULT_PROXIES: tuple[ProxyRoute, ...] = (
    ProxyRoute("postgres", "postgres"),
    ProxyRoute("redis", "redis"),
    # Workers have their own way to Redis, so a backlog can build while core still enqueues.
    ProxyRoute("redis_workers", "redis"),
    ProxyRoute("wrk_platform", "platform"),
    # The WRK Platform's run-event deliveries to the webhook.
    ProxyRoute("webhook", "webhook"),
)


def with_env(fakes: tuple[FakeService, ...], extra: Mapping[str, str]) -> tuple[FakeService, ...]:
    """The same services with `extra` added to each one's environment (e.g. WRK_DEFECTS)."""
    if not extra:
        return fakes
    return tuple(dataclasses.replace(f, env={**f.env, **extra}) for f in fakes)


@dataclass(frozen=True)
class AddressBook:
    """Everything an env template may refer to."""

    service: Mapping[str, str]
    proxy: Mapping[str, str]
    api_keys_json: str = "{}"
    redact_values: str = ""
    webhook_secret: str = ""
    tenant_ids: str = "tenant-1"

    def render(self, template: str) -> str:
        return template.format(
            service=self.service,
            proxy=self.proxy,
            api_keys_json=self.api_keys_json,
            redact_values=self.redact_values,
            webhook_secret=self.webhook_secret,
            tenant_ids=self.tenant_ids,
        )


def api_keys_json(credentials: Iterable[Credentials]) -> str:
    """WRK_API_KEYS for edge: {"<key>": {"tenant_id", "user_id", "scopes"}}."""
    keys = {
        c.api_key: {"tenant_id": c.tenant_id, "user_id": c.user_id, "scopes": ["studio", "admin"]}
        for c in credentials
    }
    return json.dumps(keys, sort_keys=True)


def validate(
    fakes: Iterable[FakeService],
    proxies: Iterable[ProxyRoute],
    infrastructure: Iterable[str],
    where: str = "LocalStackConfig",
) -> list[Problem]:
    """Every problem of the service list at once: names, dependencies, routes, templates."""
    fakes, proxies = list(fakes), list(proxies)
    names = set(infrastructure)
    problems: list[Problem] = []
    for i, fake in enumerate(fakes):
        if fake.name in names:
            problems.append(Problem(where, f"fakes[{i}].name", f"duplicate name {fake.name!r}"))
        names.add(fake.name)
    problems += _check_dependencies(fakes, names, where)
    for i, route in enumerate(proxies):
        if route.upstream not in names:
            reason = f"unknown upstream {route.upstream!r}"
            problems.append(Problem(where, f"proxies[{i}].upstream", reason))
    if len({r.name for r in proxies}) != len(proxies):
        problems.append(Problem(where, "proxies", "duplicate proxy names"))
    if not any(f.name == "edge" for f in fakes):
        problems.append(Problem(where, "fakes", "an 'edge' service is required (the entry point)"))
    book = AddressBook(
        service=dict.fromkeys(names, "127.0.0.1:0"), proxy={r.name: "127.0.0.1:0" for r in proxies}
    )
    problems += _check_templates(fakes, book, where)
    return problems


def _check_dependencies(fakes: list[FakeService], names: set[str], where: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, fake in enumerate(fakes):
        for dep in fake.depends_on:
            if dep not in names:
                field_ = f"fakes[{i}].depends_on"
                problems.append(Problem(where, field_, f"unknown service {dep!r}"))
    by_name = {f.name: f for f in fakes}
    if _has_cycle(by_name):
        problems.append(Problem(where, "fakes", "dependency cycle between fake services"))
    return problems


def _has_cycle(by_name: Mapping[str, FakeService]) -> bool:
    done: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> bool:
        if name in path:
            return True
        if name in done or name not in by_name:
            return False
        found = any(visit(dep, path | {name}) for dep in by_name[name].depends_on)
        done.add(name)
        return found

    return any(visit(name, frozenset()) for name in by_name)


def _check_templates(fakes: list[FakeService], book: AddressBook, where: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, fake in enumerate(fakes):
        for key, template in fake.env.items():
            try:
                book.render(template)
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                reason = f"cannot resolve {template!r}: {type(exc).__name__} {exc}"
                problems.append(Problem(where, f"fakes[{i}].env.{key}", reason))
    return problems
