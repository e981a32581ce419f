"""A typed model of the part of a Compose file the harness runs (docker-compose.yml).

Only what the stack uses is modelled: image or build, command, environment, published ports,
volumes, health check, `depends_on` with a condition, `extra_hosts`. Anything else in a service
is reported as a problem rather than silently ignored, so the file and what
`--target compose` does cannot drift apart unnoticed.

Variables are interpolated as Compose does (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?message}`, `${VAR?message}`, `$$` for a literal `$`) when an environment is given;
without one the text is kept as written (the static checks compare templates).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, Problem
from harness.spec.files import read_yaml

CONDITIONS = ("service_healthy", "service_started")
_KNOWN_KEYS = {
    "image",
    "build",
    "command",
    "environment",
    "ports",
    "volumes",
    "healthcheck",
    "depends_on",
    "extra_hosts",
    "restart",
}
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\})"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class PortMapping:
    """`host_ip:host_port:container_port[/protocol]`."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    @property
    def key(self) -> str:
        """Docker's name of the container side, e.g. `8000/tcp`."""
        return f"{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    """`source:target[:ro]`; a source that is a path is a bind mount, else a named volume."""

    source: str
    target: str
    read_only: bool = False

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_s: float = 30.0
    timeout_s: float = 30.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True)
class Build:
    context: str
    dockerfile: str = "Dockerfile"


@dataclass(frozen=True)
class ComposeService:
    name: str
    image: str | None = None
    build: Build | None = None
    command: tuple[str, ...] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[Mount, ...] = ()
    healthcheck: Healthcheck | None = None
    depends_on: dict[str, str] = field(default_factory=dict)  # service -> condition
    extra_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComposeFile:
    path: Path
    name: str | None
    services: dict[str, ComposeService]
    volumes: tuple[str, ...]

    @property
    def directory(self) -> Path:
        """Relative paths in the file (build context, bind mounts) start here."""
        return self.path.parent

    def start_order(self) -> list[str]:
        """Services in dependency order (file order among independent ones)."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for dep in self.services[name].depends_on:
                visit(dep)
            order.append(name)

        for name in self.services:
            visit(name)
        return order

    def closure(self, names: list[str]) -> list[str]:
        """`names` plus everything they depend on, in start order."""
        wanted: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name not in wanted:
                wanted.add(name)
                stack += list(self.services[name].depends_on)
        return [n for n in self.start_order() if n in wanted]


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose variable substitution; a `${VAR:?msg}` with VAR unset raises ValueError."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        value = env.get(name)
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("?") and unset:
            raise ValueError(f"${{{name}}}: {arg or 'required'}")
        if op.endswith("-") and unset:
            return arg
        return value or ""

    return _VAR.sub(replace, text)


def parse_duration(text: str | int | float) -> float:
    """Compose durations: `1m30s`, `500ms`, `2s` (a bare number is seconds)."""
    if isinstance(text, int | float):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def load_compose(path: Path, env: Mapping[str, str] | None = None) -> ComposeFile:
    """Read and validate the file; raises ConfigError listing every problem at once."""
    where = str(path)
    raw, problems = read_yaml(path)
    if problems:
        raise ConfigError(problems)
    return compose_from_data(raw, path, env, where)


def compose_from_data(
    raw: Any, path: Path, env: Mapping[str, str] | None = None, where: str | None = None
) -> ComposeFile:
    """Validate already-read data (several files merged: harness.stack.compose_override);
    `path` is where relative paths start, `where` names the input in problems."""
    where = where or str(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise ConfigError([Problem(where, "services", "a mapping of services is required")])
    problems: list[Problem] = []
    if env is not None:
        raw = _interpolate_tree(raw, env, where, "", problems)
    services = {
        str(name): _service(str(name), spec, where, problems)
        for name, spec in raw["services"].items()
    }
    volumes = tuple(str(v) for v in (raw.get("volumes") or {}))
    compose = ComposeFile(path, raw.get("name"), services, volumes)
    problems += _cross_checks(compose, where)
    if problems:
        raise ConfigError(problems)
    return compose


def _interpolate_tree(
    node: Any, env: Mapping[str, str], where: str, at: str, problems: list[Problem]
) -> Any:
    if isinstance(node, str):
        try:
            return interpolate(node, env)
        except ValueError as exc:
            problems.append(Problem(where, at or "-", str(exc)))
            return node
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, env, where, f"{at}.{k}".lstrip("."), problems)
                for k, v in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [
            _interpolate_tree(v, env, where, f"{at}[{i}]", problems) for i, v in enumerate(node)
        ]
    return node


