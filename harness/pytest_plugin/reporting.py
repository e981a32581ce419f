"""The end of a run: Allure steps for each scenario, teardown and reports at session finish,
the exit status a run that did not pass must not hide, and the terminal summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.pytest_plugin.state import ALLURE_GUARD, SESSION, discard_own_allure_dir

if TYPE_CHECKING:
    from harness.checks.results import ScenarioResult
    from harness.run.session import ConformanceSession

__all__ = [
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "record_allure",
]


def record_allure(
    config: pytest.Config, session: ConformanceSession, result: ScenarioResult
) -> None:
    """Steps, attachments and labels of the scenario in its Allure result (when --alluredir)."""
    listener = config.pluginmanager.get_plugin("allure_listener")
    if listener is None:
        return
    from harness.report.allure_steps import record_scenario, scenario_evidence

    try:
        evidence_sources = session.observers.evidence if session.observers else None
        logs = evidence_sources.logs if evidence_sources else None
        evidence = scenario_evidence(session.catalog, session.timing, result, logs, session.run_dir)
        record_scenario(listener.allure_logger, result, evidence, session.masker)
    except Exception as exc:  # the verdicts stand; a reporting bug is a run error, not a crash
        session.result.errors.append(f"allure results of {result.scenario} failed: {exc}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tear down and write the reports; a run that started and did not pass (a run error,
    reports that could not be written) never exits 0."""
    conformance = session.config.stash.get(SESSION, None)
    if conformance is None:
        return
    guard = session.config.stash.get(ALLURE_GUARD, None)
    if guard is not None and conformance.attempted:
        conformance.result.errors += guard.errors()
    conformance.close()
    stopped = conformance.stopped is not None and session.exitstatus == pytest.ExitCode.INTERRUPTED
    failed = conformance.attempted and not conformance.passed and session.exitstatus == 0
    if stopped or failed:  # a dead component is no Ctrl-C (nor bad input: exit 2)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    conformance = config.stash.get(SESSION, None)
    if conformance is None or not conformance.attempted:
        discard_own_allure_dir(config)  # nothing started: no run folder stays behind


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    conformance = config.stash.get(SESSION, None)
    if conformance is None or not conformance.attempted:
        return
    for line in conformance.summary_lines():
        terminalreporter.write_line(line)
