"""Static validation of docker-compose.yml, the Dockerfile and deploy/ (no Docker engine here).

Each check is a function returning the problems it found, run once on the real files (no
problem allowed) and once on a deliberately broken copy (the problem must be named), so no
check can pass by being unable to fail.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from harness.spec.catalog import load_catalog
from harness.spec.rules import render_alertmanager_config, render_rules
from harness.spec.timescale import Timing
from harness.stack import compose_plan as compose_stack
from harness.stack.compose_file import (
    ComposeFile,
    ComposeService,
    PortMapping,
    interpolate,
    load_compose,
    parse_duration,
)
from harness.stack.fakes import DEFAULT_FAKES, DEFAULT_PROXIES, AddressBook, FakeService
from harness.stack.layout import EXTRA_JOBS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
RECEIVER_URL = "http://host.docker.internal:9095"
FAKE_PORT = 8000
# Inside the compose network every fake listens on 8000 and Toxiproxy's proxies listen on the
# ports of deploy/toxiproxy.json; secrets come from the file's variables.
DEPENDENCIES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
    "dependencies"
]
PINNED = re.compile(r"^[\w./-]+:v?\d+(\.\d+)+[\w.-]*$")


@pytest.fixture(scope="module")
def compose() -> ComposeFile:
    return load_compose(COMPOSE)


def compose_book() -> AddressBook:
    proxies = json.loads((DEPLOY / "toxiproxy.json").read_text())
    return AddressBook(
        service={f.name: f"{f.name}:{FAKE_PORT}" for f in DEFAULT_FAKES},
        proxy={p["name"]: f"toxiproxy:{p['listen'].rsplit(':', 1)[1]}" for p in proxies},
        api_keys_json="${WRK_API_KEYS:?set WRK_API_KEYS (JSON, see the header of this file)}",
        redact_values="${WRK_REDACT_VALUES:-}",
        webhook_secret="${WRK_WEBHOOK_SECRET:-dev-webhook-secret}",
        tenant_ids="${WRK_RUN_EVENT_TENANT:-tenant-1}",
    )


# -- the checks ---------------------------------------------------------------------------


def service_problems(compose: ComposeFile) -> list[str]:
    """Image or build, health check, 127.0.0.1-only ports, pinned images."""
    problems = []
    for name, svc in compose.services.items():
        if svc.healthcheck is None:
            problems.append(f"{name}: no healthcheck")
        for port in svc.ports:
            if port.host_ip != "127.0.0.1":
                problems.append(f"{name}: port {port.key} published on {port.host_ip!r}")
        if svc.build is None and not PINNED.match(svc.image or ""):
            problems.append(f"{name}: image {svc.image!r} is not pinned to a version")
        for dep, condition in svc.depends_on.items():
            if condition != "service_healthy":
                problems.append(f"{name}: depends_on {dep} is {condition}, not service_healthy")
    return problems


def missing_files(compose: ComposeFile) -> list[str]:
    """Bind-mount sources and build contexts that do not exist."""
    problems = []
    for name, svc in compose.services.items():
        for mount in svc.volumes:
            if mount.is_bind and not (compose.directory / mount.source).exists():
                problems.append(f"{name}: {mount.source} does not exist")
        if svc.build is not None:
            dockerfile = compose.directory / svc.build.context / svc.build.dockerfile
            if not dockerfile.is_file():
                problems.append(f"{name}: {dockerfile} does not exist")
    return problems


def fake_drift(compose: ComposeFile, fakes: tuple[FakeService, ...]) -> list[str]:
    """Each fake has the local stack's command, environment and dependencies."""
    book = compose_book()
    problems = []
    for fake in fakes:
        svc = compose.services.get(fake.name)
        if svc is None:
            problems.append(f"{fake.name}: missing from the compose file")
            continue
        if list(svc.command or ()) != fake.command_line("python"):
            problems.append(f"{fake.name}: command {svc.command} != local stack's")
        if svc.build is None:
            problems.append(f"{fake.name}: not built from the Dockerfile")
        expected = {k: book.render(v) for k, v in fake.env.items()}
        expected["WRK_SPAN_FILE"] = f"/var/lib/wrk/spans/{fake.name}.jsonl"
        expected["WRK_REDACT_VALUES"] = book.redact_values
        if svc.environment != expected:
            diff = set(svc.environment.items()) ^ set(expected.items())
            problems.append(f"{fake.name}: environment differs: {sorted(diff)}")
        if set(svc.depends_on) != set(fake.depends_on):
            problems.append(
                f"{fake.name}: depends_on {sorted(svc.depends_on)} != {sorted(fake.depends_on)}"
            )
        if [p.container_port for p in svc.ports] != [FAKE_PORT]:
            problems.append(f"{fake.name}: must publish container port {FAKE_PORT}")
    extra = {n for n, s in compose.services.items() if s.build} - {f.name for f in fakes}
    problems += [f"{name}: built but not a fake of the local stack" for name in sorted(extra)]
    return problems


