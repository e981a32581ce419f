"""Fixtures for custom checks: a test module beside the scenarios reaches the running
session, its target and its observers through these."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from harness.pytest_plugin.state import SESSION, started_session

if TYPE_CHECKING:
    from harness.observe.logs import LogStore
    from harness.observe.prometheus import PrometheusClient
    from harness.observe.receiver import NotificationReceiver
    from harness.observe.traces import SpanStore
    from harness.run.faults import FaultInjector
    from harness.run.observers import Observers
    from harness.run.session import ConformanceSession
    from harness.stack.target import Target

__all__ = [
    "wrk_alerts",
    "wrk_faults",
    "wrk_logs",
    "wrk_prometheus",
    "wrk_session",
    "wrk_target",
    "wrk_traces",
]


@pytest.fixture(scope="session")
def wrk_session(pytestconfig: pytest.Config) -> ConformanceSession:
    """The started conformance session (stack, observers, faults) shared by the whole run."""
    if SESSION not in pytestconfig.stash:
        raise pytest.UsageError("wrk fixtures need scenario files collected in the same run")
    return started_session(pytestconfig)


def _observers(session: ConformanceSession) -> Observers:
    if session.observers is None:
        raise pytest.UsageError("the conformance session is not running")
    return session.observers


@pytest.fixture(scope="session")
def wrk_target(wrk_session: ConformanceSession) -> Target:
    """Addresses of the system under test (edge, services, Prometheus, Alertmanager, ...)."""
    assert wrk_session.target is not None
    return wrk_session.target


@pytest.fixture(scope="session")
def wrk_prometheus(wrk_session: ConformanceSession) -> PrometheusClient:
    """Queries, alert states and the ALERTS history of the run's Prometheus."""
    return _observers(wrk_session).prometheus


@pytest.fixture(scope="session")
def wrk_alerts(wrk_session: ConformanceSession) -> NotificationReceiver:
    """Every notification Alertmanager delivered, with its receiver and arrival time."""
    return _observers(wrk_session).receiver


@pytest.fixture
def wrk_faults(wrk_session: ConformanceSession) -> Iterator[FaultInjector]:
    """Apply faults in a custom check; every one is rolled back when the test ends."""
    injector = _observers(wrk_session).faults
    with injector.session():
        yield injector


@pytest.fixture(scope="session")
def wrk_logs(wrk_session: ConformanceSession) -> LogStore:
    """The services' JSON log lines (local target)."""
    evidence = _observers(wrk_session).evidence
    if evidence is None or evidence.logs is None:
        pytest.skip("the target exposes no log files")
    return evidence.logs


@pytest.fixture(scope="session")
def wrk_traces(wrk_session: ConformanceSession) -> SpanStore:
    """The services' spans (local target)."""
    evidence = _observers(wrk_session).evidence
    if evidence is None or evidence.spans is None:
        pytest.skip("the target exposes no span files")
    return evidence.spans