def _service(name: str, spec: Any, where: str, problems: list[Problem]) -> ComposeService:
    at = f"services.{name}"
    if not isinstance(spec, dict):
        problems.append(Problem(where, at, "a mapping is required"))
        return ComposeService(name)
    for key in sorted(set(spec) - _KNOWN_KEYS):
        problems.append(Problem(where, f"{at}.{key}", "not supported by --target compose"))
    fields: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        if spec.get(key) is None:
            continue
        try:
            fields[key] = parse(spec[key])
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(Problem(where, f"{at}.{key}", str(exc)))
    if "image" in spec:
        fields["image"] = str(spec["image"])
    if not fields.get("image") and not fields.get("build"):
        problems.append(Problem(where, at, "needs an image or a build"))
    return ComposeService(name, **fields)


def _command(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValueError("write the command as a list (no shell splitting here)")
    return tuple(str(v) for v in value)


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {k: v for k, _, v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _port(text: Any) -> PortMapping:
    body, _, protocol = str(text).partition("/")
    parts = body.split(":")
    if len(parts) != 3:
        raise ValueError(f"{text!r}: write ports as HOST_IP:HOST_PORT:CONTAINER_PORT")
    return PortMapping(parts[0], int(parts[1]), int(parts[2]), protocol or "tcp")


def _mount(text: Any) -> Mount:
    parts = str(text).split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise ValueError(f"{text!r}: write volumes as SOURCE:TARGET[:ro]")
    return Mount(parts[0], parts[1], len(parts) == 3 and parts[2] == "ro")


def _healthcheck(value: Any) -> Healthcheck:
    test = value["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] not in ("CMD", "CMD-SHELL"):
        raise ValueError("test must start with CMD or CMD-SHELL")
    return Healthcheck(
        test=tuple(str(t) for t in test),
        interval_s=parse_duration(value.get("interval", "30s")),
        timeout_s=parse_duration(value.get("timeout", "30s")),
        retries=int(value.get("retries", 3)),
        start_period_s=parse_duration(value.get("start_period", "0s")),
    )


def _depends_on(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return dict.fromkeys((str(v) for v in value), "service_started")
    return {str(k): str((v or {}).get("condition", "service_started")) for k, v in value.items()}


def _build(value: Any) -> Build:
    if isinstance(value, str):
        return Build(value)
    return Build(str(value.get("context", ".")), str(value.get("dockerfile", "Dockerfile")))


_PARSERS: dict[str, Any] = {
    "build": _build,
    "command": _command,
    "environment": _environment,
    "ports": lambda v: tuple(_port(p) for p in v),
    "volumes": lambda v: tuple(_mount(m) for m in v),
    "healthcheck": _healthcheck,
    "depends_on": _depends_on,
    "extra_hosts": lambda v: tuple(str(h) for h in v),
}


def _cross_checks(compose: ComposeFile, where: str) -> list[Problem]:
    problems: list[Problem] = []
    for name, service in compose.services.items():
        for dep, condition in service.depends_on.items():
            at = f"services.{name}.depends_on.{dep}"
            if dep not in compose.services:
                problems.append(Problem(where, at, "unknown service"))
            if condition not in CONDITIONS:
                problems.append(Problem(where, at, f"condition must be one of {CONDITIONS}"))
            elif (
                condition == "service_healthy"
                and dep in compose.services
                and compose.services[dep].healthcheck is None
            ):
                problems.append(Problem(where, at, f"{dep} has no healthcheck"))
        for mount in service.volumes:
            if not mount.is_bind and mount.source not in compose.volumes:
                at = f"services.{name}.volumes"
                problems.append(Problem(where, at, f"undeclared volume {mount.source!r}"))
    if not problems and _has_cycle(compose):
        problems.append(Problem(where, "services", "depends_on has a cycle"))
    return problems


def _has_cycle(compose: ComposeFile) -> bool:
    state: dict[str, int] = {}  # 1 = on the path, 2 = done

    def visit(name: str) -> bool:
        if state.get(name) == 1:
            return True
        if state.get(name) == 2:
            return False
        state[name] = 1
        found = any(visit(dep) for dep in compose.services[name].depends_on)
        state[name] = 2
        return found

    return any(visit(name) for name in compose.services)