def proxy_drift(entries: list[dict[str, object]]) -> list[str]:
    """deploy/toxiproxy.json has the local stack's routes (name -> upstream service)."""
    got = {str(e["name"]): str(e["upstream"]).rsplit(":", 1)[0] for e in entries}
    want = {r.name: r.upstream for r in DEFAULT_PROXIES}
    problems = [f"proxy {n}: {got.get(n)!r} != {u!r}" for n, u in want.items() if got.get(n) != u]
    problems += [f"proxy {n}: not in the local stack" for n in sorted(set(got) - set(want))]
    problems += [f"proxy {e['name']}: not enabled" for e in entries if e.get("enabled") is not True]
    return problems


def scrape_problems(config: dict[str, object], compose: ComposeFile) -> list[str]:
    """Every fake and extra job scraped, each target a service of the file."""
    jobs: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:  # type: ignore[attr-defined]
        jobs[job["job_name"]] = [t for s in job["static_configs"] for t in s["targets"]]
    problems = [
        f"job {name} is not scraped"
        for name in (*(f.name for f in DEFAULT_FAKES), *EXTRA_JOBS)
        if name not in jobs
    ]
    for job, targets in jobs.items():
        for target in targets:
            host = target.rsplit(":", 1)[0]
            if host not in compose.services and host != "localhost":
                problems.append(f"job {job}: target {target} is no service of the file")
    return problems


