"""What each container of a compose run will be: pure data, decided before anything starts.

From the typed compose file and the run's choices (project name, ports, configuration files)
to one `ContainerPlan` per service, in start order, shaped as the Docker SDK takes it. Nothing
here talks to Docker, so the whole wiring is checked by unit tests (see compose.py for why a
harness run differs from the file where it does).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, Problem
from harness.spec.files import ROOT_FIELD, display_path, read_yaml
from harness.stack.compose_file import ComposeFile, Healthcheck
from harness.stack.ports import HOST
from harness.stack.target import Proxy

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Who owns a project: the host it was started from and its run's lease (folder_lock.py). A sweep
# removes only projects of its own host whose lease is abandoned.
OWNER_HOST_LABEL = "io.wrkh.owner-host"
LEASE_LABEL = "io.wrkh.lease"
OPTIONAL_SERVICES = ("grafana",)  # for people; the suite does not read it
HOST_NETWORK = ("prometheus", "alertmanager")
SPANS_VOLUME = "spans"
# Container paths of the configuration a run replaces (a test checks the file mounts them).
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
RULES_FILE = "/etc/prometheus/rules/wrk-copilot-alerts.rules.yml"
ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml"
TOXIPROXY_CONFIG = "/config/toxiproxy.json"
_LISTEN_FLAG = "--web.listen-address="


@dataclass(frozen=True)
class ContainerPlan:
    """One container as the Docker API wants it (pure data: see plan_containers)."""

    service: str
    name: str
    image: str
    command: tuple[str, ...] | None
    environment: dict[str, str]
    ports: dict[str, tuple[str, int]]  # "8000/tcp" -> (host ip, host port)
    binds: dict[str, dict[str, str]]  # host path or volume name -> {"bind": ..., "mode": ...}
    healthcheck: Healthcheck | None
    depends_on: dict[str, str]
    labels: dict[str, str]
    host_network: bool = False
    listen_port: int | None = None  # on the host network: the 127.0.0.1 port it listens on
    extra_hosts: dict[str, str] = field(default_factory=dict)

    @property
    def host_ports(self) -> list[int]:
        """Every host port the container takes (their placeholders are released first)."""
        published = [port for _, port in self.ports.values()]
        return published + ([self.listen_port] if self.listen_port is not None else [])


def new_project_name(run_id: str | None) -> str:
    """Unique per run; Compose allows lowercase letters, digits, `-` and `_`."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", (run_id or "run").lower()).strip("-_")[:40] or "run"
    return f"wrkh-{stem}-{secrets.token_hex(3)}"


def selected_services(compose: ComposeFile) -> list[str]:
    """Every service but the optional ones, plus what they depend on, in start order."""
    return compose.closure([n for n in compose.services if n not in OPTIONAL_SERVICES])


def port_names(compose: ComposeFile, services: list[str]) -> list[str]:
    """One host port per published port (`svc:8000`) and per host-network service (`svc`)."""
    names: list[str] = []
    for name in services:
        if name in HOST_NETWORK:
            names.append(name)
        else:
            names += [f"{name}:{p.container_port}" for p in compose.services[name].ports]
    return names


def host_port(compose: ComposeFile, ports: Mapping[str, int], service: str) -> int:
    """The 127.0.0.1 port a service is reached on: its listen port or first published one."""
    if service in HOST_NETWORK:
        return ports[service]
    return ports[f"{service}:{compose.services[service].ports[0].container_port}"]


def built_services(compose: ComposeFile, services: list[str]) -> list[str]:
    """The fakes: services built from the project's Dockerfile."""
    return [n for n in services if compose.services[n].build is not None]


@dataclass(frozen=True)
class PlanInputs:
    """What a run decides about its containers besides the file itself."""

    project: str
    ports: Mapping[str, int]  # from port_names()
    config_files: Mapping[str, Path]  # container path -> the run's file mounted there
    spans_dir: Path
    fake_env: Mapping[str, str] = field(default_factory=dict)
    resend_delay: str = "1s"
    owner_labels: Mapping[str, str] = field(default_factory=dict)


def plan_containers(
    compose: ComposeFile, services: list[str], inputs: PlanInputs
) -> list[ContainerPlan]:
    """Every container of the run in start order; nothing is started here."""
    return [_plan(compose, name, inputs) for name in services]


