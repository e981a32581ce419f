"""One conformance run: catalogue, scenarios, the stack it starts, results.

The parts between the stack and the runner are wired by `harness.run.environment`, which
also tears down everything the run started (in reverse, each step guarded so one failure
cannot leak the rest). The pytest plugin and the CLI both drive this object.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.checks.buckets import latency_thresholds
from harness.checks.coverage import coverage
from harness.checks.evidence import EvidenceSources
from harness.checks.results import ScenarioResult
from harness.checks.secrets import Masker
from harness.contract.check_alerting import live_drift
from harness.contract.levers import Lever, load_levers
from harness.contract.preflight import Expectations, PreflightFailed, run_preflight, write_report
from harness.errors import ComponentDied, ConfigError, HarnessError, Problem, ReportError
from harness.observe.logs import LogStore
from harness.observe.prometheus import PrometheusClient
from harness.observe.receiver import NotificationReceiver
from harness.observe.traces import SpanStore
from harness.report.results import RunResult, new_run_id, summary_lines, write_results
from harness.report.revision import current_revision
from harness.run.environment import RunEnvironment
from harness.run.isolation import SeriesReset
from harness.run.observers import Observers
from harness.run.plan import build_plan
from harness.run.progress import LiveProgress
from harness.sandbox.start import make_stack, stack_proxies
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.discovery import scenario_files
from harness.spec.feasibility import (
    COMMAND_LINE,
    checked_timing,
    proxy_problems,
    selection_problems,
    timing_or_problem,
    timing_problems,
)
from harness.spec.files import FILE_FIELD, display_path
from harness.spec.rules import render_alertmanager_config, render_rules
from harness.spec.scenario import Scenario, read_scenarios
from harness.spec.timescale import DEFAULT_TIME_SCALE
from harness.stack.base import Stack
from harness.stack.signals import TRAP
from harness.stack.target import Target

__all__ = [
    "ConformanceSession",
    "RunOptions",
]


@dataclass(frozen=True)
class RunOptions:
    catalog_dir: Path
    reports_dir: Path
    time_scale: float | None = None
    target: str = "local"
    without_faults: bool = False
    fake_env: tuple[tuple[str, str], ...] = ()  # extra environment for every fake service
    run_id: str = field(default_factory=new_run_id)
    load_workers: int = 0  # > 0: Locust distributed mode, a master and this many workers
    preflight_stops: bool = True  # a gap blocking a chosen scenario stops the run

    @property
    def conditions(self) -> dict[str, object]:
        """What changes verdicts on purpose (harness.report.revision hashes it)."""
        return {
            "without_faults": self.without_faults,
            "fake_env": sorted(self.fake_env),
            "load_workers": self.load_workers,
        }


TIME_SCALE = "time scale"


def _scale(options: RunOptions) -> float:
    return DEFAULT_TIME_SCALE if options.time_scale is None else options.time_scale


class ConformanceSession:
    """Validated inputs first (`prepare`), infrastructure only on `start`."""

    def __init__(
        self,
        options: RunOptions,
        catalog: Catalog,
        scenarios: dict[Path, Scenario],
        progress: Callable[[str], None] | None = None,  # default: live progress on stderr
        levers: tuple[Lever, ...] = (),
    ) -> None:
        self.options, self.catalog, self.scenarios = options, catalog, scenarios
        self.levers = levers
        self.selected: frozenset[str] | None = None  # scenario names to run (None: all)
        self.progress = progress if progress is not None else LiveProgress()
        self.timing = checked_timing(catalog, _scale(options), COMMAND_LINE, TIME_SCALE)
        self.result = RunResult(options.run_id, self.timing, options.target, time.time())
        self.result.revision = current_revision(options.catalog_dir.parent, options.conditions)
        self.results_path: Path | None = None
        self.report_error: str | None = None  # the reports could not be written: why
        self.stopped: HarnessError | None = None  # what ended the run early, if anything did
        self._attempted = False  # start() was called: from then on the run writes reports
        self._closed = False
        live = self.progress if isinstance(self.progress, LiveProgress) else None
        self._env = RunEnvironment[NotificationReceiver](
            self.timing, self.run_dir, self.progress, live
        )
        self._ran: set[Path] = set()

    @classmethod
    def prepare(
        cls, options: RunOptions, scenario_files: list[Path], selected: Sequence[str] = ()
    ) -> ConformanceSession:
        """Load and validate the catalogue and every scenario, and check that they can run on
        the target at the time scale and that `selected` names some of them; raises
        ConfigError with every problem (the reports folder is checked by the CLI and the
        plugin, which know the option's name)."""
        catalog = load_catalog(options.catalog_dir)
        scenarios, problems = read_scenarios(scenario_files, catalog)
        if not problems:  # a name may be that of a file that did not load
            problems = selection_problems(selected, [s.name for s in scenarios.values()])
        timing, more = timing_or_problem(catalog, _scale(options), COMMAND_LINE, TIME_SCALE)
        problems = more + problems
        uses_proxies = any(s.proxies for s in scenarios.values())
        proxies = stack_proxies(options.target) if uses_proxies else None
        for path, scenario in scenarios.items():
            file = display_path(path)
            if timing is not None:
                problems += timing_problems(file, scenario, timing)
            if proxies is not None:
                problems += proxy_problems(file, scenario, proxies, f"the {options.target} target")
        if problems:
            raise ConfigError(problems)
        session = cls(options, catalog, scenarios, levers=load_levers(options.catalog_dir))
        session.selected = frozenset(selected) or None
        return session

    @classmethod
    def prepare_suite(cls, options: RunOptions, selected: Sequence[str] = ()) -> ConformanceSession:
        """`prepare` for every scenario file beside the catalogue; none is a problem too (a
        run would have nothing to run)."""
        folder = options.catalog_dir.parent
        files = scenario_files(folder) if folder.is_dir() else []
        if not files:
            reason = "no scenario file (*.yaml beside catalog/): nothing to run"
            raise ConfigError([Problem(str(folder), FILE_FIELD, reason)])
        return cls.prepare(options, files, selected)

    @property
    def started(self) -> bool:
        return self._env.runner is not None

    @property
    def attempted(self) -> bool:
        """Start was called: the run writes its reports, whatever happens next."""
        return self._attempted

    @property
    def target(self) -> Target | None:
        """The system under test, once started."""
        return self._env.target

    @property
    def observers(self) -> Observers | None:
        """Prometheus, alert watcher, receiver, faults and evidence, once started."""
        return self._env.observers

    @property
    def run_dir(self) -> Path:
        return self.options.reports_dir / self.options.run_id

    def scenario_name(self, path: Path) -> str:
        return self.scenarios[path].name

    def start(self) -> None:
        """Start the stack and the runner. A start that fails ends the run: what was started
        is torn down at once, the reports (at `close`) say why, and calling again raises the
        same error."""
        if self.stopped is not None:
            raise self.stopped
        self._attempted = True
        try:
            self._start()
        except HarnessError as exc:
            self.stopped = exc
            self.result.errors.append(f"the run could not start: {exc}")
            self._teardown()
            raise
        except KeyboardInterrupt as exc:
            self.result.errors.append(f"interrupted while the stack started ({exc})")
            self._teardown()
            raise

    def _start(self) -> None:
        env = self._env
        receiver = NotificationReceiver().start()
        env.defer(receiver.stop)
        stack_dir = self.run_dir / "stack"
        stack_dir.mkdir(parents=True, exist_ok=True)
        rules = stack_dir / "rules.yml"
        rules.write_text(render_rules(self.catalog, self.timing))
        am_config = stack_dir / "alertmanager.yml"
        am_config.write_text(
            render_alertmanager_config(self.catalog, receiver.base_url, self.timing)
        )
        self.progress(
            f"starting the {self.options.target} stack (time scale {self.timing.time_scale:g})"
        )
        stack = self._stack(stack_dir, am_config, rules)
        env.defer(stack.stop)
        target = stack.start()
        stack.watch(env.tripwire.trip)
        self.result.cold_start_s = target.cold_start_s
        self.progress(f"stack ready in {target.cold_start_s or 0:.1f} s")
        # Prometheus' first scrape (~5 s after its start) overlaps the preflight's other checks.
        self._preflight(target, stack.await_scraped)
        stack.await_scraped()  # no scenario before every service was scraped
        prometheus, _ = env.connect(target)
        evidence = self._evidence_sources(target, prometheus)
        # Only a Prometheus the harness started has its admin API (see run/isolation.py).
        reset = SeriesReset.of(prometheus, self.catalog.series_contract())
        env.start_runner(
            receiver, evidence=evidence, reset=reset if target.admin_prometheus else None
        )

    def _stack(self, stack_dir: Path, am_config: Path, rules: Path) -> Stack:
        """The stack the run's target names: local processes (default) or docker-compose.yml."""
        o = self.options
        return make_stack(
            o.target,
            stack_dir,
            self.timing,
            alertmanager_config=am_config,
            rules=rules,
            run_id=o.run_id,
            fake_env=dict(o.fake_env),
            scraped_at_start=False,
        )

    def _preflight(self, target: Target, scraped: Callable[[], object]) -> None:
        """The contract checked before any scenario; gaps blocking a chosen one stop the run."""
        scenarios = list(self.scenarios.values())
        expect = Expectations.of(self.catalog, scenarios, self.levers, self.timing)
        report = run_preflight(target, expect, scraped=scraped)
        write_report(report, self.run_dir)
        chosen = self.selected or frozenset(s.name for s in scenarios)
        blocking = report.blocking(chosen)
        self.progress(f"preflight: {len(blocking)} blocking gap(s) in {report.duration_s:.1f} s")
        if blocking and self.options.preflight_stops:
            raise PreflightFailed(report, sorted(chosen))
        for line in report.lines(chosen)[1:] if blocking else ():
            self.progress(f"preflight (run goes on, --preflight warn): {line.strip()}")

    def _evidence_sources(self, target: Target, prometheus: PrometheusClient) -> EvidenceSources:
        return EvidenceSources(
            logs=LogStore(target.log_dir) if target.log_dir else None,
            spans=SpanStore(target.span_dir) if target.span_dir else None,
            query=prometheus.query,
            metrics=self.catalog.metrics,
            jobs=set(target.services),
            secrets=self._env.secrets,
            latency_thresholds=latency_thresholds(self.catalog.slos, self.catalog.alerts),
            drift=functools.partial(
                live_drift, self.catalog, prometheus, target.alertmanager_url, self.timing
            ),
            signatures=self._env.sent_signatures,
        )

    def run_file(self, path: Path) -> ScenarioResult:
        runner = self._env.runner
        if runner is None:
            raise HarnessError("the session has not been started")
        scenario = self.scenarios[path]
        plan = build_plan(scenario, self.catalog, self.timing, self.options.without_faults)
        if self.options.load_workers:
            load = dataclasses.replace(plan.load, workers=self.options.load_workers)
            plan = dataclasses.replace(plan, load=load)
        self.progress(f"scenario {scenario.name}")
        try:
            result = runner.run(plan)
        except HarnessError as exc:  # an error verdict of the run, never a pass
            self.result.errors.append(f"scenario {scenario.name} could not run: {exc}")
            if isinstance(exc, ComponentDied):
                self.stopped = exc
            raise
        except KeyboardInterrupt as exc:
            self.result.errors.append(f"scenario {scenario.name} interrupted ({exc})")
            raise
        self.result.scenarios.append(result)
        self._ran.add(path.resolve())
        return result

    def close(self) -> None:
        """Tear down everything started, newest first, then write the reports of a run that
        started (errors included); no signal cuts it short. Idempotent."""
        if self._closed:
            return
        with TRAP.shielded():
            self._teardown()
            death = self._env.tripwire.error
            if death is not None and self.stopped is None:  # died after the last scenario
                self.result.errors.append(str(death))
            if self._attempted:
                self._write_reports()
            self._closed = True

    def _teardown(self) -> None:
        """Stop everything started, newest first; again, nothing is left to stop."""
        with TRAP.shielded():
            self.result.errors += self._env.close()

    def _write_reports(self) -> None:
        self.result.coverage = coverage(self.catalog.alert_names, self.result.scenarios)
        suite = set(scenario_files(self.options.catalog_dir.parent))
        self.result.coverage_gated = suite <= self._ran
        self.result.finished_at = time.time()
        try:
            self.results_path = write_results(
                self.result, self.options.reports_dir, self._env.masker
            )
        except ReportError as exc:
            self.report_error = str(exc)

    @property
    def passed(self) -> bool:
        """Every check passed, none errored, and the reports were written."""
        return self.result.passed and self.report_error is None

    def summary_lines(self) -> list[str]:
        """The run in one screen (secrets masked): verdict, every check, errors, where the
        reports are."""
        lines = summary_lines(self.result, self.results_path, self.report_error)
        return [self._env.masker.text(line) for line in lines]

    @property
    def masker(self) -> Masker:
        """Hides every secret the run knows (none before the stack is up)."""
        return self._env.masker

    def mask(self, text: str) -> str:
        """`text` with every secret the run knows masked."""
        return self._env.masker.text(text)
