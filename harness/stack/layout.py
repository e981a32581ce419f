"""The local stack's layout: every service spec, port and proxy, decided before anything starts.

Pure data in, pure data out (no process is started here), so the whole wiring can be checked
by unit tests: which flags each binary gets, who depends on whom, which URL each fake reaches
its dependencies through.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.errors import ConfigError, Problem
from harness.spec.timescale import format_duration
from harness.stack import tools
from harness.stack.base import StackConfig
from harness.stack.fakes import (
    DEFAULT_FAKES,
    DEFAULT_PROXIES,
    AddressBook,
    FakeService,
    ProxyRoute,
    api_keys_json,
    validate,
)
from harness.stack.ports import HOST
from harness.stack.readiness import (
    Exited,
    HttpReady,
    PostgresReady,
    RedisReady,
)
from harness.stack.rundir import RunDir
from harness.stack.service import ServiceSpec
from harness.stack.target import Credentials, Proxy

INFRASTRUCTURE = ("prometheus", "postgres", "redis", "toxiproxy", "alertmanager")
REQUIRED_TOOLS = (
    "prometheus",
    "prometheus-alertmanager",
    "redis-server",
    "initdb",
    "postgres",
    "psql",
    "toxiproxy-server",
)
# Scraped besides the fakes: cheap, and evidence for the checks (alert delivery, proxy traffic).
EXTRA_JOBS = ("prometheus", "alertmanager", "toxiproxy")
INITDB = "postgres-initdb"
DATABASE = "wrk"
PG_SUPERUSER = "postgres"


@dataclass(frozen=True)
class LocalStackConfig(StackConfig):
    """A stack of local processes: which fakes and proxies, and how long each may take."""

    python: str = field(default_factory=lambda: tools.locate("python"))
    fakes: tuple[FakeService, ...] = DEFAULT_FAKES
    proxies: tuple[ProxyRoute, ...] = DEFAULT_PROXIES
    start_timeout_s: float = 30.0  # per service, from its spawn to ready

    def validate(self) -> None:
        """Raise ConfigError listing every problem of the service list, before any start."""
        problems = validate(self.fakes, self.proxies, INFRASTRUCTURE)
        if self.tenants < 1:
            problems.append(Problem("LocalStackConfig", "tenants", "at least one is needed"))
        if problems:
            raise ConfigError(problems)


def generate_credentials(tenants: int) -> tuple[Credentials, ...]:
    """Fresh API keys for this run: the keys of one run are useless in the next."""
    return tuple(
        Credentials(f"wrk_{secrets.token_hex(16)}", f"tenant-{i}", f"user-{i}")
        for i in range(1, tenants + 1)
    )


def postgres_user() -> str | None:
    """Postgres refuses to run as root: switch to `postgres` when we are root."""
    return PG_SUPERUSER if os.geteuid() == 0 else None


@dataclass(frozen=True)
class StackLayout:
    """Everything decided before anything starts (pure data; see build_layout)."""

    specs: tuple[ServiceSpec, ...]  # in spawn order
    proxies: dict[str, Proxy]
    scrape_jobs: tuple[str, ...]
    urls: dict[str, str]  # service name -> base URL (HTTP services only)
    database: str  # host:port of Postgres itself (not its proxy), for read-only queries


def port_names(config: LocalStackConfig) -> list[str]:
    """One port per infrastructure service, per fake and per proxy (`proxy:<name>`)."""
    return [
        *INFRASTRUCTURE,
        *(f.name for f in config.fakes),
        *(f"proxy:{p.name}" for p in config.proxies),
    ]


def build_layout(
    config: LocalStackConfig,
    *,
    run: RunDir,
    ports: Mapping[str, int],
    binaries: Mapping[str, str],
    credentials: tuple[Credentials, ...],
    run_as: str | None,
    webhook_secret: str = "",
) -> StackLayout:
    """Every ServiceSpec of the stack, its proxies and what Prometheus scrapes."""
    addr = {name: f"{HOST}:{port}" for name, port in ports.items()}
    proxies = {
        r.name: Proxy(r.name, listen=addr[f"proxy:{r.name}"], upstream=addr[r.upstream])
        for r in config.proxies
    }
    specs = [
        _prometheus(config, run, ports, binaries),
        _initdb(run, binaries, run_as),
        _redis(config, run, ports, binaries),
        _toxiproxy(config, run, ports, binaries),
        _alertmanager(config, run, ports, binaries),
        _postgres(config, run, ports, binaries, run_as),
    ]
    book = AddressBook(
        service={n: a for n, a in addr.items() if not n.startswith("proxy:")},
        proxy={name: p.listen for name, p in proxies.items()},
        api_keys_json=api_keys_json(credentials),
        redact_values=",".join(v for v in (*(c.api_key for c in credentials), webhook_secret) if v),
        webhook_secret=webhook_secret,
        tenant_ids=",".join(c.tenant_id for c in credentials) or "tenant-1",
    )
    specs += [_fake(config, run, ports, fake, book) for fake in config.fakes]
    urls = {name: f"http://{addr[name]}" for name in (*EXTRA_JOBS, *(f.name for f in config.fakes))}
    jobs = (*(f.name for f in config.fakes), *EXTRA_JOBS)
    return StackLayout(tuple(specs), proxies, jobs, urls, addr["postgres"])


def _prometheus(
    config: LocalStackConfig, run: RunDir, ports: Mapping[str, int], binaries: Mapping[str, str]
) -> ServiceSpec:
    port = ports["prometheus"]
    command = [
        binaries["prometheus"],
        f"--config.file={run.prometheus_config}",
        f"--storage.tsdb.path={run.prometheus_data}",
        f"--web.listen-address={HOST}:{port}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",  # scenarios start from empty series (run/isolation.py)
        f"--rules.alert.resend-delay={format_duration(config.timing.resend_delay_s)}",
        "--storage.tsdb.retention.time=1d",
    ]
    return ServiceSpec(
        name="prometheus",
        command=command,
        readiness=HttpReady(f"http://{HOST}:{port}/-/ready"),
        log_file=run.log_file("prometheus"),
        ports={"http": port},
        cwd=run.root,
        start_timeout_s=config.start_timeout_s,
    )


def _initdb(run: RunDir, binaries: Mapping[str, str], run_as: str | None) -> ServiceSpec:
    command = [binaries["initdb"], "-D", str(run.pg_data), "-U", PG_SUPERUSER, "--auth=trust"]
    # --no-sync: the cluster lives for one run; durability only costs start time.
    command += ["--no-sync", "-E", "UTF8", "--locale=C"]
    return ServiceSpec(
        name=INITDB,
        command=command,
        readiness=Exited(),
        log_file=run.log_file(INITDB),
        cwd=run.pg_data,
        run_as=run_as,
        start_timeout_s=60.0,
        oneshot=True,
    )


def _postgres(
    config: LocalStackConfig,
    run: RunDir,
    ports: Mapping[str, int],
    binaries: Mapping[str, str],
    run_as: str | None,
) -> ServiceSpec:
    port = ports["postgres"]
    command = [binaries["postgres"], "-D", str(run.pg_data), "-p", str(port)]
    settings = {
        "listen_addresses": HOST,
        # TCP only: no socket directory to own, no 107-byte socket path limit to hit.
        "unix_socket_directories": "",
        # Throwaway cluster: trade durability for speed.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        # Dynamic shared memory in files of the data directory, not in /dev/shm: a postmaster
        # killed outright leaves them in the run's scratch folder, which is swept.
        "dynamic_shared_memory_type": "mmap",
    }
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    return ServiceSpec(
        name="postgres",
        command=command,
        readiness=PostgresReady(binaries["psql"], HOST, port),
        log_file=run.log_file("postgres"),
        ports={"tcp": port},
        cwd=run.pg_data,
        run_as=run_as,
        start_timeout_s=config.start_timeout_s,
        depends_on=(INITDB,),
        stop_signal=signal.SIGINT,  # fast shutdown; SIGTERM would wait for clients
    )


def _redis(
    config: LocalStackConfig, run: RunDir, ports: Mapping[str, int], binaries: Mapping[str, str]
) -> ServiceSpec:
    port = ports["redis"]
    command = [binaries["redis-server"], "--bind", HOST, "--port", str(port)]
    command += [
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--dir",
        str(run.root),
    ]
    return ServiceSpec(
        name="redis",
        command=command,
        readiness=RedisReady(HOST, port),
        log_file=run.log_file("redis"),
        ports={"tcp": port},
        cwd=run.root,
        start_timeout_s=config.start_timeout_s,
    )


def _toxiproxy(
    config: LocalStackConfig, run: RunDir, ports: Mapping[str, int], binaries: Mapping[str, str]
) -> ServiceSpec:
    port = ports["toxiproxy"]
    # -proxy-metrics: without it (2.12) /metrics answers 404 and Prometheus sees it down.
    command = [binaries["toxiproxy-server"], "-host", HOST, "-port", str(port), "-proxy-metrics"]
    return ServiceSpec(
        name="toxiproxy",
        command=command,
        readiness=HttpReady(f"http://{HOST}:{port}/version"),
        log_file=run.log_file("toxiproxy"),
        ports={"http": port},
        cwd=run.root,
        start_timeout_s=config.start_timeout_s,
    )


def _alertmanager(
    config: LocalStackConfig, run: RunDir, ports: Mapping[str, int], binaries: Mapping[str, str]
) -> ServiceSpec:
    port = ports["alertmanager"]
    command = [
        binaries["prometheus-alertmanager"],
        f"--config.file={config.alertmanager_config}",
        f"--storage.path={run.alertmanager_data}",
        f"--web.listen-address={HOST}:{port}",
        "--cluster.listen-address=",  # no clustering: nothing listens on 0.0.0.0:9094
    ]
    return ServiceSpec(
        name="alertmanager",
        command=command,
        readiness=HttpReady(f"http://{HOST}:{port}/-/ready"),
        log_file=run.log_file("alertmanager"),
        ports={"http": port},
        cwd=run.root,
        start_timeout_s=config.start_timeout_s,
    )


def _fake(
    config: LocalStackConfig,
    run: RunDir,
    ports: Mapping[str, int],
    fake: FakeService,
    book: AddressBook,
) -> ServiceSpec:
    port = ports[fake.name]
    env = {
        "WRK_HOST": HOST,
        "WRK_PORT": str(port),
        "WRK_SPAN_FILE": str(run.span_file(fake.name)),
        "WRK_REDACT_VALUES": book.redact_values,
        "PYTHONUNBUFFERED": "1",  # log lines reach the log file (and its tail) at once
    }
    env.update({key: book.render(value) for key, value in fake.env.items()})
    return ServiceSpec(
        name=fake.name,
        command=fake.command_line(config.python),
        readiness=HttpReady(f"http://{HOST}:{port}{fake.health_path}"),
        log_file=run.log_file(fake.name),
        env=env,
        ports={"http": port},
        cwd=run.root,
        start_timeout_s=config.start_timeout_s,
        depends_on=fake.depends_on,
    )
