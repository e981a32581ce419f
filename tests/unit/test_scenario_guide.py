"""docs/scenarios.md stays true: its example is a valid scenario for `wrkh validate`, it uses
the platform's own HTTP fault lever, and every field a scenario can have is documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import BaseModel

from harness.spec.scenario import Scenario
from tests.input_suites import ROOT, suite, validate

GUIDE = ROOT / "docs" / "scenarios.md"
MARKER = "<!-- example-scenario:"


def _example() -> str:
    text = GUIDE.read_text()
    after = text[text.index(MARKER) :]
    found = re.search(r"```yaml\n(.*?)```", after, re.DOTALL)
    assert found is not None, "no yaml block after the example marker"
    return found.group(1)


def test_the_guides_example_passes_wrkh_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path, platform_answers_503=_example())
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 0, err


def test_the_example_has_a_platform_http_fault() -> None:
    example = yaml.safe_load(_example())
    calls = [f["apply"] for f in example["faults"] if f["kind"] == "http"]
    assert {"service": "platform", "method": "PUT", "path": "/admin/faults"}.items() <= (
        calls[0].items()
    )


def test_a_broken_example_would_fail_this_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _example().replace("fires: [ApiHigh5xxRate", "fires: [NoSuchAlert")
    folder = suite(tmp_path, platform_answers_503=broken)
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 2
    assert "NoSuchAlert" in err


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models(arg)


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    """Every field a scenario file can hold, by its YAML name, through nested models."""
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        yield field.alias or name
        for nested in _models(field.annotation):
            yield from _field_names(nested, seen)


def test_every_scenario_field_is_in_the_guide() -> None:
    text = GUIDE.read_text()
    missing = sorted({f for f in _field_names(Scenario, set()) if f"`{f}`" not in text})
    assert not missing, f"docs/scenarios.md does not document {missing}"
