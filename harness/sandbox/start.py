"""Starting a stack with the catalogue's rules rendered at a time scale, outside a test run.

The same composition the conformance session uses (a webhook receiver for Alertmanager, the
rules and the Alertmanager config written into the stack folder, then the stack), for
`wrkh up` and `wrkh preflight --target local|compose`. `make_stack` is the one place a
target name becomes a stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.observe.receiver import NotificationReceiver
from harness.spec.catalog import Catalog
from harness.spec.rules import render_alertmanager_config, render_rules
from harness.spec.timescale import Timing
from harness.stack.base import Stack
from harness.stack.compose import DEFAULT_COMPOSE_FILE, ComposeStack, ComposeStackConfig
from harness.stack.compose_override import compose_files, load_merged
from harness.stack.compose_plan import read_proxies
from harness.stack.fakes import DEFAULT_FAKES, DEFAULT_PROXIES, FakeService, ProxyRoute, with_env
from harness.stack.local import LocalStack, LocalStackConfig
from harness.stack.target import Target

STACK_TARGETS = ("local", "compose")


@dataclass(frozen=True)
class Wiring:
    """The local stack's services and proxies (tests start it with one link changed)."""

    fakes: Sequence[FakeService] = DEFAULT_FAKES
    proxies: Sequence[ProxyRoute] = DEFAULT_PROXIES


def make_stack(
    kind: str,
    stack_dir: Path,
    timing: Timing,
    *,
    alertmanager_config: Path,
    rules: Path,
    run_id: str,
    fake_env: Mapping[str, str],
    wiring: Wiring | None = None,
    scraped_at_start: bool = True,  # False: the caller calls `await_scraped` (local only)
) -> Stack:
    """The stack `kind` names: local processes (default) or docker-compose.yml (whose
    wiring is its own file's)."""
    wiring = wiring or Wiring()
    if kind == "compose":
        return ComposeStack(
            ComposeStackConfig(
                base_dir=stack_dir,
                timing=timing,
                alertmanager_config=alertmanager_config,
                rules_file=rules,
                run_id=run_id,
                fake_env=dict(fake_env),
            )
        )
    return LocalStack(
        LocalStackConfig(
            base_dir=stack_dir,
            timing=timing,
            alertmanager_config=alertmanager_config,
            rules_file=rules,
            run_id=run_id,
            fakes=with_env(tuple(wiring.fakes), dict(fake_env)),
            proxies=tuple(wiring.proxies),
            scraped_at_start=scraped_at_start,
        )
    )


def stack_proxies(kind: str, wiring: Wiring | None = None) -> frozenset[str]:
    """The Toxiproxy proxies of the stack `kind` names, known before it starts: the compose
    files' (deploy/toxiproxy.json, as the compose stack reads them), or the local routes."""
    if kind == "compose":
        return frozenset(read_proxies(load_merged(compose_files(DEFAULT_COMPOSE_FILE))))
    return frozenset(route.name for route in (wiring or Wiring()).proxies)


@dataclass
class StartedStack:
    """A stack with its receiver; `stop` tears both down (idempotent)."""

    stack: Stack
    receiver: NotificationReceiver
    target: Target
    timing: Timing
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_stack(
    kind: str,
    catalog: Catalog,
    timing: Timing,
    *,
    stack_dir: Path,
    run_id: str,
    fake_env: Mapping[str, str] | None = None,
    wiring: Wiring | None = None,
) -> StartedStack:
    """Receiver, rules, Alertmanager config, then the stack; nothing left if a step fails."""
    receiver = NotificationReceiver().start()
    try:
        stack_dir.mkdir(parents=True, exist_ok=True)
        rules = stack_dir / "rules.yml"
        rules.write_text(render_rules(catalog, timing))
        am_config = stack_dir / "alertmanager.yml"
        am_config.write_text(render_alertmanager_config(catalog, receiver.base_url, timing))
        stack = make_stack(
            kind,
            stack_dir,
            timing,
            alertmanager_config=am_config,
            rules=rules,
            run_id=run_id,
            fake_env=fake_env or {},
            wiring=wiring,
        )
        target = stack.start()  # a failed start stops what it started
    except BaseException:
        receiver.stop()
        raise
    return StartedStack(stack, receiver, target, timing, [receiver.stop, stack.stop])
