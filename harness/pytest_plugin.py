"""pytest plugin: `pytest scenarios/` runs the conformance suite.

Each scenario file in a folder that has a `catalog/` beside it becomes one test item. All
scenario files are validated together before anything starts (a bad file stops the run with
every problem listed). The stack starts once, on the first scenario, and is torn down at the
end of the session whatever happens; SIGTERM is turned into pytest's own interrupt so the
same teardown runs.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from harness.errors import ConfigError, HarnessError
from harness.spec.discovery import SCENARIO_SUFFIXES, find_catalog_dir, scenario_files

__all__ = [
    "ScenarioFailed",
    "ScenarioFile",
    "ScenarioItem",
    "wrk_alerts",
    "wrk_faults",
    "wrk_logs",
    "wrk_prometheus",
    "wrk_session",
    "wrk_target",
    "wrk_traces",
]

if TYPE_CHECKING:  # the session pulls in the whole harness: import it only when running
    from harness.checks.results import ScenarioResult
    from harness.observe.logs import LogStore
    from harness.observe.prometheus import PrometheusClient
    from harness.observe.receiver import NotificationReceiver
    from harness.observe.traces import SpanStore
    from harness.report.allure_guard import AllureWriteGuard
    from harness.run.faults import FaultInjector
    from harness.run.runner import Observers
    from harness.run.session import ConformanceSession, RunOptions
    from harness.stack.target import Target

_SESSION = pytest.StashKey["ConformanceSession"]()
_RUN_ID = pytest.StashKey[str]()
_OWN_ALLURE_DIR = pytest.StashKey[Path]()
_REJECTED = pytest.StashKey[bool]()
_ALLURE_GUARD: pytest.StashKey[AllureWriteGuard] = pytest.StashKey()
ALLURE_DIR = "allure-results"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wrk", "WRK Copilot conformance harness")
    group.addoption(
        "--wrk-target",
        default="local",
        choices=["local", "compose"],
        help="system under test: local (embedded stack of fakes) or compose "
        "(docker-compose.yml through the Docker SDK; needs a Docker engine)",
    )
    group.addoption(
        "--wrk-load-workers",
        type=int,
        default=0,
        metavar="N",
        help="Locust distributed mode: a master and N local worker processes (default: one)",
    )
    group.addoption(
        "--wrk-time-scale",
        type=float,
        default=None,
        help="compress the catalogue's durations by this factor (default 60)",
    )
    group.addoption("--wrk-report-dir", default="reports", help="where reports are written")
    group.addoption(
        "--wrk-scenario",
        action="append",
        default=[],
        help="run only the scenario(s) with this name (repeatable)",
    )
    group.addoption(
        "--wrk-fake-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every fake service of the local target (repeatable)",
    )
    group.addoption(
        "--wrk-preflight",
        choices=["stop", "warn"],
        default="stop",
        help="a preflight gap blocking a chosen scenario stops the run (default) or only warns",
    )
    group.addoption(
        "--wrk-run-id",
        default=None,
        help="name of the run and its report folder (default: UTC start time and process id)",
    )
    group.addoption(
        "--wrk-without-faults",
        action="store_true",
        help="run scenarios with their faults left out (proves checks can fail)",
    )


@pytest.hookimpl(tryfirst=True)  # before allure-pytest's own pytest_configure reads --alluredir
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a scenario of the conformance suite")
    if _runs_scenarios(config) and not config.option.collectonly:
        from harness.report.output import check_reports_dir

        reports = Path(config.getoption("wrk_report_dir")).resolve()
        try:  # before allure-pytest creates its folder there
            check_reports_dir(reports, "--wrk-report-dir")
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        run_id = config.stash[_RUN_ID] = _run_id(config)
        if getattr(config.option, "allure_report_dir", "") is None:  # not given by the user
            config.option.allure_report_dir = str(reports / run_id / ALLURE_DIR)
            config.stash[_OWN_ALLURE_DIR] = reports / run_id / ALLURE_DIR
        _guard_allure(config)


def _guard_allure(config: pytest.Config) -> None:
    """allure-pytest's writes failing (a full disk) become run errors (see AllureWriteGuard)."""
    if config.pluginmanager.hasplugin("allure_pytest"):
        import allure_commons

        from harness.report.allure_guard import AllureWriteGuard

        guard = config.stash[_ALLURE_GUARD] = AllureWriteGuard()
        allure_commons.plugin_manager.register(guard)
        config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(guard))


def _run_id(config: pytest.Config) -> str:
    """The given run id, checked (it names a folder), or a new one."""
    from harness.report.results import RESERVED_NAMES, RUN_ID_PATTERN, new_run_id

    given: str | None = config.getoption("wrk_run_id")
    if given is None:
        return new_run_id()
    if given in RESERVED_NAMES:
        raise pytest.UsageError(f"--wrk-run-id {given!r}: that name is taken in the report folder")
    if not RUN_ID_PATTERN.fullmatch(given):
        raise pytest.UsageError(
            f"--wrk-run-id {given!r}: letters, digits, '.', '_' and '-' only, starting with a "
            "letter or digit"
        )
    if (Path(config.getoption("wrk_report_dir")) / given).exists():
        raise pytest.UsageError(f"--wrk-run-id {given!r}: a run of that id already has reports")
    return given


def _discard_own_allure_dir(config: pytest.Config) -> None:
    """A run rejected before it started leaves no run folder: remove what allure-pytest made."""
    own = config.stash.get(_OWN_ALLURE_DIR, None)
    for folder in (own, own.parent) if own is not None else ():
        with contextlib.suppress(OSError):  # not empty or already gone: leave it
            folder.rmdir()


