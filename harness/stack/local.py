"""LocalStack: the whole system under test as local processes on 127.0.0.1.

Start order and why:

1. Prometheus first: its first scrape comes ~6 s after start whatever we do, so that wait
   overlaps everything else. Its "scraped every job" readiness is checked last.
2. initdb, Redis, Toxiproxy, Alertmanager and dependency-free fakes at once.
3. Postgres after initdb, then the database `wrk`; Toxiproxy's proxies once it answers.
4. Each fake as soon as what it depends on is ready (core: postgres, redis, proxies,
   platform; edge: core).

Every port is reserved before anything starts (see ports.py); every service logs to
`<run>/logs/<name>.log`. `stop()` stops dependents first and is idempotent. What each service
is started with is decided in layout.py.
"""

from __future__ import annotations

import logging
import secrets
import subprocess
import time
from collections.abc import Callable, Mapping

from harness import http_client
from harness.errors import ComponentDied, StackError
from harness.stack import tools
from harness.stack.base import Stack
from harness.stack.folder_lock import FolderLock
from harness.stack.layout import (
    DATABASE,
    PG_SUPERUSER,
    REQUIRED_TOOLS,
    LocalStackConfig,
    StackLayout,
    build_layout,
    generate_credentials,
    port_names,
    postgres_user,
)
from harness.stack.ports import HOST, PortReservation, allocate_ports
from harness.stack.promconfig import render_prometheus_config
from harness.stack.readiness import PrometheusScraped
from harness.stack.rundir import (
    RunDir,
    check_traversable,
    create_run_dir,
    hand_over,
    remove_scratch,
)
from harness.stack.service import ServiceSpec
from harness.stack.supervisor import Supervisor
from harness.stack.sweep import sweep
from harness.stack.target import Credentials, Proxy, Target

__all__ = ["LocalStack", "LocalStackConfig", "create_database", "create_proxy"]

log = logging.getLogger(__name__)

API_TIMEOUT_S = 3.0


