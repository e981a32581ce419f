"""Service specs, the local stack's layout, the fake-service list and the run directory."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.errors import ConfigError, StackError
from harness.spec.timescale import Timing
from harness.stack.fakes import DEFAULT_FAKES, FakeService, ProxyRoute
from harness.stack.layout import (
    LocalStackConfig,
    StackLayout,
    build_layout,
    generate_credentials,
    port_names,
)
from harness.stack.readiness import Exited, HttpReady, PostgresReady, RedisReady
from harness.stack.rundir import check_traversable, create_run_dir
from harness.stack.service import ServiceSpec
from tests.open_dirs import open_tempdir

BINARIES = {
    name: f"/opt/bin/{name}"
    for name in (
        "prometheus",
        "prometheus-alertmanager",
        "redis-server",
        "initdb",
        "postgres",
        "psql",
        "toxiproxy-server",
    )
}


def config(tmp_path: Path, **changes: object) -> LocalStackConfig:
    base = LocalStackConfig(
        base_dir=tmp_path,
        timing=Timing(60, 0.2, 0.2, 0.0, 0.1, 1.0),
        alertmanager_config=tmp_path / "am.yml",
        rules_file=tmp_path / "rules.yml",
        python="/usr/bin/python3",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def layout_for(
    tmp_path: Path, run_as: str | None = "postgres"
) -> tuple[StackLayout, dict[str, int]]:
    cfg = config(tmp_path)
    ports = {name: 20000 + i for i, name in enumerate(port_names(cfg))}
    run = create_run_dir(tmp_path, "run-1", scratch_base=tmp_path)
    creds = generate_credentials(2)
    layout = build_layout(
        cfg, run=run, ports=ports, binaries=BINARIES, credentials=creds, run_as=run_as
    )
    return layout, ports


def spec(layout: StackLayout, name: str) -> ServiceSpec:
    return next(s for s in layout.specs if s.name == name)


def test_service_spec_is_immutable_and_checked(tmp_path: Path) -> None:
    made = ServiceSpec("x", ["true"], HttpReady("http://127.0.0.1:1/"), tmp_path / "x.log")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "y"  # type: ignore[misc]
    with pytest.raises(ValueError, match="command"):
        ServiceSpec("x", [], HttpReady("http://127.0.0.1:1/"), tmp_path / "x.log")
    with pytest.raises(ValueError, match="positive"):
        ServiceSpec("x", ["true"], Exited(), tmp_path / "x.log", start_timeout_s=0)


def test_prometheus_is_spawned_first_with_its_flags(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path)
    first = layout.specs[0]
    assert first.name == "prometheus"
    run = tmp_path / "run-1"
    assert first.command == [
        "/opt/bin/prometheus",
        f"--config.file={run}/prometheus.yml",
        f"--storage.tsdb.path={run}/prometheus-data",
        f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        "--rules.alert.resend-delay=1s",
        "--storage.tsdb.retention.time=1d",
    ]
    assert first.log_file == run / "logs" / "prometheus.log"


def test_postgres_runs_as_postgres_after_initdb(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path)
    initdb, postgres = spec(layout, "postgres-initdb"), spec(layout, "postgres")
    assert initdb.oneshot and initdb.run_as == "postgres"
    assert "--auth=trust" in initdb.command
    assert postgres.depends_on == ("postgres-initdb",)
    assert postgres.run_as == "postgres"
    assert postgres.stop_signal == signal.SIGINT
    assert "listen_addresses=127.0.0.1" in postgres.command
    assert {"fsync=off", "synchronous_commit=off", "full_page_writes=off"} <= set(postgres.command)
    assert isinstance(postgres.readiness, PostgresReady)
    assert postgres.readiness.port == ports["postgres"]


def test_infrastructure_binds_loopback_only(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path, run_as=None)
    redis = spec(layout, "redis")
    assert redis.command[:5] == [
        "/opt/bin/redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(ports["redis"]),
    ]
    assert redis.command[5:7] == ["--save", ""]
    assert isinstance(redis.readiness, RedisReady)
    assert spec(layout, "toxiproxy").command[1:3] == ["-host", "127.0.0.1"]
    alertmanager = spec(layout, "alertmanager").command
    assert "--cluster.listen-address=" in alertmanager
    assert f"--web.listen-address=127.0.0.1:{ports['alertmanager']}" in alertmanager
    assert spec(layout, "postgres").run_as is None


def test_core_reaches_its_dependencies_through_toxiproxy(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path)
    core = spec(layout, "core")
    assert core.command == ["/usr/bin/python3", "-m", "fake_services", "core"]
    assert (
        core.env["WRK_DATABASE_URL"]
        == f"postgresql://postgres@127.0.0.1:{ports['proxy:postgres']}/wrk"
    )
    assert core.env["WRK_REDIS_URL"] == f"redis://127.0.0.1:{ports['proxy:redis']}/0"
    assert core.env["WRK_PLATFORM_URL"] == f"http://127.0.0.1:{ports['proxy:wrk_platform']}"
    assert core.env["WRK_PORT"] == str(ports["core"])
    assert core.env["WRK_SPAN_FILE"].endswith("run-1/spans/core.jsonl")
    # Peers are called at run time and retried: only what core cannot start without.
    assert set(core.depends_on) == {"postgres", "redis", "toxiproxy"}
    assert layout.proxies["postgres"].upstream == f"127.0.0.1:{ports['postgres']}"
    assert layout.proxies["wrk_platform"].upstream == f"127.0.0.1:{ports['platform']}"


# Every link a scenario may break runs through its own Toxiproxy route (fakes.py): Postgres,
# Redis (workers on a route of their own, so a backlog can build while core still enqueues),
# the WRK Platform, and the platform's run-event deliveries to the webhook. Edge calls core
# directly: no scenario breaks that link.
PROXIED = ("WRK_DATABASE_URL", "WRK_REDIS_URL", "WRK_PLATFORM_URL", "WRK_WEBHOOK_URL")
STORES = {"WRK_DATABASE_URL", "WRK_REDIS_URL"}


def required_route(service: str, variable: str) -> str:
    if variable == "WRK_REDIS_URL":
        return "redis_workers" if service.startswith("worker-") else "redis"
    routes = {
        "WRK_DATABASE_URL": "postgres",
        "WRK_PLATFORM_URL": "wrk_platform",
        "WRK_WEBHOOK_URL": "webhook",
    }
    return routes[variable]


def test_no_fake_bypasses_toxiproxy(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path)
    given: dict[str, set[str]] = {}
    for fake in DEFAULT_FAKES:
        env = spec(layout, fake.name).env
        given[fake.name] = {variable for variable in PROXIED if variable in env}
        for variable in given[fake.name]:
            url = urlsplit(env[variable])
            route = required_route(fake.name, variable)
            assert f"{url.hostname}:{url.port}" == layout.proxies[route].listen, (
                f"{fake.name}'s {variable} bypasses the {route} proxy: {env[variable]}"
            )
    assert given == {
        "webhook": STORES,
        "platform": {"WRK_WEBHOOK_URL"},
        "core": {*STORES, "WRK_PLATFORM_URL"},
        "edge": set(),
        "worker-build": {*STORES, "WRK_PLATFORM_URL"},
        "worker-ai-ingestion": STORES,
        "worker-notifications": STORES,
        "worker-usage-aggregation": STORES,
    }
    upstreams = {name: proxy.upstream for name, proxy in layout.proxies.items()}
    assert upstreams == {
        "postgres": f"127.0.0.1:{ports['postgres']}",
        "redis": f"127.0.0.1:{ports['redis']}",
        "redis_workers": f"127.0.0.1:{ports['redis']}",
        "wrk_platform": f"127.0.0.1:{ports['platform']}",
        "webhook": f"127.0.0.1:{ports['webhook']}",
    }


def test_edge_gets_the_run_api_keys(tmp_path: Path) -> None:
    layout, ports = layout_for(tmp_path)
    edge = spec(layout, "edge")
    keys = json.loads(edge.env["WRK_API_KEYS"])
    assert len(keys) == 2
    assert all(v["scopes"] == ["studio", "admin"] for v in keys.values())
    redacted = set(edge.env["WRK_REDACT_VALUES"].split(","))
    assert set(keys) <= redacted
    assert "" not in redacted
    assert edge.env["WRK_CORE_URL"] == f"http://127.0.0.1:{ports['core']}"
    assert isinstance(edge.readiness, HttpReady)
    assert edge.readiness.url == f"http://127.0.0.1:{ports['edge']}/healthz"


def test_prometheus_scrapes_every_http_service(tmp_path: Path) -> None:
    layout, _ = layout_for(tmp_path)
    assert set(layout.scrape_jobs) == {
        "platform",
        "core",
        "edge",
        "webhook",
        "worker-build",
        "worker-ai-ingestion",
        "worker-notifications",
        "worker-usage-aggregation",
        "prometheus",
        "alertmanager",
        "toxiproxy",
    }


def test_credentials_are_fresh_per_run() -> None:
    first, second = generate_credentials(2), generate_credentials(2)
    assert {c.api_key for c in first}.isdisjoint({c.api_key for c in second})
    assert [c.tenant_id for c in first] == ["tenant-1", "tenant-2"]


def test_a_new_fake_service_is_one_entry(tmp_path: Path) -> None:
    extra = FakeService("reporting", depends_on=("core",), env={"WRK_CORE": "{service[core]}"})
    cfg = config(tmp_path, fakes=(*DEFAULT_FAKES, extra))
    cfg.validate()
    assert "reporting" in port_names(cfg)


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    fakes = (
        FakeService("a", depends_on=("b", "nowhere")),
        FakeService("b", depends_on=("a",), env={"X": "{proxy[missing]}"}),
        FakeService("redis"),
    )
    cfg = config(tmp_path, fakes=fakes, proxies=(ProxyRoute("p", "ghost"),), tenants=0)
    with pytest.raises(ConfigError) as caught:
        cfg.validate()
    fields = {p.field for p in caught.value.problems}
    assert fields >= {
        "fakes[0].depends_on",  # nowhere
        "fakes[1].env.X",  # unknown proxy
        "fakes[2].name",  # clashes with infrastructure
        "proxies[0].upstream",
        "fakes",  # cycle, and no edge
        "tenants",
    }


def test_run_dir_is_fresh(tmp_path: Path) -> None:
    run = create_run_dir(tmp_path, scratch_base=tmp_path)
    for folder in (run.logs, run.prometheus_data, run.pg_data, run.spans, run.alertmanager_data):
        assert folder.is_dir()
    assert run.pg_data.stat().st_mode & 0o777 == 0o700
    with pytest.raises(StackError, match="already exists"):
        create_run_dir(tmp_path, run.run_id, scratch_base=tmp_path)
    with pytest.raises(StackError, match="plain folder name"):
        create_run_dir(tmp_path, "../escape", scratch_base=tmp_path)


def postgres_exists() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A world-searchable folder (pytest's tmp_path sits below a 0700 folder)."""
    with open_tempdir("wrkh-unit-") as folder:
        yield folder


@pytest.mark.skipif(not postgres_exists(), reason="no postgres user")
def test_unreachable_run_dir_is_refused_for_postgres(open_dir: Path) -> None:
    if os.geteuid() == pwd.getpwnam("postgres").pw_uid:
        pytest.skip("running as postgres")
    if not all(p.stat().st_mode & 0o001 for p in open_dir.parents):
        pytest.skip(f"{open_dir.parent} is not searchable by others")
    private = open_dir / "private"
    target = private / "run" / "pg-data"
    target.mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(StackError, match=f"cannot traverse {private} "):
        check_traversable(target, "postgres")
    private.chmod(0o711)
    check_traversable(target, "postgres")