def _reject(config: pytest.Config, message: str) -> NoReturn:
    """Stop a run before anything started: no run folder, no session, pytest's usage error."""
    _discard_own_allure_dir(config)
    with contextlib.suppress(KeyError):
        del config.stash[_SESSION]
    config.stash[_REJECTED] = True
    raise pytest.UsageError(message)


def _args(config: pytest.Config) -> list[Path]:
    return [Path(arg.split("::")[0]) for arg in config.args]


def _scenario_dirs(config: pytest.Config) -> list[Path]:
    """Scenarios folders (a `catalog/` beside the files) the command line names."""
    return [p for p in _args(config) if p.is_dir() and (p / "catalog" / "alerts.yaml").is_file()]


def _runs_scenarios(config: pytest.Config) -> bool:
    """The command line names a scenarios folder or scenario file (collection comes later)."""
    return bool(_scenario_dirs(config)) or any(
        p.is_file() and p.suffix in SCENARIO_SUFFIXES and find_catalog_dir(p) for p in _args(config)
    )


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
        session = self.config.stash[_SESSION]
        try:
            _conformance(self.config)
            self.result = session.run_file(self.path)
        finally:
            if session.stopped is not None:  # the stack is gone: no later scenario can run
                self.session.shouldstop = f"the run stopped: {session.mask(str(session.stopped))}"
        _record_allure(self.config, session, self.result)
        if not self.result.passed:
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            text = excinfo.value.describe()
        elif isinstance(excinfo.value, HarnessError):
            text = f"scenario {self.name} could not run: {excinfo.value}"
        else:
            text = str(super().repr_failure(excinfo))
        session = self.config.stash.get(_SESSION, None)
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
    unreadable = [p for d in _scenario_dirs(config) for p in scenario_files(d) if not p.is_file()]
    if not scenario_items and not unreadable:
        return
    from harness.run.session import ConformanceSession

    catalog = find_catalog_dir(scenario_items[0].path) if scenario_items else None
    options = _options(config, catalog or unreadable[0].parent / "catalog")
    wanted = config.getoption("wrk_scenario")
    paths = [*(i.path for i in scenario_items), *unreadable]
    try:
        conformance = ConformanceSession.prepare(options, paths, selected=wanted)
    except ConfigError as exc:
        _reject(config, str(exc))
    config.stash[_SESSION] = conformance
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
    if config.stash.get(_REJECTED, False):  # runs even when collection failed: say it once
        return
    if _runs_scenarios(config) and not any(isinstance(i, ScenarioItem) for i in session.items):
        _reject(
            config,
            "nothing to run: no scenario is selected (no scenario file, or every one was "
            "deselected); a conformance run that runs no scenario proves nothing",
        )


def _options(config: pytest.Config, catalog: Path) -> RunOptions:
    from harness.report.results import new_run_id
    from harness.run.session import RunOptions

    return RunOptions(
        catalog_dir=catalog,
        reports_dir=Path(config.getoption("wrk_report_dir")).resolve(),
        time_scale=config.getoption("wrk_time_scale"),
        target=config.getoption("wrk_target"),
        without_faults=config.getoption("wrk_without_faults"),
        fake_env=tuple(_key_value(kv) for kv in config.getoption("wrk_fake_env")),
        load_workers=config.getoption("wrk_load_workers"),
        preflight_stops=config.getoption("wrk_preflight") == "stop",
        run_id=config.stash.setdefault(_RUN_ID, new_run_id()),
    )


def _record_allure(
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


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise pytest.UsageError(f"--wrk-fake-env expects KEY=VALUE, got {text!r}")
    return key, value


def _conformance(config: pytest.Config) -> ConformanceSession:
    from harness.contract.preflight import PreflightFailed

    session = config.stash[_SESSION]
    if not session.started:
        _install_sigterm()
        try:
            session.start()
        except PreflightFailed as exc:  # no scenario can run: say why once and stop
            pytest.exit(str(exc), returncode=pytest.ExitCode.TESTS_FAILED)
    return session


def _install_sigterm() -> None:
    """SIGTERM takes pytest's interrupt path, so session teardown runs as for Ctrl-C."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tear down and write the reports; a run that started and did not pass (a run error,
    reports that could not be written) never exits 0."""
    conformance = session.config.stash.get(_SESSION, None)
    if conformance is None:
        return
    guard = session.config.stash.get(_ALLURE_GUARD, None)
    if guard is not None and conformance.attempted:
        conformance.result.errors += guard.errors()
    conformance.close()
    stopped = conformance.stopped is not None and session.exitstatus == pytest.ExitCode.INTERRUPTED
    failed = conformance.attempted and not conformance.passed and session.exitstatus == 0
    if stopped or failed:  # a dead component is no Ctrl-C (nor bad input: exit 2)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    conformance = config.stash.get(_SESSION, None)
    if conformance is None or not conformance.attempted:
        _discard_own_allure_dir(config)  # nothing started: no run folder stays behind


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    conformance = config.stash.get(_SESSION, None)
    if conformance is None or not conformance.attempted:
        return
    for line in conformance.summary_lines():
        terminalreporter.write_line(line)


# -- fixtures for custom checks -------------------------------------------------------------


@pytest.fixture(scope="session")
def wrk_session(pytestconfig: pytest.Config) -> ConformanceSession:
    """The started conformance session (stack, observers, faults) shared by the whole run."""
    if _SESSION not in pytestconfig.stash:
        raise pytest.UsageError("wrk fixtures need scenario files collected in the same run")
    return _conformance(pytestconfig)


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
