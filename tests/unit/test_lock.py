"""requirements.lock, what `make setup` and CI install: it must match pyproject.toml.

A dependency added to pyproject.toml without `make lock` would not be installed at all (the
lock is installed with --no-deps); a pin that no longer satisfies pyproject.toml would be.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def locked() -> dict[str, tuple[str, int]]:
    """Package -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            pins[name] = (match[2], 0)
        elif "--hash=sha256:" in line and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    texts = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
    texts += project["build-system"]["requires"]
    return [Requirement(t) for t in texts]


def test_every_declared_dependency_is_pinned_within_its_range_with_hashes() -> None:
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run `make lock`"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {requirement}: run `make lock`"
        )
        assert hashes > 0, f"{name} has no hash in requirements.lock"


def test_every_pin_has_hashes_and_nothing_points_at_this_machine() -> None:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert all(hashes > 0 for _, hashes in locked().values())
    for option in ("--find-links", "--index-url", "--extra-index-url", "-e "):
        assert option not in text, f"requirements.lock holds {option!r}"