class LocalStack(Stack):
    """Starts the layout under a Supervisor and hands out a Target; a context manager."""

    def __init__(self, config: LocalStackConfig) -> None:
        self.config = config
        self._supervisor: Supervisor | None = None
        self._ports: PortReservation | None = None
        self._run: RunDir | None = None
        self._lease: FolderLock | None = None
        self._target: Target | None = None
        self._pids: dict[str, int] = {}
        self._webhook_secret = ""
        self.startup_s: dict[str, float] = {}  # per service: seconds from spawn to ready
        self._scraped: PrometheusScraped | None = None  # awaited by `await_scraped`

    @property
    def target(self) -> Target:
        if self._target is None:
            raise StackError("the local stack is not started")
        return self._target

    @property
    def run_dir(self) -> RunDir | None:
        return self._run

    @property
    def ports(self) -> dict[str, int]:
        """The ports reserved for the run, by name (empty before the start)."""
        return dict(self._ports.ports) if self._ports is not None else {}

    @property
    def pids(self) -> dict[str, int]:
        """PID of every process started (kept after stop, to verify nothing survived)."""
        return dict(self._pids)

    def start(self) -> Target:
        """Start everything and wait until Prometheus has scraped every service."""
        if self._supervisor is not None:
            raise StackError("this LocalStack was already started; create a new one")
        began = time.monotonic()
        binaries = tools.require(REQUIRED_TOOLS)
        self.config.validate()
        run_as = postgres_user()
        for leftover in sweep(lock_dir=self.config.port_lock_dir):
            log.info("removed %s, left by a run that was killed", leftover)
        self._run = run = create_run_dir(self.config.base_dir, self.config.run_id)
        self._supervisor = Supervisor()
        try:
            self._lease = FolderLock(run.scratch)
            if run_as is not None:
                check_traversable(run.pg_data, run_as)
                hand_over(run.pg_data, run_as)
            return self._start(run, binaries, run_as, began)
        except BaseException:
            self.stop()
            raise

    def _start(
        self, run: RunDir, binaries: Mapping[str, str], run_as: str | None, began: float
    ) -> Target:
        assert self._supervisor is not None
        self._ports = ports = allocate_ports(
            port_names(self.config), lock_dir=self.config.port_lock_dir
        )
        credentials = generate_credentials(self.config.tenants)
        self._webhook_secret = webhook_secret = secrets.token_hex(24)
        layout = build_layout(
            self.config,
            run=run,
            ports=ports.ports,
            binaries=binaries,
            credentials=credentials,
            webhook_secret=webhook_secret,
            run_as=run_as,
        )
        self._write_prometheus_config(run, layout, ports.ports)
        # Wall clock on purpose: it is compared with Prometheus' sample timestamps.
        since = time.time()
        hooks = {
            "postgres": lambda: create_database(binaries["psql"], ports["postgres"], DATABASE),
            "toxiproxy": lambda: self._create_proxies(layout, ports),
        }
        self.startup_s = self._supervisor.start_all(
            layout.specs, after_ready=hooks, before_spawn=self._release_ports
        )
        self._pids = self._supervisor.pids
        self._scraped = PrometheusScraped(layout.urls["prometheus"], layout.scrape_jobs, since)
        if self.config.scraped_at_start:
            self.await_scraped()
        cold = time.monotonic() - began
        log.info("local stack %s ready in %.2fs", run.run_id, cold)
        self._target = self._make_target(layout, credentials, run, cold)
        return self._target

    def await_scraped(self) -> float:
        if self._scraped is None:
            return 0.0
        assert self._supervisor is not None
        began = time.monotonic()
        self.startup_s["prometheus-scraped"] = self._supervisor.wait(
            "prometheus", self._scraped, self.config.scrape_timeout_s
        )
        self._scraped = None
        return time.monotonic() - began

    def _release_ports(self, spec: ServiceSpec) -> None:
        assert self._ports is not None
        self._ports.release(spec.ports.values())

    def _write_prometheus_config(
        self, run: RunDir, layout: StackLayout, ports: Mapping[str, int]
    ) -> None:
        text = render_prometheus_config(
            self.config.timing,
            {job: ports[job] for job in layout.scrape_jobs},
            ports["alertmanager"],
            self.config.rules_file,
            {f.name: f.metrics_path for f in self.config.fakes},
        )
        run.prometheus_config.write_text(text)

    def _create_proxies(self, layout: StackLayout, ports: PortReservation) -> None:
        toxiproxy = layout.urls["toxiproxy"]
        for proxy in layout.proxies.values():
            ports.release([int(proxy.listen.rsplit(":", 1)[1])])
            create_proxy(toxiproxy, proxy)

    def _make_target(
        self, layout: StackLayout, credentials: tuple[Credentials, ...], run: RunDir, cold: float
    ) -> Target:
        fakes = {f.name: layout.urls[f.name] for f in self.config.fakes}
        return Target(
            name="local",
            edge_url=fakes["edge"],
            prometheus_url=layout.urls["prometheus"],
            alertmanager_url=layout.urls["alertmanager"],
            toxiproxy_url=layout.urls["toxiproxy"],
            services=fakes,
            proxies=dict(layout.proxies),
            credentials=credentials,
            log_dir=run.logs,
            span_dir=run.spans,
            webhook_secret=self._webhook_secret,
            database_url=f"postgresql://{PG_SUPERUSER}@{layout.database}/{DATABASE}",
            cold_start_s=round(cold, 3),
            admin_prometheus=True,
        )

    def watch(self, on_death: Callable[[ComponentDied], None]) -> None:
        """Report every service that exits before `stop` (see Supervisor.watch)."""
        if self._supervisor is None or self._target is None:
            raise StackError("the local stack is not started")
        self._supervisor.watch(on_death)

    def stop(self) -> None:
        """Stop every process (dependents first), then free the ports. Idempotent."""
        if self._supervisor is not None:
            self._pids.update(self._supervisor.pids)
            self._supervisor.stop()
        if self._ports is not None:
            self._ports.close()
        if self._run is not None:
            remove_scratch(self._run)
        if self._lease is not None:
            self._lease.release()
        self._target = None


def create_database(psql: str, port: int, name: str) -> None:
    """CREATE DATABASE over TCP as the trusted superuser."""
    command = [psql, "-h", HOST, "-p", str(port), "-U", PG_SUPERUSER, "-d", "postgres", "-w"]
    command += ["-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{name}"']
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"creating database {name!r} timed out") from exc
    if done.returncode != 0:
        raise StackError(f"creating database {name!r} failed: {done.stderr.strip()}")


def create_proxy(toxiproxy_url: str, proxy: Proxy) -> None:
    """POST /proxies; every call has a timeout, a hung Toxiproxy must not hang the run."""
    payload = {
        "name": proxy.name,
        "listen": proxy.listen,
        "upstream": proxy.upstream,
        "enabled": True,
    }
    try:
        resp = http_client.shared().post(
            f"{toxiproxy_url}/proxies", json=payload, timeout=API_TIMEOUT_S
        )
    except http_client.Unavailable as exc:
        reason = http_client.reason(exc)
        raise StackError(f"creating proxy {proxy.name!r}: {reason}") from exc
    if resp.status_code not in (200, 201):
        body = resp.text[:300]
        raise StackError(f"creating proxy {proxy.name!r}: HTTP {resp.status_code}: {body}")
