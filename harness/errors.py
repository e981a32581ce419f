"""The harness's one exception tree.

HarnessError                    anything the harness raises on purpose; `wrkh` exits 2 on it
├── ConfigError                 bad input: scenario, catalogue or target file (every `Problem`)
├── ToolMissingError            a required binary is absent; says how to get it
├── StackError                  the stack could not start or stop
│   ├── ServiceStartError       one service failed to become ready (carries its log tail)
│   ├── ComponentDied           a process of the stack exited while the run needed it
│   └── Cancelled               (stack.readiness) a wait abandoned while a start is aborted
├── PreflightFailed             (contract.preflight) gaps of the target block the chosen
│                               scenarios; the run stops before any of them (exit 1)
├── FaultError                  a fault could not be applied or rolled back
├── LoadError                   the load generator failed
├── ObserveError                Prometheus / Alertmanager / logs / database could not be read
└── ReportError                 a report, results file or ledger cannot be read or written

Outside the tree, on purpose:
- Interrupted (a KeyboardInterrupt): a signal (SIGINT / SIGTERM) stopped the run; raised in
  the main thread so every `finally` runs, and never caught as a harness failure.
- ScenarioFailed (pytest_plugin): how a scenario whose checks failed fails its pytest item;
  checks failing is a verdict, not an error.
- http_client.Unavailable (httpx's TransportError): no answer to one request, turned into
  the caller's own error (StackError, FaultError, ObserveError) with what was being asked.
- spec.promql.PromQLError (a ValueError; PromQLTooComplex beneath it) and
  spec.yaml_limits.InputLimitExceeded (a yaml.MarkedYAMLError): raised and caught inside
  validation, where each becomes a `Problem` of a ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ComponentDied",
    "ConfigError",
    "FaultError",
    "HarnessError",
    "Interrupted",
    "LoadError",
    "ObserveError",
    "Problem",
    "ReportError",
    "ServiceStartError",
    "StackError",
    "ToolMissingError",
]


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class ConfigError(HarnessError):
    """Input files are invalid; lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the input:\n{lines}")


class ToolMissingError(HarnessError):
    """A binary the harness needs is not installed."""

    def __init__(self, binary: str, how_to_get: str) -> None:
        self.binary = binary
        super().__init__(f"required binary {binary!r} not found; {how_to_get}")


class StackError(HarnessError):
    """The stack could not be started or stopped."""


class ServiceStartError(StackError):
    """A service did not become ready; the message ends with the tail of its log."""

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        self.service = service
        self.reason = reason
        self.log_tail = log_tail
        tail = f"\n--- last lines of {service}'s log ---\n{log_tail}" if log_tail else ""
        super().__init__(f"service {service!r} failed to start: {reason}{tail}")


class ComponentDied(StackError):
    """A process the harness started exited during the run; names it, its PID and how."""

    def __init__(self, component: str, pid: int | None, how: str, during: str = "") -> None:
        self.component, self.pid, self.how, self.during = component, pid, how, during
        pid_text = f" (pid {pid})" if pid is not None else ""
        super().__init__(f"{component}{pid_text} {how}" + (f" during {during}" if during else ""))

    def in_context(self, what: str) -> ComponentDied:
        """The same death, saying what the run was doing (e.g. `scenario X`)."""
        return ComponentDied(self.component, self.pid, self.how, self.during or what)


class FaultError(HarnessError):
    """A fault could not be injected or rolled back."""


class LoadError(HarnessError):
    """The load generator failed."""


class ObserveError(HarnessError):
    """An observation backend (Prometheus, Alertmanager, logs) could not be read."""


class ReportError(HarnessError):
    """A report, results file or ledger cannot be read or written."""


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop; raised in the main thread so `finally` blocks run."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by signal {signum}")
