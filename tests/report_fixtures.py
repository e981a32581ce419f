"""Realistic runs for report tests, built from the harness's own typed objects.

`build_run()` gives a RunResult shaped like a real one: a platform outage whose two alerts fire
(one late, so the run fails), a mitigation scenario, a healthy baseline with a dashboard panel
and an SLO table, and a series with no data. Its `to_json()` is what results.json holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.checks.results import Check, CheckWarning, PhaseTimes, ScenarioResult
from harness.checks.secrets import Secret
from harness.observe.series import CapturedSeries, SeriesPoints, SeriesSpec
from harness.report.results import RunResult
from harness.run.environment import run_secrets
from harness.spec.timescale import Timing
from harness.stack.target import Credentials, Target

T0 = 1_795_000_000.0  # a fixed moment: reports of the same run are byte-identical
TIMING = Timing.for_scale(60.0, 300.0)


@dataclass(frozen=True)
class AlertTimes:
    alert: str
    pending: float | None
    firing: float | None
    notified: float | None
    resolved: float | None
    budget: float
    floor: float


def phases(start: float, fault_s: float = 12.0, mitigation_at: float | None = None) -> PhaseTimes:
    """Warm-up 5 s, baseline 5 s, fault `fault_s`, recovery 6 s."""
    f0 = start + 10.0
    f1 = f0 + fault_s
    mitigation = None if mitigation_at is None else f0 + mitigation_at
    return PhaseTimes(start, start + 5.0, start + 10.0, f0, f1, f1 + 6.0, mitigation)


def alert_checks(scenario: str, t: AlertTimes, resolve_kind: str = "alert_resolves") -> list[Check]:
    fired_ok = t.firing is not None and t.firing <= t.budget
    common: dict[str, Any] = {
        "scenario": scenario,
        "alert": t.alert,
        "time_to_pending_s": t.pending,
        "time_to_firing_s": t.firing,
        "time_to_notification_s": t.notified,
        "time_to_resolved_s": t.resolved,
        "budget_s": t.budget,
        "floor_s": t.floor,
    }
    fires_msg = (
        f"{t.alert} fired {t.firing} s after the fault began, "
        f"{'within' if fired_ok else 'over'} its budget of {t.budget} s"
    )
    return [
        Check(f"{scenario}::alert_fires::{t.alert}", "alert_fires", passed=fired_ok,
              message=fires_msg, **common),
        Check(f"{scenario}::alert_delivered::{t.alert}", "alert_delivered",
              passed=t.notified is not None and t.notified <= t.budget,
              message=f"{t.alert} notified to receiver 'oncall' {t.notified} s after the fault",
              **common),
        Check(f"{scenario}::{resolve_kind}::{t.alert}", resolve_kind,
              passed=t.resolved is not None, message=f"{t.alert} resolved {t.resolved} s after",
              **common),
    ]  # fmt: skip


def ramp_series(
    key: str, title: str, p: PhaseTimes, threshold: float | None, kind: str
) -> CapturedSeries:
    """A signal that is low in the baseline and high during the fault, one point a second."""
    assert p.fault_start is not None and p.fault_end is not None
    points = []
    t = p.load_start
    while t <= p.end:
        high = p.fault_start + 1 <= t <= p.fault_end + 2
        points.append((t, 0.2 + 0.05 * math.sin(t) if high else 0.001))
        t += 1.0
    sets = (
        SeriesPoints({"job": "edge"}, tuple(points)),
        SeriesPoints({"job": "core"}, tuple((x, v / 2) for x, v in points)),
    )
    return CapturedSeries(SeriesSpec(key, title, "sum(rate(x[5s]))", kind, threshold),
                          p.load_start, p.end, 1.0, sets)  # fmt: skip


def outage(start: float) -> ScenarioResult:
    name = "wrk-platform-outage"
    p = phases(start, fault_s=22.0)
    fast = AlertTimes("ApiHigh5xxRate", 0.8, 5.8, 5.9, 4.7, 12.5, 5.0)
    late = AlertTimes("WrkPlatformFailureRate", 1.4, 19.0, 19.2, 4.1, 17.5, 10.0)
    checks = [
        Check(f"{name}::baseline_quiet", "baseline_quiet", name, True,
              "none of 15 alert(s) was pending or firing in the 5.0 s baseline"),
        *alert_checks(name, fast),
        *alert_checks(name, late),
        Check(f"{name}::slo_availability::studio-api-availability", "slo_availability", name,
              True, "studio-api-availability violated (expected violated): 79.1% available "
              "over the 11.7 s fault window", window="fault"),
    ]  # fmt: skip
    series = [
        ramp_series("ApiHigh5xxRate", "API 5xx rate above 1%", p, 0.01, "alert"),
        ramp_series("WrkPlatformFailureRate", "WRK Platform failures above 5%", p, 0.05, "alert"),
    ]
    return ScenarioResult(name, checks, p, None, series=series)


def mitigation(start: float) -> ScenarioResult:
    name = "mitigation-flag-off"
    p = phases(start, fault_s=20.0, mitigation_at=7.0)
    t = AlertTimes("ApiHigh5xxRate", 0.7, 5.6, 5.7, 4.0, 12.5, 5.0)
    checks = (
        alert_checks(name, t)[:2] + alert_checks(name, t, "alert_resolves_under_mitigation")[2:]
    )
    series = [ramp_series("ApiHigh5xxRate", "API 5xx rate above 1%", p, 0.01, "alert")]
    return ScenarioResult(name, checks, p, None, series=series)


def baseline(start: float) -> ScenarioResult:
    name = "healthy-baseline"
    p = PhaseTimes(start, start + 5.0, start + 15.0, None, None, start + 20.0)
    blip = CheckWarning(
        "pending_blip",
        'DbPoolSaturated{job="core"} pending at 1 evaluation(s) (from 5.20 s into the '
        "scenario, 08:00:15.200 UTC), held 0.00 s of its 5.00 s `for` (the baseline fails at "
        "2.50 s)",
        alert="DbPoolSaturated",
        at=start + 5.2,
        offset_s=5.2,
        duration_s=0.0,
    )
    checks = [
        Check(f"{name}::baseline_quiet", "baseline_quiet", name, True, "nothing fired",
              warnings=(blip,)),
        Check(f"{name}::slo_latency::studio-api-latency", "slo_latency", name, True,
              "studio-api-latency held: p95 212 ms over the 10.0 s baseline (objective 400 ms)"),
    ]  # fmt: skip
    panel = CapturedSeries(
        SeriesSpec("requests", "Requests per second by route", "sum by (route) (rate(r[5s]))",
                   "panel"),
        start, start + 20.0, 1.0,
        (SeriesPoints({"route": "/runs"}, tuple((start + i, 10.0 + i % 3) for i in range(21))),),
    )  # fmt: skip
    empty = CapturedSeries(SeriesSpec("queue", "Queue depth", "queue_depth", "panel"),
                           start, start + 20.0, 1.0, ())  # fmt: skip
    return ScenarioResult(name, checks, p, None, series=[panel, empty])


def build_run(run_id: str = "20261127T080000-4242") -> RunResult:
    run = RunResult(run_id, TIMING, "local", T0, cold_start_s=6.8, finished_at=T0 + 120.0)
    run.scenarios = [baseline(T0 + 10), outage(T0 + 40), mitigation(T0 + 80)]
    return run


def build_results(run_id: str = "20261127T080000-4242") -> dict[str, Any]:
    return build_run(run_id).to_json()


# -- a run holding every secret it knows, in every shape a report could copy it -------------

SECRET_TARGET = Target(
    name="local",
    edge_url="http://127.0.0.1:8080",
    prometheus_url="http://admin:prom-pa55word@127.0.0.1:9090",
    alertmanager_url="http://127.0.0.1:9093",
    toxiproxy_url="http://127.0.0.1:8474",
    services={"edge": "http://127.0.0.1:8080"},
    credentials=(
        Credentials("wrk_" + "a1" * 16, "tenant-0", "user-0"),
        Credentials("key+with/odd=chars&more", "tenant-1", "user-1"),  # percent-encodes apart
    ),
    database_url="postgresql://wrk:db-pa55word@127.0.0.1:5432/wrk",
    webhook_secret="whsec_" + "b2" * 20,
)
SECRET_CANARY = "wrk-canary-" + "c3" * 12
# Log windows an excerpt is cut from: only quiet lines (the excerpt copies the first ones), loud
# lines holding the secrets, loud lines beside quiet ones holding them, nothing logged, and no
# log files at all (the excerpt is then the tail of Locust's log).
WINDOW_SHAPES = ("quiet", "loud", "mixed", "empty", "no-logs")


def planted_secrets() -> tuple[Secret, ...]:
    return run_secrets(SECRET_TARGET, SECRET_CANARY)


def _log_line(t: float, level: str, **fields: object) -> str:
    stamp = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return json.dumps({"timestamp": stamp.replace("+00:00", "Z"), "level": level, **fields})


def plant_window(logs: Path, shape: str, start: float) -> None:
    """Log lines of one scenario's window in `logs` (one service per shape), every secret in
    every form it may take (`Secret.forms`), at the levels the shape says."""
    if shape in ("empty", "no-logs"):
        return
    out = logs / f"svc-{shape}.log"
    lines = []
    for i, secret in enumerate(planted_secrets()):
        t = start + 11 + i * 0.1
        level = "ERROR" if shape == "loud" else "INFO"
        for form in sorted(secret.forms()):
            lines.append(_log_line(t, level, message=f"auth with {form}", header=form))
        if shape == "mixed":
            lines.append(_log_line(t, "WARNING", message="platform call failed"))
    logs.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def planted_scenario(shape: str, start: float, run_dir: Path) -> ScenarioResult:
    """A scenario whose checks, series labels and Locust output copy every secret."""
    name = f"window-{shape}"
    p = phases(start)
    leaked = " ".join(f for s in planted_secrets() for f in sorted(s.forms()))
    checks = [
        Check(f"{name}::log_fields", "log_fields", name, False,
              f"expected every field; sample line: {{\"header\": \"{leaked}\"}}"),
        Check(f"{name}::baseline_quiet", "baseline_quiet", name, True, "nothing fired"),
    ]  # fmt: skip
    points = tuple((p.load_start + i, 1.0) for i in range(20))
    series = [
        CapturedSeries(
            SeriesSpec("leaky", f"label {leaked}", f'sum(x{{k="{leaked}"}})', "panel"),
            p.load_start, p.end, 1.0, (SeriesPoints({"authorization": leaked}, points),),
        )
    ]  # fmt: skip
    locust = run_dir / name
    locust.mkdir(parents=True, exist_ok=True)
    (locust / "locust.log").write_text(f"[WARNING] request failed: 401 for key {leaked}\n")
    (locust / "locust_failures.csv").write_text(f'Method,Name,Error\nGET,/v1,"{leaked}"\n')
    return ScenarioResult(name, checks, p, None, series=series)


def planted_run(run_id: str, run_dir: Path) -> RunResult:
    run = RunResult(run_id, TIMING, "local", T0, cold_start_s=6.8, finished_at=T0 + 300.0)
    leaked = " ".join(s.value for s in planted_secrets())
    run.scenarios = [
        planted_scenario(shape, T0 + 50 * i, run_dir) for i, shape in enumerate(WINDOW_SHAPES)
    ]
    run.errors = [f"fault top-client answered 500: {leaked}"]
    return run
