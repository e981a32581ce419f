"""The Docker engine as the compose stack uses it: a client that answered, images built or
pulled, a container's health and its output."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import StackError
from harness.stack.compose_file import ComposeFile
from harness.stack.compose_removal import not_found

log = logging.getLogger(__name__)

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
API_TIMEOUT_S = 30
LOG_TAIL_LINES = 40


def connect(docker_host: str | None) -> Any:
    """A docker SDK client that answered a ping; StackError naming the host otherwise."""
    import docker  # lazily: the SDK pulls in requests, which only this path needs

    host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    try:
        client = docker.DockerClient(base_url=host, timeout=API_TIMEOUT_S)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests and OS errors alike
        raise StackError(
            f"no Docker engine reachable at DOCKER_HOST={host} ({exc}); --target compose "
            "needs a running Docker engine (set DOCKER_HOST to reach another one)"
        ) from exc
    return client


def prepare_images(client: Any, project: str, compose: ComposeFile, services: list[str]) -> None:
    """Build each distinct build once; pull images that are not present."""
    done: set[str] = set()
    for name in services:
        svc = compose.services[name]
        image = svc.image or f"{project}-{name}"
        if image in done:
            continue
        done.add(image)
        if svc.build is not None:
            _build(client, compose.directory / svc.build.context, svc.build.dockerfile, image)
        else:
            _ensure_pulled(client, image)


def _build(client: Any, context: Path, dockerfile: str, tag: str) -> None:
    log.info("building %s from %s", tag, context / dockerfile)
    try:
        client.images.build(path=str(context), dockerfile=dockerfile, tag=tag, rm=True)
    except Exception as exc:
        raise StackError(f"building image {tag} from {context / dockerfile}: {exc}") from exc


def _ensure_pulled(client: Any, image: str) -> None:
    try:
        client.images.get(image)
        return
    except not_found():
        pass
    except Exception as exc:
        raise StackError(f"looking up image {image}: {exc}") from exc
    repository, _, tag = image.rpartition(":")
    log.info("pulling %s", image)
    try:
        client.images.pull(repository, tag=tag)
    except Exception as exc:
        raise StackError(f"pulling image {image}: {exc}") from exc


@dataclass(frozen=True)
class HealthProblem:
    reason: str
    fatal: bool


def health_problem(state: Mapping[str, Any]) -> HealthProblem | None:
    """None when healthy; a fatal problem when it exited or its health check failed."""
    status = state.get("Status", "")
    if status in ("exited", "dead"):
        return HealthProblem(f"container {status} with code {state.get('ExitCode')}", True)
    health = state.get("Health")
    if health is None:
        return None if status == "running" else HealthProblem(f"status {status}", False)
    if health.get("Status") == "healthy":
        return None
    if health.get("Status") == "unhealthy":
        last = (health.get("Log") or [{}])[-1].get("Output", "").strip()
        return HealthProblem(f"health check failed: {last[-300:]}", True)
    return HealthProblem(f"health {health.get('Status')}", False)


def copy_logs(container: Any, path: Path) -> None:
    """Follow a container's output into a file until the container is gone."""
    with contextlib.suppress(Exception), path.open("ab") as out:
        for chunk in container.logs(stream=True, follow=True):
            out.write(chunk)
            out.flush()


def log_tail(container: Any) -> str:
    try:
        data: bytes = container.logs(tail=LOG_TAIL_LINES)
    except Exception as exc:
        return f"(logs unavailable: {exc})"
    return data.decode("utf-8", "replace").rstrip()
