"""Scenario files as pytest items: each file one item, all of them validated together at
collection (a bad file stops the run with every problem listed), and a selection that
leaves no scenario refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import ConfigError, HarnessError
from harness.pytest_plugin.options import run_options
from harness.pytest_plugin.reporting import record_allure
from harness.pytest_plugin.state import (
    REJECTED,
    SESSION,
    reject,
    runs_scenarios,
    scenario_dirs,
    started_session,
)
from harness.spec.discovery import SCENARIO_SUFFIXES, find_catalog_dir, scenario_files

if TYPE_CHECKING:
    from harness.checks.results import ScenarioResult

__all__ = [
    "ScenarioFailed",
    "ScenarioFile",
    "ScenarioItem",
    "pytest_collect_file",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in SCENARIO_SUFFIXES and find_catalog_dir(file_path) is not None:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    """One scenario: passes when every check it states passed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(pytest.mark.conformance)
        self.result: ScenarioResult | None = None

    def runtest(self) -> None:
        session = self.config.stash[SESSION]
        try:
            started_session(self.config)
            self.result = session.run_file(self.path)
        finally:
            if session.stopped is not None:  # the stack is gone: no later scenario can run
                self.session.shouldstop = f"the run stopped: {session.mask(str(session.stopped))}"
        record_allure(self.config, session, self.result)
        if not self.result.passed:
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            text = excinfo.value.describe()
        elif isinstance(excinfo.value, HarnessError):
            text = f"scenario {self.name} could not run: {excinfo.value}"
        else:
            text = str(super().repr_failure(excinfo))
        session = self.config.stash.get(SESSION, None)
        return session.mask(text) if session is not None else text

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name}"


class ScenarioFailed(Exception):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.scenario)
        self.result = result

    def describe(self) -> str:
        failed = [c for c in self.result.checks if not c.passed]
        lines = [f"scenario {self.result.scenario}: {len(failed)} check(s) failed"]
        lines += [
            f"  FAIL {c.kind}{f' [{c.alert}]' if c.alert else ''}: {c.message}" for c in failed
        ]
        return "\n".join(lines)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Validate every collected scenario file at once (and every file pytest cannot collect,
    such as a dangling link), then apply --wrk-scenario; any problem stops the run here."""
    scenario_items = [i for i in items if isinstance(i, ScenarioItem)]
    unreadable = [p for d in scenario_dirs(config) for p in scenario_files(d) if not p.is_file()]
    if not scenario_items and not unreadable:
        return
    from harness.run.session import ConformanceSession

    catalog = find_catalog_dir(scenario_items[0].path) if scenario_items else None
    options = run_options(config, catalog or unreadable[0].parent / "catalog")
    wanted = config.getoption("wrk_scenario")
    paths = [*(i.path for i in scenario_items), *unreadable]
    try:
        conformance = ConformanceSession.prepare(options, paths, selected=wanted)
    except ConfigError as exc:
        reject(config, str(exc))
    config.stash[SESSION] = conformance
    if wanted:
        keep = [
            i
            for i in items
            if not isinstance(i, ScenarioItem) or conformance.scenario_name(i.path) in wanted
        ]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """A conformance run whose selection (-k, -m, --wrk-scenario) leaves no scenario would
    pass on nothing: refuse it."""
    config = session.config
    if config.stash.get(REJECTED, False):  # runs even when collection failed: say it once
        return
    if runs_scenarios(config) and not any(isinstance(i, ScenarioItem) for i in session.items):
        reject(
            config,
            "nothing to run: no scenario is selected (no scenario file, or every one was "
            "deselected); a conformance run that runs no scenario proves nothing",
        )
