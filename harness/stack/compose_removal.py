"""Removing a compose project: by its label, at teardown and after a killed run.

Teardown removes the run's own project. A SIGKILLed run cannot, so a later run (or `wrkh sweep`)
removes projects whose run is gone (see folder_lock.py): only those started from this host (their
owner-host label) whose lease is abandoned, or gone with its run folder. A live run's project, or
one started by another machine sharing the Docker engine, is never touched.
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stack.compose_plan import LEASE_LABEL, OWNER_HOST_LABEL, PROJECT_LABEL
from harness.stack.folder_lock import abandoned

STOP_TIMEOUT_S = 5


def remove_project(client: Any, project: str, known: Iterable[Any] = ()) -> list[str]:
    """Remove a project's containers (newest first), then its network and volumes, all also
    found by label; returns what could not be removed, each named."""
    filters = {"label": f"{PROJECT_LABEL}={project}"}
    failures: list[str] = []
    containers = {c.id: c for c in reversed(list(known))}
    found = listed(client.containers, failures, filters=filters, all=True)
    containers |= {c.id: c for c in found}
    for container in containers.values():
        _guarded(functools.partial(_remove_container, container), container.name, failures)
    for collection in (client.networks, client.volumes):
        for item in listed(collection, failures, filters=filters):
            _guarded(item.remove, item.name, failures)
    return failures


def listed(collection: Any, failures: list[str], **kwargs: Any) -> list[Any]:
    try:
        return list(collection.list(**kwargs))
    except Exception as exc:
        failures.append(f"listing: {exc}")
        return []


def _guarded(step: Callable[[], object], what: str, failures: list[str]) -> None:
    """One removal; a failure is recorded and the rest still runs."""
    try:
        step()
    except not_found():
        pass  # already gone
    except Exception as exc:
        failures.append(f"{what}: {exc}")


def not_found() -> tuple[type[Exception], ...]:
    from docker.errors import NotFound  # ImageNotFound is a NotFound

    return (NotFound,)


def _remove_container(container: Any) -> None:
    with contextlib.suppress(Exception):
        container.stop(timeout=STOP_TIMEOUT_S)
    container.remove(force=True, v=True)


@dataclass
class ProjectSweep:
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _labels(item: Any) -> dict[str, str]:
    # The SDK keeps a container's labels under Config, a network's or volume's at the top.
    attrs = getattr(item, "attrs", None) or {}
    labels = attrs.get("Labels") or (attrs.get("Config") or {}).get("Labels")
    return dict(labels or {})


def owned_projects(client: Any, host: str, failures: list[str]) -> dict[str, str]:
    """Project name -> lease path, for every container, network or volume `host` started."""
    filters = {"label": f"{OWNER_HOST_LABEL}={host}"}
    resources = listed(client.containers, failures, filters=filters, all=True)
    for collection in (client.networks, client.volumes):
        resources += listed(collection, failures, filters=filters)
    found: dict[str, str] = {}
    for item in resources:
        labels = _labels(item)
        if labels.get(PROJECT_LABEL) and labels.get(LEASE_LABEL):
            found.setdefault(labels[PROJECT_LABEL], labels[LEASE_LABEL])
    return found


def sweep_projects(client: Any, host: str | None = None) -> ProjectSweep:
    """Remove this host's projects whose run is gone."""
    result = ProjectSweep()
    owner = host if host is not None else socket.gethostname()
    for project, lease in sorted(owned_projects(client, owner, result.failures).items()):
        if not Path(lease).exists() or abandoned(Path(lease)):
            result.failures += remove_project(client, project)
            result.removed.append(project)
    return result