def dockerfile_problems(
    dockerfile: str, dockerignore: str, dependencies: list[str], imports: set[str]
) -> list[str]:
    """COPY sources exist and survive .dockerignore; pip installs what the fakes import,
    with pyproject's pins."""
    problems = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            source = line.split()[1]
            if not (ROOT / source).exists():
                problems.append(f"COPY source {source} does not exist")
            if f"!{source}" not in dockerignore.splitlines():
                problems.append(f"COPY source {source} is excluded by .dockerignore")
    installed = re.findall(r'"([a-z][\w.-]*[<>=]=?[\d.]+)"', dockerfile)
    problems += [f"{req} is not pyproject's pin" for req in installed if req not in dependencies]
    provided = _with_requirements({re.split(r"[<>=]", req)[0] for req in installed})
    distributions = importlib.metadata.packages_distributions()
    for module in sorted(imports):
        names = {_canonical(d) for d in distributions.get(module, [module])}
        if not names & provided:
            problems.append(f"the fakes import {module}, which the image does not install")
    return problems


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _with_requirements(names: set[str]) -> set[str]:
    """The distributions and everything they require, transitively (as installed here)."""
    found: set[str] = set()
    todo = [_canonical(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [
            _canonical(re.split(r"[\s;<>=!~\[(]", r)[0]) for r in requires if "extra ==" not in r
        ]
    return found


def fakes_imports() -> set[str]:
    """Top-level third-party modules imported anywhere in fake_services/."""
    found: set[str] = set()
    for path in (ROOT / "fake_services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "fake_services"}


# -- the real files pass -------------------------------------------------------------------


def test_the_compose_file_parses_and_every_service_is_well_formed(compose: ComposeFile) -> None:
    assert set(compose.services) >= {
        "postgres", "redis", "toxiproxy", "prometheus", "alertmanager", "grafana",
        *(f.name for f in DEFAULT_FAKES),
    }  # fmt: skip
    assert service_problems(compose) == []


def test_referenced_files_exist(compose: ComposeFile) -> None:
    assert missing_files(compose) == []


def test_fakes_match_the_local_stack(compose: ComposeFile) -> None:
    assert fake_drift(compose, DEFAULT_FAKES) == []


def test_toxiproxy_routes_match_the_local_stack() -> None:
    assert proxy_drift(json.loads((DEPLOY / "toxiproxy.json").read_text())) == []


def test_prometheus_scrapes_every_service(compose: ComposeFile) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape_problems(config, compose) == []
    assert config["rule_files"] == [compose_stack.RULES_FILE]


def test_dockerfile_copies_existing_sources_and_installs_what_the_fakes_import() -> None:
    assert {"fastapi", "httpx", "asyncpg", "redis"} <= fakes_imports()
    problems = dockerfile_problems(
        DOCKERFILE.read_text(), (ROOT / ".dockerignore").read_text(), DEPENDENCIES, fakes_imports()
    )
    assert problems == []


def test_rules_and_alertmanager_config_are_the_catalogues_at_production_scale() -> None:
    catalog = load_catalog(ROOT / "scenarios" / "catalog")
    rules = (DEPLOY / "wrk-copilot-alerts.rules.yml").read_text()
    assert rules == render_rules(catalog, 1.0), "regenerate: wrkh rules --scale 1 --out deploy/"
    timing = Timing.for_scale(1.0, catalog.shortest_window_s())
    am = (DEPLOY / "alertmanager.yml").read_text()
    assert am == render_alertmanager_config(catalog, RECEIVER_URL, timing)


def test_the_file_mounts_every_configuration_a_run_replaces(compose: ComposeFile) -> None:
    targets = {m.target for s in compose.services.values() for m in s.volumes}
    wanted = {
        compose_stack.PROMETHEUS_CONFIG,
        compose_stack.RULES_FILE,
        compose_stack.ALERTMANAGER_CONFIG,
        compose_stack.TOXIPROXY_CONFIG,
        "/var/lib/wrk/spans",
        "/etc/grafana/provisioning",
        "/var/lib/grafana/dashboards",
    }
    assert wanted <= targets
    published = {(n, p.container_port) for n, s in compose.services.items() for p in s.ports}
    assert {("toxiproxy", 8474), ("postgres", 5432), ("prometheus", 9090)} <= published


def test_start_order_puts_dependencies_first(compose: ComposeFile) -> None:
    order = compose.start_order()
    for name, svc in compose.services.items():
        assert all(order.index(dep) < order.index(name) for dep in svc.depends_on)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_prometheus_config_and_its_rules(tmp_path: Path) -> None:
    # The config names the rules by their path in the container: point it at deploy/ here.
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["rule_files"] = [str(DEPLOY / "wrk-copilot-alerts.rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        ["promtool", "check", "config", str(path)],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed")
def test_amtool_accepts_the_alertmanager_config() -> None:
    done = subprocess.run(
        ["amtool", "check-config", str(DEPLOY / "alertmanager.yml")],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


# -- the checks fail on broken input -------------------------------------------------------


def _replace(compose: ComposeFile, name: str, **changes: object) -> ComposeFile:
    services = dict(compose.services)
    services[name] = dataclasses.replace(services[name], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(compose, services=services)


def test_service_checks_name_what_is_wrong(compose: ComposeFile) -> None:
    broken = _replace(compose, "redis", healthcheck=None, image="redis:latest")
    broken = _replace(broken, "edge", ports=(PortMapping("0.0.0.0", 8080, 8000),))
    broken = _replace(broken, "core", depends_on={"postgres": "service_started"})
    assert service_problems(broken) == [
        "redis: no healthcheck",
        "redis: image 'redis:latest' is not pinned to a version",
        "core: depends_on postgres is service_started, not service_healthy",
        "edge: port 8000/tcp published on '0.0.0.0'",
    ]


def test_a_missing_bind_source_is_named(compose: ComposeFile) -> None:
    mounts = (dataclasses.replace(compose.services["toxiproxy"].volumes[0], source="./nope.json"),)
    assert missing_files(_replace(compose, "toxiproxy", volumes=mounts)) == [
        "toxiproxy: ./nope.json does not exist"
    ]


def test_drift_from_the_local_stack_is_named(compose: ComposeFile) -> None:
    broken = _replace(compose, "core", command=("python", "-m", "fake_services", "edge"))
    env = {**compose.services["webhook"].environment, "WRK_REDIS_URL": "redis://redis:6379/0"}
    broken = _replace(broken, "webhook", environment=env, depends_on={})
    broken.services["rogue"] = ComposeService(
        "rogue", image="wrk-fakes:local", build=compose.services["core"].build
    )
    problems = fake_drift(broken, DEFAULT_FAKES)
    assert any(p.startswith("core: command") for p in problems)
    assert any(
        "webhook: environment differs" in p and "redis://redis:6379/0" in p for p in problems
    )
    assert any(p.startswith("webhook: depends_on") for p in problems)
    assert "rogue: built but not a fake of the local stack" in problems


def test_proxy_and_scrape_drift_are_named(compose: ComposeFile) -> None:
    entries = json.loads((DEPLOY / "toxiproxy.json").read_text())
    entries[0]["upstream"] = "redis:6379"
    assert proxy_drift(entries[:-1]) == [
        "proxy postgres: 'redis' != 'postgres'",
        "proxy webhook: None != 'webhook'",
    ]
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] != "core"]
    config["scrape_configs"][0]["static_configs"][0]["targets"] = ["nowhere:1"]
    assert scrape_problems(config, compose) == [
        "job core is not scraped",
        "job edge: target nowhere:1 is no service of the file",
    ]


def test_dockerfile_checks_name_missing_sources_and_dependencies() -> None:
    text, pins = re.subn(r'"redis>=[\d.]+"', '"redis>=4"', DOCKERFILE.read_text())
    assert pins == 1  # the Dockerfile's own pin, now wrong
    text = text.replace('    "httpx>=0.27" \\\n', "") + "COPY missing/ /x/\n"
    problems = dockerfile_problems(
        text, (ROOT / ".dockerignore").read_text(), DEPENDENCIES, fakes_imports()
    )
    assert "COPY source missing/ does not exist" in problems
    assert "COPY source missing/ is excluded by .dockerignore" in problems
    assert "redis>=4 is not pyproject's pin" in problems
    assert "the fakes import httpx, which the image does not install" in problems


def test_a_broken_file_is_rejected_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "a": {
                        "depends_on": {"b": {"condition": "service_healthy"}},
                        "privileged": True,
                    },
                    "b": {"image": "x:1.0", "ports": ["8080"], "volumes": ["data:/d"]},
                    "c": {"image": "x:1.0", "depends_on": {"nope": {"condition": "whenever"}}},
                }
            }
        )
    )
    with pytest.raises(ConfigError) as info:
        load_compose(path)
    text = str(info.value)
    for fragment in (
        "services.a.privileged: not supported",
        "services.a: needs an image or a build",
        "services.b.ports: '8080': write ports as HOST_IP:HOST_PORT:CONTAINER_PORT",
        "services.a.depends_on.b: b has no healthcheck",
        "services.c.depends_on.nope: unknown service",
        "services.c.depends_on.nope: condition must be one of",
        "services.b.volumes: undeclared volume 'data'",
    ):
        assert fragment in text


