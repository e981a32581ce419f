"""ComposeStack: docker-compose.yml brought up and down with the Docker SDK, as a `Target`.

`docker compose` itself is not needed: the file is read into a typed model (compose_file.py),
each service is planned as one container (compose_plan.py), and the containers are created
through the engine (docker_engine.py) in dependency order, each once what it depends on is
healthy. What a harness run changes against the file, and why:

- a project name of its own per run (`wrkh-<run id>-<random>`): containers, network and
  volumes of two runs never meet, and teardown finds everything by the project label;
- every published port gets a free 127.0.0.1 port (ports.py) instead of the file's fixed one;
- secrets are generated per run and fill the file's `${WRK_API_KEYS}`, `${WRK_WEBHOOK_SECRET}`,
  `${WRK_REDACT_VALUES}` and `${WRK_RUN_EVENT_TENANT}` (the tenants run events come from);
- Prometheus and Alertmanager run on the host network, listening on 127.0.0.1: Alertmanager
  must reach the harness's webhook receiver, which listens on 127.0.0.1 only. Prometheus then
  scrapes every service through its published port, exactly as in the local stack, with the
  run's time-scaled rules and intervals (the file's deploy/ configuration is production's);
- the `spans` volume is the run's span folder, and each container's output is copied into
  `<run>/logs/<service>.log`, so the evidence checks read the same files as locally;
- Grafana is left out (it is for people; the suite does not read it).

Everything is removed on success, failure, Ctrl-C and SIGTERM (signals.py); the fakes' image
stays as a build cache.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.errors import ServiceStartError, StackError
from harness.spec.timescale import format_duration
from harness.stack.base import Stack, StackConfig
from harness.stack.compose_file import ComposeFile
from harness.stack.compose_override import compose_files, load_merged
from harness.stack.compose_plan import (
    ALERTMANAGER_CONFIG,
    LEASE_LABEL,
    OWNER_HOST_LABEL,
    PROJECT_LABEL,
    PROMETHEUS_CONFIG,
    RULES_FILE,
    SPANS_VOLUME,
    ContainerPlan,
    PlanInputs,
    built_services,
    create_kwargs,
    host_port,
    new_project_name,
    plan_containers,
    port_names,
    read_proxies,
    selected_services,
)
from harness.stack.compose_removal import (
    STOP_TIMEOUT_S,
    remove_project,
    sweep_projects,
)
from harness.stack.docker_engine import (
    connect,
    copy_logs,
    health_problem,
    log_tail,
    prepare_images,
)
from harness.stack.fakes import api_keys_json
from harness.stack.folder_lock import FolderLock
from harness.stack.layout import DATABASE, EXTRA_JOBS, PG_SUPERUSER, generate_credentials
from harness.stack.ports import HOST, PortReservation, allocate_ports
from harness.stack.promconfig import render_prometheus_config
from harness.stack.readiness import PrometheusScraped
from harness.stack.rundir import RunPaths
from harness.stack.signals import TRAP
from harness.stack.target import Credentials, Target

__all__ = ["ComposeStack", "ComposeStackConfig"]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


@dataclass(frozen=True)
class ComposeStackConfig(StackConfig):
    """A stack of containers from a compose file, reached through the Docker engine."""

    compose_file: Path = DEFAULT_COMPOSE_FILE
    fake_env: Mapping[str, str] = field(default_factory=dict)  # added to every built service
    docker_host: str | None = None  # default: $DOCKER_HOST, else the local socket
    health_timeout_s: float = 180.0  # per service, from its start to healthy
    scrape_timeout_s: float = 60.0  # containers start slower than local processes
    poll_s: float = 0.5


@dataclass(frozen=True)
class RunSecrets:
    credentials: tuple[Credentials, ...]
    webhook_secret: str

    def variables(self) -> dict[str, str]:
        """The file's `${...}` variables this run fills."""
        redact = [c.api_key for c in self.credentials] + [self.webhook_secret]
        return {
            "WRK_API_KEYS": api_keys_json(self.credentials),
            "WRK_WEBHOOK_SECRET": self.webhook_secret,
            "WRK_REDACT_VALUES": ",".join(redact),
            "WRK_RUN_EVENT_TENANT": ",".join(c.tenant_id for c in self.credentials),
        }


class ClientFactory(Protocol):
    def __call__(self, docker_host: str | None) -> Any: ...


class ScrapeCheck(Protocol):
    def check(self) -> str | None: ...


def _default_scrape_check(url: str, jobs: tuple[str, ...], since: float) -> ScrapeCheck:
    return PrometheusScraped(url, jobs, since)


