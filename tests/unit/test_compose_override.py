"""deploy/docker-compose.build.yml swaps the fakes' images for a build's, and the project's
compose model (the one `--target compose` runs) accepts the merged file.

No Docker engine here: the merge and the model are checked statically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.stack.compose_override import OVERRIDE_NAME, compose_files, load_merged, merge

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "docker-compose.yml"
EXAMPLE = ROOT / "deploy" / "docker-compose.build.yml"
ENV = {"WRK_API_KEYS": "{}", "WRK_BUILD_REGISTRY": "registry.example/wrk", "WRK_BUILD_TAG": "rc1"}
BUILD = ("edge", "core", "webhook", "worker-build", "worker-ai-ingestion",
         "worker-notifications", "worker-usage-aggregation")  # fmt: skip


def test_the_example_swaps_every_service_but_the_platform_for_the_build() -> None:
    merged = load_merged([BASE, EXAMPLE], env=ENV)
    for name in BUILD:
        service = merged.services[name]
        assert service.image == f"registry.example/wrk/{name}:rc1"
        assert service.build is None and service.command is None  # the image's own entrypoint
        assert service.healthcheck is not None  # prometheus waits for edge to be healthy
        assert service.ports and service.environment  # kept from docker-compose.yml
    platform = merged.services["platform"]
    assert platform.build is not None and platform.image == "wrk-fakes:local"
    assert set(merged.services) == set(load_merged([BASE], env=ENV).services)


def test_without_the_build_variables_the_file_names_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        load_merged([BASE, EXAMPLE], env={"WRK_API_KEYS": "{}"})
    text = str(caught.value)
    assert "services.edge.image: ${WRK_BUILD_REGISTRY}: set WRK_BUILD_REGISTRY" in text


def test_the_override_is_loaded_beside_the_compose_file_as_docker_compose_does(
    tmp_path: Path,
) -> None:
    base = tmp_path / "docker-compose.yml"
    shutil.copy(BASE, base)
    (tmp_path / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "toxiproxy.json", tmp_path / "deploy" / "toxiproxy.json")
    assert compose_files(base) == [base]
    shutil.copy(EXAMPLE, tmp_path / OVERRIDE_NAME)
    assert compose_files(base) == [base, tmp_path / OVERRIDE_NAME]
    merged = load_merged(compose_files(base), env=ENV)
    assert merged.services["edge"].image == "registry.example/wrk/edge:rc1"


def test_no_override_is_committed_in_the_root() -> None:
    """An override there would change `docker compose up` for everyone."""
    assert not (ROOT / OVERRIDE_NAME).exists()
    assert f"/{OVERRIDE_NAME}" in (ROOT / ".gitignore").read_text()


def test_an_override_of_an_unknown_service_is_refused(tmp_path: Path) -> None:
    over = tmp_path / "over.yml"
    over.write_text("services:\n  edgee:\n    image: x:1\n")
    with pytest.raises(ConfigError) as caught:
        load_merged([BASE, over], env=ENV)
    assert "services.edgee: not a service of docker-compose.yml" in str(caught.value)


def test_merge_follows_the_compose_rules() -> None:
    base = {"command": ["a", "b"], "ports": ["1:1"], "environment": {"A": "1", "B": "2"}}
    over = {"command": ["c"], "ports": ["2:2"], "environment": {"B": "3"}}
    assert merge(base, over) == {
        "command": ["c"],
        "ports": ["1:1", "2:2"],
        "environment": {"A": "1", "B": "3"},
    }


def _compose_cli() -> list[str] | None:
    """`docker-compose`, or `docker compose` when that plugin answers; None: neither here."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=30, check=False
    )
    return [docker, "compose"] if probe.returncode == 0 else None


@pytest.mark.skipif(_compose_cli() is None, reason="no docker compose here (static checks only)")
def test_docker_compose_itself_accepts_the_merged_files() -> None:
    cli = _compose_cli()
    assert cli is not None
    done = subprocess.run(
        [*cli, "-f", str(BASE), "-f", str(EXAMPLE), "config", "--quiet"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