def test_a_dependency_cycle_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "a": {"image": "x:1.0", "depends_on": ["b"]},
                    "b": {"image": "x:1.0", "depends_on": ["a"]},
                }
            }
        )
    )
    with pytest.raises(ConfigError, match="cycle"):
        load_compose(path)


# -- interpolation and durations -----------------------------------------------------------


def test_interpolation_follows_compose() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET}-${UNSET}-$${SET}", env) == "v--${SET}"
    assert interpolate("${EMPTY:-d}|${EMPTY-d}|${UNSET-d}", env) == "d||d"
    with pytest.raises(ValueError, match="give it"):
        interpolate("${EMPTY:?give it}", env)
    assert interpolate("${EMPTY?only if unset}", env) == ""


def test_the_required_api_keys_variable_is_reported_when_missing() -> None:
    with pytest.raises(ConfigError, match="WRK_API_KEYS"):
        load_compose(COMPOSE, env={})
    filled = load_compose(COMPOSE, env={"WRK_API_KEYS": '{"k": {}}', "WRK_WEBHOOK_SECRET": "s"})
    assert filled.services["edge"].environment["WRK_API_KEYS"] == '{"k": {}}'
    assert filled.services["webhook"].environment["WRK_WEBHOOK_SECRET"] == "s"
    assert filled.services["platform"].environment["WRK_REDACT_VALUES"] == ""


@pytest.mark.parametrize(
    ("text", "seconds"), [("2s", 2.0), ("1m30s", 90.0), ("500ms", 0.5), (3, 3.0)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("2 seconds")