class ComposeStack(Stack):
    """Brings the compose file up as one project and hands out a Target; a context manager."""

    def __init__(
        self,
        config: ComposeStackConfig,
        client_factory: ClientFactory = connect,
        scrape_check: Callable[[str, tuple[str, ...], float], ScrapeCheck] = (
            _default_scrape_check
        ),
    ) -> None:
        self.config = config
        self.project = new_project_name(config.run_id)
        self.paths = RunPaths(config.base_dir / self.project)
        self._client_factory = client_factory
        self._scrape_check = scrape_check
        self._client: Any = None
        self._lease: FolderLock | None = None
        self._ports: PortReservation | None = None
        self._containers: dict[str, Any] = {}  # service -> container object, in start order
        self._healthy: set[str] = set()
        self._followers: list[threading.Thread] = []
        self._trapped = False
        self._started = False
        self._target: Target | None = None
        self._started_at: dict[str, float] = {}  # service -> time.monotonic() at its start
        self.startup_s: dict[str, float] = {}  # per service: seconds from start to healthy

    @property
    def target(self) -> Target:
        if self._target is None:
            raise StackError("the compose stack is not started")
        return self._target

    def start(self) -> Target:
        """Create everything, wait until each service is healthy and Prometheus scraped all."""
        if self._started:
            raise StackError("this ComposeStack was already started; create a new one")
        self._started = True
        self._trapped = TRAP.acquire()
        began = time.monotonic()
        try:
            return self._start(began)
        except BaseException:
            self.stop()
            raise

    def _start(self, began: float) -> Target:
        cfg = self.config
        self._client = self._client_factory(cfg.docker_host)
        swept = sweep_projects(self._client)
        for project in swept.removed:
            log.info("removed compose project %s, left by a run that was killed", project)
        for failure in swept.failures:
            log.warning("sweeping the projects of killed runs: %s", failure)
        run_secrets = RunSecrets(generate_credentials(cfg.tenants), secrets.token_hex(24))
        # With docker-compose.override.yml beside it, as `docker compose` merges them.
        compose = load_merged(compose_files(cfg.compose_file), env=run_secrets.variables())
        services = selected_services(compose)
        self._ports = allocate_ports(port_names(compose, services), lock_dir=cfg.port_lock_dir)
        ports = self._ports.ports
        self._make_dirs()
        fakes = built_services(compose, services)
        self._write_prometheus_config(compose, fakes, ports)
        inputs = PlanInputs(
            project=self.project,
            ports=ports,
            config_files=self._config_files(),
            spans_dir=self.paths.spans,
            fake_env=cfg.fake_env,
            resend_delay=format_duration(cfg.timing.resend_delay_s),
            owner_labels=self._owner_labels(),
        )
        plans = plan_containers(compose, services, inputs)
        self._create_network_and_volumes(compose)
        prepare_images(self._client, self.project, compose, services)
        since = time.time()  # wall clock: compared with Prometheus' sample timestamps
        for plan in plans:
            self._start_container(plan)
        for plan in plans:
            self._wait_healthy(plan.service)
        self._wait_scraped(ports["prometheus"], (*fakes, *EXTRA_JOBS), since)
        cold = time.monotonic() - began
        log.info("compose project %s ready in %.2fs", self.project, cold)
        self._target = self._make_target(compose, fakes, ports, run_secrets, cold)
        return self._target

    def _make_dirs(self) -> None:
        for folder in (self.paths.logs, self.paths.spans):
            folder.mkdir(parents=True, exist_ok=True)
        # The fakes run as an unprivileged user inside their containers.
        self.paths.spans.chmod(0o777)
        self._lease = FolderLock(self.paths.root)

    def _owner_labels(self) -> dict[str, str]:
        assert self._lease is not None, "the run folder is made first"
        return {OWNER_HOST_LABEL: socket.gethostname(), LEASE_LABEL: str(self._lease.path)}

    def _config_files(self) -> dict[str, Path]:
        files = {
            PROMETHEUS_CONFIG: self.paths.prometheus_config,
            ALERTMANAGER_CONFIG: self.config.alertmanager_config.resolve(),
        }
        if self.config.rules_file is not None:
            files[RULES_FILE] = self.config.rules_file.resolve()
        return files

    def _write_prometheus_config(
        self, compose: ComposeFile, fakes: list[str], ports: Mapping[str, int]
    ) -> None:
        jobs = {name: host_port(compose, ports, name) for name in (*fakes, *EXTRA_JOBS)}
        rules = Path(RULES_FILE) if self.config.rules_file is not None else None
        text = render_prometheus_config(self.config.timing, jobs, ports["alertmanager"], rules)
        self.paths.prometheus_config.write_text(text)

    def _create_network_and_volumes(self, compose: ComposeFile) -> None:
        labels = {PROJECT_LABEL: self.project, **self._owner_labels()}
        self._client.networks.create(self.project, driver="bridge", labels=labels)
        for volume in compose.volumes:
            if volume != SPANS_VOLUME:
                self._client.volumes.create(name=f"{self.project}_{volume}", labels=labels)

    def _start_container(self, plan: ContainerPlan) -> None:
        for dep, condition in plan.depends_on.items():
            if condition == "service_healthy":
                self._wait_healthy(dep)
        assert self._ports is not None
        self._ports.release(plan.host_ports)
        with TRAP.spawning():  # a container created must be recorded, or it would leak
            container = self._client.containers.create(plan.image, **create_kwargs(plan))
            self._containers[plan.service] = container
        self._started_at[plan.service] = time.monotonic()
        container.start()
        self._follow_logs(plan.service, container)

    def _follow_logs(self, service: str, container: Any) -> None:
        path = self.paths.logs / f"{service}.log"
        thread = threading.Thread(
            target=copy_logs, args=(container, path), name=f"logs-{service}", daemon=True
        )
        thread.start()
        self._followers.append(thread)

    def _wait_healthy(self, service: str) -> None:
        """Until Docker reports the service healthy (or running, without a health check)."""
        if service in self._healthy:
            return
        container = self._containers[service]
        deadline = time.monotonic() + self.config.health_timeout_s
        while True:
            container.reload()
            problem = health_problem(container.attrs.get("State", {}))
            if problem is None:
                break
            if problem.fatal:
                raise ServiceStartError(service, problem.reason, log_tail(container))
            if time.monotonic() >= deadline:
                reason = f"not healthy after {self.config.health_timeout_s:g} s: {problem.reason}"
                raise ServiceStartError(service, reason, log_tail(container))
            time.sleep(self.config.poll_s)
        self._healthy.add(service)
        self.startup_s[service] = round(time.monotonic() - self._started_at[service], 3)

    def _wait_scraped(self, port: int, jobs: tuple[str, ...], since: float) -> None:
        check = self._scrape_check(f"http://{HOST}:{port}", jobs, since)
        deadline = time.monotonic() + self.config.scrape_timeout_s
        while (reason := check.check()) is not None:
            if time.monotonic() >= deadline:
                tail = log_tail(self._containers["prometheus"])
                raise ServiceStartError("prometheus", f"not every job scraped: {reason}", tail)
            time.sleep(self.config.poll_s)

    def _make_target(
        self,
        compose: ComposeFile,
        fakes: list[str],
        ports: Mapping[str, int],
        run_secrets: RunSecrets,
        cold: float,
    ) -> Target:
        def url(name: str) -> str:
            return f"http://{HOST}:{host_port(compose, ports, name)}"

        urls = {name: url(name) for name in fakes}
        return Target(
            name="compose",
            edge_url=urls["edge"],
            prometheus_url=url("prometheus"),
            alertmanager_url=url("alertmanager"),
            toxiproxy_url=url("toxiproxy"),
            services=urls,
            proxies=read_proxies(compose),
            credentials=run_secrets.credentials,
            log_dir=self.paths.logs,
            span_dir=self.paths.spans,
            webhook_secret=run_secrets.webhook_secret,
            database_url=(
                f"postgresql://{PG_SUPERUSER}@{HOST}:{host_port(compose, ports, 'postgres')}"
                f"/{DATABASE}"
            ),
            cold_start_s=round(cold, 3),
            admin_prometheus=True,
        )

    # -- teardown -------------------------------------------------------------------------

    def stop(self) -> None:
        """Remove every container, the network and the volumes of the project. Idempotent.

        Raises StackError afterwards if anything could not be removed (it is named).
        """
        failures: list[str] = []
        with TRAP.deferred():
            if self._client is not None:
                failures = remove_project(self._client, self.project, self._containers.values())
                self._containers.clear()
            for thread in self._followers:
                thread.join(timeout=STOP_TIMEOUT_S)
            self._followers.clear()
            if self._ports is not None:
                self._ports.close()
            self._target = None
            if self._lease is not None:
                # The run folder holds reports: no lease file left in it once the run is over.
                self._lease.path.unlink(missing_ok=True)
                self._lease.release()
            if self._trapped:
                TRAP.release()
                self._trapped = False
        TRAP.redeliver_pending()
        if failures:
            raise StackError(f"compose project {self.project} left behind: {'; '.join(failures)}")
