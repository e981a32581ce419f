"""ComposeStack driven against a fake Docker SDK client (no Docker engine on these machines).

The fake records every call in order and scripts each container's health, so the tests can
check creation order, health waiting, and that teardown removes everything whatever happens.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import yaml

from harness.errors import Interrupted, ServiceStartError, StackError
from harness.spec.timescale import Timing
from harness.stack import compose_plan as plan_mod
from harness.stack.compose import ComposeStack, ComposeStackConfig
from harness.stack.compose_file import load_compose
from harness.stack.compose_plan import new_project_name
from harness.stack.compose_removal import sweep_projects
from harness.stack.docker_engine import connect
from harness.stack.signals import TRAP

ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)


class FakeContainer:
    def __init__(self, client: FakeClient, image: str, kwargs: dict[str, Any]) -> None:
        self.client, self.image, self.kwargs = client, image, kwargs
        self.id = f"c{next(_ids)}"
        self.name: str = kwargs["name"]
        self.labels: dict[str, str] = kwargs["labels"]
        self.service = self.labels[plan_mod.SERVICE_LABEL]
        self.script = list(client.health.get(self.service, ["starting", "healthy"]))
        self.attrs: dict[str, Any] = {
            "State": {"Status": "created"},
            "Config": {"Labels": self.labels},
        }
        self.removed = False

    def start(self) -> None:
        self.client.events.append(f"start {self.service}")
        self.attrs["State"] = {"Status": "running", "Health": {"Status": "starting"}}

    def reload(self) -> None:
        hook = self.client.on_reload.get(self.service)
        if hook is not None:
            hook()
        status = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        state = self.attrs["State"]
        if status == "exited":
            self.attrs["State"] = {"Status": "exited", "ExitCode": 3}
        else:
            log = [{"Output": "connection refused"}] if status == "unhealthy" else []
            state["Health"] = {"Status": status, "Log": log}
            if status == "healthy" and f"healthy {self.service}" not in self.client.events:
                self.client.events.append(f"healthy {self.service}")

    def logs(self, stream: bool = False, follow: bool = False, tail: int | None = None) -> Any:
        lines = [f"{self.service} line {i}\n".encode() for i in range(3)]
        return iter(lines) if stream else b"".join(lines[-(tail or 3) :])

    def stop(self, timeout: int = 10) -> None:
        self.client.events.append(f"stop {self.service}")

    def remove(self, force: bool = False, v: bool = False) -> None:
        if self.removed:
            raise docker.errors.NotFound("gone")
        self.removed = True
        self.client.events.append(f"remove {self.service}")


class FakeResource:
    def __init__(self, kind: str, name: str, labels: dict[str, str], client: FakeClient) -> None:
        self.kind, self.name, self.labels, self.client = kind, name, labels, client
        self.id = f"{kind}-{name}"
        self.attrs = {"Labels": labels}
        self.removed = False

    def remove(self) -> None:
        self.removed = True
        self.client.events.append(f"remove {self.kind} {self.name}")


def _matches(labels: dict[str, str], filters: dict[str, str] | None) -> bool:
    if not filters:
        return True
    key, _, value = filters["label"].partition("=")
    return labels.get(key) == value


class FakeContainers:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.all: list[FakeContainer] = []

    def create(self, image: str, **kwargs: Any) -> FakeContainer:
        service = kwargs["labels"][plan_mod.SERVICE_LABEL]
        if service in self.client.fail_create:
            raise docker.errors.APIError(f"cannot create {service}")
        container = FakeContainer(self.client, image, kwargs)
        self.all.append(container)
        self.client.events.append(f"create {service}")
        return container

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[Any]:
        return [c for c in self.all if not c.removed and _matches(c.labels, filters)]


class FakeCollection:
    def __init__(self, client: FakeClient, kind: str) -> None:
        self.client, self.kind = client, kind
        self.all: list[FakeResource] = []

    def create(self, name: str, labels: dict[str, str], **_: Any) -> FakeResource:
        item = FakeResource(self.kind, name, labels, self.client)
        self.all.append(item)
        self.client.events.append(f"create {self.kind} {name}")
        return item

    def list(self, filters: dict[str, str] | None = None) -> list[FakeResource]:
        return [i for i in self.all if not i.removed and _matches(i.labels, filters)]


class FakeImages:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.present = {"postgres:15.18-bookworm", "redis:7.0.15-bookworm"}

    def get(self, ref: str) -> object:
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return object()

    def pull(self, repository: str, tag: str) -> object:
        self.client.events.append(f"pull {repository}:{tag}")
        self.present.add(f"{repository}:{tag}")
        return object()

    def build(self, path: str, dockerfile: str, tag: str, rm: bool) -> tuple[object, list[Any]]:
        self.client.events.append(f"build {tag} {Path(path).name}/{dockerfile}")
        return object(), []


class FakeClient:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.health: dict[str, list[str]] = {}
        self.fail_create: set[str] = set()
        self.on_reload: dict[str, Callable[[], None]] = {}
        self.containers = FakeContainers(self)
        self.networks = FakeCollection(self, "network")
        self.volumes = FakeCollection(self, "volume")
        self.images = FakeImages(self)

    def created(self, service: str) -> FakeContainer:
        return next(c for c in self.containers.all if c.service == service)

    def leftovers(self) -> list[str]:
        left = [c.name for c in self.containers.all if not c.removed]
        return left + [i.name for i in (*self.networks.all, *self.volumes.all) if not i.removed]


class ScrapedAtOnce:
    def __init__(self, url: str, jobs: tuple[str, ...], since: float) -> None:
        self.url, self.jobs = url, jobs

    def check(self) -> str | None:
        return None


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def config(tmp_path: Path) -> ComposeStackConfig:
    am = tmp_path / "alertmanager.yml"
    am.write_text("route: {receiver: oncall}\n")
    rules = tmp_path / "rules.yml"
    rules.write_text("groups: []\n")
    return ComposeStackConfig(
        base_dir=tmp_path / "stack",
        timing=Timing.for_scale(60, 300),
        alertmanager_config=am,
        rules_file=rules,
        run_id="20261127T080000-1",
        fake_env={"WRK_DEFECTS": "rename_metric"},
        poll_s=0.0,
        health_timeout_s=5.0,
        port_lock_dir=tmp_path / "locks",
    )


def make_stack(config: ComposeStackConfig, client: FakeClient) -> ComposeStack:
    return ComposeStack(config, client_factory=lambda host: client, scrape_check=ScrapedAtOnce)


@pytest.fixture(autouse=True)
def no_trap_left() -> Iterator[None]:
    yield
    assert not TRAP.installed, "the signal trap must be released after teardown"


def test_containers_start_in_dependency_order_once_dependencies_are_healthy(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    with make_stack(config, client) as stack:
        target = stack.target
    compose = load_compose(ROOT / "docker-compose.yml")
    events = client.events
    started = [e.split()[1] for e in events if e.startswith("create ") and "network" not in e]
    started = [s for s in started if s != "volume"]
    assert "grafana" not in started  # for people only
    for service in started:
        for dep, condition in compose.services[service].depends_on.items():
            assert condition == "service_healthy"
            assert events.index(f"healthy {dep}") < events.index(f"create {service}"), service
    # network and volumes first, the fakes' image built once, missing images pulled
    assert events[0] == f"create network {stack.project}"
    assert sum(e.startswith("build wrk-fakes:local") for e in events) == 1
    assert "pull ghcr.io/shopify/toxiproxy:2.12.0" in events
    assert "pull postgres:15.18-bookworm" not in events  # already present
    assert target.name == "compose"
    assert client.leftovers() == []


def test_published_ports_are_dynamic_loopback_ports_mapped_into_the_target(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    with make_stack(config, client) as stack:
        target = stack.target
        edge = client.created("edge").kwargs
        host_ip, port = edge["ports"]["8000/tcp"]
        assert host_ip == "127.0.0.1" and port != 8080
        assert target.edge_url == f"http://127.0.0.1:{port}"
        assert set(target.services) == {
            "edge", "core", "platform", "webhook", "worker-build", "worker-ai-ingestion",
            "worker-notifications", "worker-usage-aggregation",
        }  # fmt: skip
        pg_port = client.created("postgres").kwargs["ports"]["5432/tcp"][1]
        assert target.database_url == f"postgresql://postgres@127.0.0.1:{pg_port}/wrk"
        tox_port = client.created("toxiproxy").kwargs["ports"]["8474/tcp"][1]
        assert target.toxiproxy_url == f"http://127.0.0.1:{tox_port}"
        assert target.proxies["postgres"].listen == "toxiproxy:15432"
        assert target.proxies["wrk_platform"].upstream == "platform:8000"
        # The service name resolves on the project's own network.
        assert edge["network"] == stack.project
        assert edge["networking_config"] == {stack.project: {"Aliases": ["edge"]}}
        assert edge["healthcheck"]["interval"] == 2_000_000_000


def test_secrets_and_fake_env_reach_the_fakes(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    with make_stack(config, client) as stack:
        target = stack.target
        edge_env = client.created("edge").kwargs["environment"]
        keys = json.loads(edge_env["WRK_API_KEYS"])
        assert set(keys) == {c.api_key for c in target.credentials}
        webhook_env = client.created("webhook").kwargs["environment"]
        assert webhook_env["WRK_WEBHOOK_SECRET"] == target.webhook_secret
        assert target.webhook_secret in webhook_env["WRK_REDACT_VALUES"]
        assert edge_env["WRK_DEFECTS"] == "rename_metric"
        assert "WRK_DEFECTS" not in client.created("postgres").kwargs["environment"]


def test_the_observation_plane_runs_on_the_host_network_with_the_runs_config(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    with make_stack(config, client) as stack:
        target = stack.target
        prom = client.created("prometheus").kwargs
        port = int(target.prometheus_url.rsplit(":", 1)[1])
        assert prom["network_mode"] == "host" and "ports" not in prom
        assert f"--web.listen-address=127.0.0.1:{port}" in prom["command"]
        assert f"http://127.0.0.1:{port}/-/ready" in prom["healthcheck"]["test"]
        binds = {v["bind"]: k for k, v in prom["volumes"].items()}
        assert binds[plan_mod.RULES_FILE] == str(config.rules_file)
        written = yaml.safe_load(Path(binds[plan_mod.PROMETHEUS_CONFIG]).read_text())
        jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in written["scrape_configs"]}
        edge_port = target.edge_url.rsplit(":", 1)[1]
        assert jobs["edge"] == [f"127.0.0.1:{edge_port}"]
        assert {"toxiproxy", "alertmanager", "prometheus", "worker-build"} <= set(jobs)
        am = client.created("alertmanager").kwargs
        am_binds = {v["bind"]: k for k, v in am["volumes"].items()}
        assert am_binds[plan_mod.ALERTMANAGER_CONFIG] == str(config.alertmanager_config)
        spans = {v["bind"]: k for k, v in client.created("core").kwargs["volumes"].items()}
        assert Path(spans["/var/lib/wrk/spans"]) == target.span_dir


def test_logs_of_every_container_land_in_the_run_folder(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    with make_stack(config, client) as stack:
        log_dir = stack.target.log_dir
    assert log_dir is not None
    assert (log_dir / "core.log").read_text().startswith("core line 0")


def test_an_unhealthy_container_is_named_with_its_log_tail_and_all_is_removed(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    client.health["core"] = ["starting", "unhealthy"]
    stack = make_stack(config, client)
    with pytest.raises(ServiceStartError) as info:
        stack.start()
    assert info.value.service == "core"
    assert "health check failed: connection refused" in str(info.value)
    assert "core line 2" in info.value.log_tail
    assert client.leftovers() == []


def test_an_exited_container_is_named(config: ComposeStackConfig, client: FakeClient) -> None:
    client.health["postgres"] = ["exited"]
    with pytest.raises(ServiceStartError, match="'postgres' failed to start: container exited"):
        make_stack(config, client).start()
    assert client.leftovers() == []


def test_a_container_never_healthy_times_out(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    slow = dataclasses.replace(config, health_timeout_s=0.05, poll_s=0.01)
    client.health["redis"] = ["starting"]
    with pytest.raises(ServiceStartError, match=r"'redis'.*not healthy after 0.05 s"):
        make_stack(slow, client).start()
    assert client.leftovers() == []


def test_everything_is_removed_when_a_create_fails_halfway(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    client.fail_create.add("edge")
    with pytest.raises(docker.errors.APIError, match="cannot create edge"):
        make_stack(config, client).start()
    created = [e for e in client.events if e.startswith("create ") and "network" not in e]
    assert len(created) > 3  # it did get halfway
    assert client.leftovers() == []
    assert any(e.startswith("remove network") for e in client.events)
    assert any(e.startswith("remove volume") for e in client.events)


def test_ctrl_c_while_waiting_tears_everything_down(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    client.on_reload["core"] = interrupt
    with pytest.raises(KeyboardInterrupt):
        make_stack(config, client).start()
    assert client.leftovers() == []


def test_sigterm_while_waiting_tears_everything_down(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    client.on_reload["toxiproxy"] = lambda: signal.raise_signal(signal.SIGTERM)
    with pytest.raises(Interrupted):
        make_stack(config, client).start()
    assert client.leftovers() == []


def test_teardown_also_removes_containers_it_lost_track_of(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    stack = make_stack(config, client)
    stack.start()
    stray = client.containers.create(
        "x:1", name="stray", labels={plan_mod.PROJECT_LABEL: stack.project,
                                     plan_mod.SERVICE_LABEL: "stray"},
    )  # fmt: skip
    stack.stop()
    assert stray.removed
    stack.stop()  # idempotent
    assert client.leftovers() == []


def test_a_failed_removal_is_reported_after_removing_the_rest(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    stack = make_stack(config, client)
    stack.start()
    stuck = client.created("redis")

    def refuse(force: bool = False, v: bool = False) -> None:
        raise docker.errors.APIError("device busy")

    stuck.remove = refuse  # type: ignore[method-assign]
    with pytest.raises(StackError, match=r"left behind: .*redis-1: device busy"):
        stack.stop()
    assert client.leftovers() == [stuck.name]


def test_a_stack_starts_once(config: ComposeStackConfig, client: FakeClient) -> None:
    with make_stack(config, client) as stack, pytest.raises(StackError, match="already started"):
        stack.start()


def test_prometheus_that_never_scrapes_is_an_error(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    class NeverScraped(ScrapedAtOnce):
        def check(self) -> str | None:
            return "no scrape yet of edge"

    slow = dataclasses.replace(config, scrape_timeout_s=0.05, poll_s=0.01)
    stack = ComposeStack(slow, client_factory=lambda host: client, scrape_check=NeverScraped)
    with pytest.raises(ServiceStartError, match="not every job scraped: no scrape yet of edge"):
        stack.start()
    assert client.leftovers() == []


def test_project_names_are_unique_and_valid() -> None:
    names = {new_project_name("20261127T080000-1") for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"wrkh-20261127t080000-1-[0-9a-f]{6}", n) for n in names)
    assert re.fullmatch(r"wrkh-a-b-[0-9a-f]{6}", new_project_name("A/B"))


def test_two_stacks_of_one_run_do_not_collide(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    first, second = make_stack(config, FakeClient()), make_stack(config, client)
    assert first.project != second.project
    assert first.paths.root != second.paths.root


def test_no_engine_is_a_stack_error_naming_the_docker_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    socket = tmp_path / "no-docker.sock"
    with pytest.raises(StackError, match=f"DOCKER_HOST=unix://{socket}"):
        connect(f"unix://{socket}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/env.sock")
    with pytest.raises(StackError, match=r"env\.sock"):
        connect(None)


def test_no_engine_leaves_nothing_behind(config: ComposeStackConfig, tmp_path: Path) -> None:
    missing = dataclasses.replace(config, docker_host=f"unix://{tmp_path}/x")
    with pytest.raises(StackError, match="no Docker engine reachable"):
        ComposeStack(missing).start()


def test_the_session_builds_the_stack_its_target_names(tmp_path: Path) -> None:
    from harness.run.session import ConformanceSession, RunOptions
    from harness.stack.local import LocalStack

    catalog = ROOT / "scenarios" / "catalog"
    stacks = []
    for target in ("compose", "local"):
        session = ConformanceSession.prepare(RunOptions(catalog, tmp_path, target=target), [])
        stacks.append(session._stack(tmp_path, tmp_path / "am.yml", tmp_path / "rules.yml"))
    assert isinstance(stacks[0], ComposeStack)
    assert isinstance(stacks[1], LocalStack)


def test_the_plan_releases_every_host_port_a_container_takes(tmp_path: Path) -> None:
    compose = load_compose(ROOT / "docker-compose.yml", env={"WRK_API_KEYS": "{}"})
    services = plan_mod.selected_services(compose)
    names = plan_mod.port_names(compose, services)
    ports = {name: 30000 + i for i, name in enumerate(names)}
    inputs = plan_mod.PlanInputs("p", ports, {}, tmp_path)
    plans = {p.service: p for p in plan_mod.plan_containers(compose, services, inputs)}
    assert plans["prometheus"].host_ports == [ports["prometheus"]]
    assert plans["edge"].host_ports == [ports["edge:8000"]]
    assert plans["redis"].host_ports == []  # not published
    taken = sorted(port for plan in plans.values() for port in plan.host_ports)
    assert taken == sorted(ports.values())


def abandon(stack: ComposeStack) -> None:
    """What a SIGKILL leaves: the project in place, the lease dropped by the kernel."""
    assert stack._lease is not None
    stack._lease.release()
    TRAP.release()


def test_the_project_of_a_killed_run_is_removed_when_the_next_run_starts(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    killed = make_stack(config, client)
    killed.start()
    abandon(killed)
    assert client.leftovers()
    with make_stack(dataclasses.replace(config, run_id="20261127T080000-2"), client) as stack:
        left = client.leftovers()
        assert left and all(name.startswith(stack.project) for name in left)
    assert client.leftovers() == []


def test_a_project_whose_run_folder_is_gone_is_swept(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    killed = make_stack(config, client)
    killed.start()
    abandon(killed)
    assert killed._lease is not None
    killed._lease.path.unlink()
    assert sweep_projects(client).removed == [killed.project]
    assert client.leftovers() == []


def test_a_live_run_and_another_hosts_project_are_never_swept(
    config: ComposeStackConfig, client: FakeClient
) -> None:
    labels = {
        plan_mod.PROJECT_LABEL: "wrkh-elsewhere",
        plan_mod.SERVICE_LABEL: "x",
        plan_mod.OWNER_HOST_LABEL: "another-host",
        plan_mod.LEASE_LABEL: "/nonexistent/.wrkh-lease",
    }
    foreign = client.containers.create("x:1", name="foreign", labels=labels)
    untagged = client.containers.create(
        "x:1", name="untagged", labels={plan_mod.SERVICE_LABEL: "y"}
    )
    with make_stack(config, client) as stack:
        swept = sweep_projects(client)
        assert swept.removed == [] and swept.failures == []
        assert any(name.startswith(stack.project) for name in client.leftovers())
    assert not foreign.removed and not untagged.removed
    assert client.leftovers() == ["foreign", "untagged"]
    assert not list(stack.paths.root.glob(".wrkh-lease*")), "no lease file among the reports"
