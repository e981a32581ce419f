"""One run's composition root: what a scenario runner needs, and the stack that tears it down.

A conformance run (`harness.run.session`) and a game day (`harness.gameday.run`) differ in
what they own of the target (a stack started here, or a deployment given by URLs) and in
where deliveries are read (the harness's own webhook receiver, or Alertmanager's API); the
parts between the target and the runner are the same, so they are wired once, here:
Prometheus client and alert watcher, Toxiproxy, the load's identity, the fault injector,
the observers and the runner. As Locust's `Environment`, it holds one runner and refuses a
second.

Everything started is registered as a cleanup step (`defer`) when it starts; `close` runs
the steps newest first, each guarded, so one failing step cannot leak the rest.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from harness.checks.evidence import EvidenceSources
from harness.checks.secrets import Masker, Secret
from harness.errors import ComponentDied, FaultError, HarnessError
from harness.load.runner import LoadIdentity
from harness.observe.alert_watch import AlertWatcher
from harness.observe.prometheus import PrometheusClient
from harness.run.faults import FaultContext, FaultInjector
from harness.run.observers import DeliveryLog, Observers
from harness.run.progress import LiveProgress
from harness.run.runner import Progress, ScenarioRunner
from harness.run.toxiproxy import ToxiproxyAPI
from harness.run.tripwire import Tripwire
from harness.spec.timescale import Timing
from harness.stack.target import Target

log = logging.getLogger("harness.run")
Deliveries = TypeVar("Deliveries", bound=DeliveryLog)


class RunEnvironment(Generic[Deliveries]):
    """Connect to a target's backends (`connect`), then build the runner (`start_runner`)."""

    def __init__(
        self,
        timing: Timing,
        out_dir: Path,
        progress: Progress,
        live: LiveProgress | None = None,  # shows the expected alerts' states while running
    ) -> None:
        self.timing, self.out_dir, self.progress, self.live = timing, out_dir, progress, live
        self._cleanups: list[Callable[[], None]] = []
        self.target: Target | None = None
        self.prometheus: PrometheusClient | None = None
        self.toxiproxy: ToxiproxyAPI | None = None
        self.identity: LoadIdentity | None = None
        self.observers: Observers[Deliveries] | None = None
        self.runner: ScenarioRunner | None = None
        self.secrets: tuple[Secret, ...] = ()  # every secret the run knows, once connected
        self.masker = Masker()  # hides them in whatever a report copies
        self.tripwire = Tripwire()  # tripped by the stack when one of its processes dies
        self.tripwire.on_trip(self._died)

    def sent_signatures(self) -> frozenset[str]:
        """The webhook signatures (hex digests) the run's load has sent so far."""
        path = self.identity.signatures_file if self.identity is not None else None
        try:
            text = path.read_text() if path is not None else ""
        except FileNotFoundError:
            return frozenset()  # the load signed nothing
        except OSError as exc:
            raise HarnessError(f"cannot read the signatures the load sent: {exc}") from exc
        return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())

    def defer(self, step: Callable[[], None]) -> None:
        """Run `step` at `close`, before every step deferred earlier."""
        self._cleanups.append(step)

    def connect(self, target: Target) -> tuple[PrometheusClient, ToxiproxyAPI]:
        """Clients of the target's Prometheus and Toxiproxy, and the load's identity (its API
        key and a payload canary no log may contain); nothing is started yet."""
        self.target = target
        self.prometheus = PrometheusClient(target.prometheus_url)
        self.toxiproxy = ToxiproxyAPI(target.toxiproxy_url)
        self.defer(self.toxiproxy.close)
        canary = f"wrk-canary-{secrets.token_hex(12)}"
        keys = [c.api_key for c in target.credentials]
        sent = Path(tempfile.mkdtemp(prefix="wrkh-sent-")) / "signatures"
        self.defer(lambda: shutil.rmtree(sent.parent, ignore_errors=True))
        self.identity = LoadIdentity(
            keys[0], canary, other_api_keys=tuple(keys[1:]), signatures_file=sent
        )
        self.secrets = run_secrets(target, canary)
        self.masker = Masker(self.secrets)
        return self.prometheus, self.toxiproxy

    def start_runner(
        self,
        deliveries: Deliveries,
        *,
        injector: Callable[[FaultContext], FaultInjector] = FaultInjector,
        evidence: EvidenceSources | None = None,
        reset: Callable[[], None] | None = None,
    ) -> ScenarioRunner:
        """Start the alert watcher, arm the fault injector (rolled back at `close`) and build
        the one runner, reading deliveries from `deliveries`."""
        if self.runner is not None:
            raise HarnessError("a run environment holds one scenario runner; it has one already")
        if self.target is None or self.prometheus is None or self.toxiproxy is None:
            raise HarnessError("connect to the target before starting the runner")
        assert self.identity is not None  # set by connect
        watcher = AlertWatcher(self.prometheus).start()
        self.defer(watcher.stop)
        ctx = FaultContext(self.toxiproxy, self.target, self.out_dir, self.identity)
        faults = injector(ctx)
        self.defer(lambda: self._rollback(faults))
        self.observers = Observers(
            self.prometheus, watcher, deliveries, faults, evidence, self.tripwire, reset
        )
        self.runner = ScenarioRunner(
            self.target, self.timing, self.observers, self.out_dir, self.progress, live=self.live
        )
        return self.runner

    def _rollback(self, faults: FaultInjector) -> None:
        count = len(faults.active)
        try:
            verified = faults.close()
        except FaultError:
            death = self.tripwire.error
            if death is None:
                raise
            # Best effort is all there is: a dead Toxiproxy took its proxies and toxics along.
            verified = f"not verified, as {death}"
        self._announce(f"faults rolled back ({count} were active); {verified}")

    def _announce(self, line: str) -> None:
        # A terminal line, not a scenario phase: a game day's progress writes phases to its
        # timeline, which records the rollback itself.
        announce = self.live if self.live is not None else self.progress
        announce(line)

    def _died(self, death: ComponentDied) -> None:
        """The live status stops showing states nobody observes any more; say what happened."""
        if self.live is not None:
            self.live.untrack()
        self._announce(f"{death}; stopping the run")

    def close(self) -> list[str]:
        """Tear down everything started, newest first; what failed, one line each."""
        if self.live is not None:
            self.live.untrack()  # a scenario cut short leaves its live status running
        failures: list[str] = []
        while self._cleanups:
            step = self._cleanups.pop()
            try:
                step()
            except Exception as exc:
                log.error("cleanup step %s failed: %s", getattr(step, "__qualname__", step), exc)
                failures.append(f"cleanup failed: {exc}")
        self.runner = None
        return failures


def run_secrets(target: Target, canary: str) -> tuple[Secret, ...]:
    """Every secret a run against `target` knows: the API keys, the webhook secret, the load's
    canary and any password written into one of the target's URLs."""
    found = [Secret(f"API key of {c.tenant_id}", c.api_key) for c in target.credentials]
    found.append(Secret("payload canary", canary))
    if target.webhook_secret:
        found.append(Secret("webhook secret", target.webhook_secret))
    urls = {
        "database": target.database_url,
        "Prometheus": target.prometheus_url,
        "Alertmanager": target.alertmanager_url,
        "Toxiproxy": target.toxiproxy_url,
        **target.services,
    }
    for name, url in urls.items():
        password = urlsplit(url).password if url else None
        if password:
            found.append(Secret(f"password in the {name} URL", password))
    return tuple(found)
