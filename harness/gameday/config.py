"""The game-day target file: where the deployment is, what to load it with, when to stop.

```yaml
prometheus: http://prometheus.internal:9090
alertmanager: http://alertmanager.internal:9093
toxiproxy: http://toxiproxy.internal:8474
services: {edge: http://edge.internal:8080, core: http://core.internal:8081}
proxies: {wrk_platform: copilot_to_platform}   # scenario proxy -> deployed Toxiproxy proxy
api_keys: [{env: WRK_GAMEDAY_API_KEY}]          # or {key: ...}; the first one drives the load
abort_on:
  unexpected_severity: SEV-1
  error_budget_burned: {slo: studio-api-availability, max_percent: 5}
time_scale: 1                                   # the time scale the deployed rules use
```

Everything is checked before anything starts: the file on its own (`load_config`), then
against the catalogue and the chosen scenario (`check_against`). Problems name the file, the
field and the reason, like every other input of the harness.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from harness.errors import ConfigError, Problem
from harness.spec.alerts import Severity
from harness.spec.catalog import Catalog
from harness.spec.faults import HttpFaultSpec, LoadFaultSpec
from harness.spec.feasibility import closest
from harness.spec.fields import StrictModel
from harness.spec.files import display_path, load_model
from harness.spec.scenario import Scenario
from harness.spec.slo import AvailabilitySlo
from harness.stack.target import Credentials, Target

EDGE = "edge"
MAX_PORT = 65535


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    try:
        port = parts.port
    except ValueError:  # urllib's own check: not a number, or above 65535
        port = -1
    if port is not None and not 1 <= port <= MAX_PORT:
        raise ValueError(f"port of {url!r} is not a TCP port (1-{MAX_PORT})")
    return url.rstrip("/")


class ApiKey(StrictModel):
    """An API key given inline (`key`) or, better, by the environment variable holding it."""

    key: str | None = Field(default=None, min_length=1)
    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    tenant: str = "gameday"

    @model_validator(mode="after")
    def _one_source(self) -> ApiKey:
        if (self.key is None) == (self.env is None):
            raise ValueError("give exactly one of `key` or `env`")
        if self.env is not None and not os.environ.get(self.env):
            raise ValueError(f"environment variable {self.env} is not set or empty")
        return self

    @property
    def value(self) -> str:
        return self.key if self.key is not None else os.environ[str(self.env)]


class BudgetBurnLimit(StrictModel):
    slo: str = Field(min_length=1)
    max_percent: float = Field(gt=0, le=100)  # of the SLO period's error budget


class AbortOn(StrictModel):
    unexpected_severity: Severity | None = Severity.SEV_1  # this severity or worse
    error_budget_burned: BudgetBurnLimit | None = None


class GamedayConfig(StrictModel):
    prometheus: str
    alertmanager: str
    toxiproxy: str
    services: dict[str, str]
    proxies: dict[str, str] = {}
    """Scenario proxy name -> deployed proxy name: the proxies the deployment has, so every
    proxy a scenario breaks must be listed (`name: name` when the deployment uses it as is)."""
    api_keys: tuple[ApiKey, ...] = Field(min_length=1)
    abort_on: AbortOn = AbortOn()
    time_scale: float = Field(default=1.0, gt=0)
    name: str = "external"

    @field_validator("prometheus", "alertmanager", "toxiproxy")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)

    @field_validator("services")
    @classmethod
    def _service_urls(cls, services: dict[str, str]) -> dict[str, str]:
        if EDGE not in services:
            raise ValueError(f"needs the `{EDGE}` service: the load goes through it")
        return {name: _http_url(url) for name, url in services.items()}

    def proxy(self, scenario_proxy: str) -> str:
        """The deployed name of a proxy (a scenario's own must be listed: `check_against`)."""
        return self.proxies.get(scenario_proxy, scenario_proxy)

    def target(self) -> Target:
        return Target(
            name=self.name,
            edge_url=self.services[EDGE],
            prometheus_url=self.prometheus,
            alertmanager_url=self.alertmanager,
            toxiproxy_url=self.toxiproxy,
            services=dict(self.services),
            credentials=tuple(Credentials(k.value, k.tenant, "gameday") for k in self.api_keys),
        )


def load_config(path: Path) -> GamedayConfig:
    """The validated file; ConfigError with every problem otherwise."""
    config, problems = load_model(GamedayConfig, path)
    if config is None or problems:
        raise ConfigError(problems)
    return config


def check_against(config: GamedayConfig, path: Path, catalog: Catalog, scenario: Scenario) -> None:
    """What the file must provide for this catalogue and scenario; ConfigError otherwise."""
    file = display_path(path)
    problems: list[Problem] = []
    limit = config.abort_on.error_budget_burned
    if limit is not None:
        field = "abort_on.error_budget_burned.slo"
        try:
            slo = catalog.slo(limit.slo)
        except KeyError:
            known = sorted(s.name for s in catalog.slos)
            problems.append(Problem(file, field, f"unknown SLO {limit.slo!r} (known: {known})"))
        else:
            if not isinstance(slo, AvailabilitySlo):
                problems.append(Problem(file, field, f"{limit.slo} has no error budget"))
    for fault in scenario.faults:
        if isinstance(fault, HttpFaultSpec):
            needed = {c.service for c in (*fault.apply, *fault.rollback)}
        elif isinstance(fault, LoadFaultSpec):
            needed = {fault.service}
        else:
            needed = set()
        problems += [
            Problem(file, "services", f"fault {fault.name!r} needs service {s!r}")
            for s in sorted(needed - set(config.services))
        ]
    problems += [
        Problem(
            file,
            "proxies",
            f"the scenario breaks proxy {name!r}{closest(name, config.proxies)}, which is not "
            f"listed; add `{name}: <its name in the deployment>` (listed: "
            f"{', '.join(sorted(config.proxies)) or 'none'})",
        )
        for name in scenario.proxies
        if name not in config.proxies
    ]
    mitigation = scenario.mitigation
    if mitigation is not None:
        needed = {c.service for c in (*mitigation.apply, *mitigation.rollback)}
        problems += [
            Problem(file, "services", f"the mitigation needs service {s!r}")
            for s in sorted(needed - set(config.services))
        ]
    if problems:
        raise ConfigError(problems)
