"""Compose files merged as `docker compose -f base.yml -f override.yml` merges them.

`docker compose` loads `docker-compose.override.yml` beside `docker-compose.yml` by itself;
`--target compose` does the same, so a build's images swapped in by an override (see
deploy/docker-compose.build.yml) are what the suite runs against.

The merge follows the Compose specification for what the stack's model reads: mappings
merge key by key, `command`, `entrypoint` and `healthcheck.test` are replaced, other
sequences (ports, volumes, extra_hosts) are appended without duplicates, scalars are
replaced; `!reset` removes a key, `!override` replaces it whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, Problem
from harness.spec.files import read_yaml
from harness.spec.yaml_limits import LimitedLoader
from harness.stack.compose_file import ComposeFile, compose_from_data

OVERRIDE_NAME = "docker-compose.override.yml"
_REPLACED = frozenset({"command", "entrypoint", "test"})


@dataclass(frozen=True)
class _Reset:
    """`!reset`: the key is removed from the merged file."""


@dataclass(frozen=True)
class _Override:
    """`!override VALUE`: the value replaces the base's whole, unmerged."""

    value: Any


class _ComposeLoader(LimitedLoader):
    """The input loader (limits included), knowing Compose's merge tags."""


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> _Reset:
    return _Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> _Override:
    if isinstance(node, yaml.MappingNode):
        return _Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return _Override(loader.construct_sequence(node, deep=True))
    return _Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_ComposeLoader.add_constructor("!reset", _reset)
_ComposeLoader.add_constructor("!override", _override)


def _read(path: Path) -> Any:
    data, problems = read_yaml(path, _ComposeLoader)
    if problems:
        raise ConfigError(problems)
    return data


def merge(base: Any, over: Any, key: str = "") -> Any:
    """`over` merged onto `base` (Compose's rules, see the module docstring)."""
    if isinstance(over, _Override):
        return over.value
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            if isinstance(v, _Reset):
                out.pop(k, None)
            else:
                out[k] = merge(base.get(k), v, str(k)) if k in base else _plain(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in _REPLACED:
        return base + [v for v in over if v not in base]
    return _plain(over)


def _plain(node: Any) -> Any:
    """Tags removed from a value that has nothing to merge with."""
    if isinstance(node, _Override):
        return node.value
    if isinstance(node, Mapping):
        return {k: _plain(v) for k, v in node.items() if not isinstance(v, _Reset)}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return None if isinstance(node, _Reset) else node


def compose_files(base: Path) -> list[Path]:
    """`base` and, as `docker compose` would, the override file beside it when present."""
    override = base.with_name(OVERRIDE_NAME)
    return [base, override] if override.is_file() else [base]


def load_merged(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> ComposeFile:
    """The files merged in order and validated as one; an override naming a service the
    base lacks is a problem (Compose would create a service with no image)."""
    merged = _read(paths[0])
    problems = []
    for path in paths[1:]:
        over = _read(path)
        base_services = set((merged or {}).get("services") or {})
        for name in (over or {}).get("services") or {}:
            if name not in base_services:
                reason = f"not a service of {paths[0].name}"
                problems.append(Problem(str(path), f"services.{name}", reason))
        merged = merge(merged, over)
    if problems:
        raise ConfigError(problems)
    where = " + ".join(str(p) for p in paths)
    return compose_from_data(merged, paths[0], env, where)