def _plan(compose: ComposeFile, name: str, inputs: PlanInputs) -> ContainerPlan:
    project, ports = inputs.project, inputs.ports
    svc = compose.services[name]
    binds: dict[str, dict[str, str]] = {}
    for mount in svc.volumes:
        if mount.target in inputs.config_files:
            source = str(inputs.config_files[mount.target])
        elif mount.source == SPANS_VOLUME:
            source = str(inputs.spans_dir)
        elif mount.is_bind:
            source = str((compose.directory / mount.source).resolve())
        else:
            source = f"{project}_{mount.source}"
        binds[source] = {"bind": mount.target, "mode": "ro" if mount.read_only else "rw"}
    env = dict(svc.environment)
    if svc.build is not None:
        env.update(inputs.fake_env)
    labels = {PROJECT_LABEL: project, SERVICE_LABEL: name, **inputs.owner_labels}
    plan = ContainerPlan(
        service=name,
        name=f"{project}-{name}-1",
        image=svc.image or f"{project}-{name}",
        command=svc.command,
        environment=env,
        ports={}
        if name in HOST_NETWORK
        else {p.key: (HOST, ports[f"{name}:{p.container_port}"]) for p in svc.ports},
        binds=binds,
        healthcheck=svc.healthcheck,
        depends_on=dict(svc.depends_on),
        labels=labels,
        extra_hosts=dict(_host_entry(h) for h in svc.extra_hosts),
    )
    if name in HOST_NETWORK:
        file_port = svc.ports[0].container_port
        return _on_host_network(plan, file_port, ports[name], inputs.resend_delay)
    return plan


def _host_entry(text: str) -> tuple[str, str]:
    host, _, address = text.partition(":")
    return host, address


def _on_host_network(
    plan: ContainerPlan, file_port: int, port: int, resend_delay: str
) -> ContainerPlan:
    """Listen on 127.0.0.1:<port> of the host instead of publishing a port."""
    command = [a for a in plan.command or () if not a.startswith(_LISTEN_FLAG)]
    command.append(f"{_LISTEN_FLAG}{HOST}:{port}")
    if plan.service == "prometheus":
        command.append(f"--rules.alert.resend-delay={resend_delay}")
        command.append("--web.enable-admin-api")  # scenarios start from empty series
    check = plan.healthcheck
    if check is not None:
        test = tuple(t.replace(f":{file_port}/", f":{port}/") for t in check.test)
        check = Healthcheck(test, check.interval_s, check.timeout_s, check.retries,
                            check.start_period_s)  # fmt: skip
    return ContainerPlan(
        service=plan.service, name=plan.name, image=plan.image, command=tuple(command),
        environment=plan.environment, ports={}, binds=plan.binds, healthcheck=check,
        depends_on=plan.depends_on, labels=plan.labels, host_network=True, listen_port=port,
    )  # fmt: skip


def read_proxies(compose: ComposeFile) -> dict[str, Proxy]:
    """Toxiproxy's proxies as the file configures them (deploy/toxiproxy.json); ConfigError
    when the file mounts no such configuration or it is not a list of proxies."""
    toxiproxy = compose.services.get("toxiproxy")
    volumes = toxiproxy.volumes if toxiproxy is not None else ()
    mount = next((m for m in volumes if m.target == TOXIPROXY_CONFIG), None)
    if mount is None:
        reason = f"no volume mounts Toxiproxy's configuration at {TOXIPROXY_CONFIG}"
        raise ConfigError([Problem(str(compose.path), "services.toxiproxy.volumes", reason)])
    path = compose.directory / mount.source
    entries, problems = read_yaml(path)  # JSON is YAML: the same loader and limits
    if problems:
        raise ConfigError(problems)
    if not isinstance(entries, list) or not all(map(_is_proxy, entries)):
        reason = "expected a list of {name, listen: host:port, upstream}"
        raise ConfigError([Problem(display_path(path), ROOT_FIELD, reason)])
    return {
        e["name"]: Proxy(e["name"], f"toxiproxy:{e['listen'].rsplit(':', 1)[1]}", e["upstream"])
        for e in entries
    }


def _is_proxy(entry: object) -> bool:
    keys = ("name", "listen", "upstream")
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(k), str) for k in keys)
        and (":" in entry["listen"])
    )


def create_kwargs(plan: ContainerPlan) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "name": plan.name,
        "command": list(plan.command) if plan.command else None,
        "environment": plan.environment,
        "labels": plan.labels,
        "volumes": plan.binds,
        "detach": True,
    }
    if plan.healthcheck is not None:
        kwargs["healthcheck"] = _healthcheck(plan.healthcheck)
    if plan.host_network:
        kwargs["network_mode"] = "host"
    else:
        network = plan.labels[PROJECT_LABEL]
        kwargs["ports"] = plan.ports
        kwargs["network"] = network
        # The service name resolves on the project network, as with Compose.
        kwargs["networking_config"] = {network: {"Aliases": [plan.service]}}
    if plan.extra_hosts:
        kwargs["extra_hosts"] = plan.extra_hosts
    return kwargs


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    ns = 1_000_000_000
    return {
        "test": list(check.test),
        "interval": int(check.interval_s * ns),
        "timeout": int(check.timeout_s * ns),
        "retries": check.retries,
        "start_period": int(check.start_period_s * ns),
    }
