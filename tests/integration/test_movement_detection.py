"""Detection power of the movement checks: a panel whose number is stuck, or a value never
exported, must fail the suite by name, naming the queue, call or reason concerned.

Each run breaks the fakes through WRK_DEFECTS (fake_services/defects.py) in ways a real build
could ship: the data still exists, so presence checks pass, but one series no longer moves.
Defects that act on different series share a run, and each is asserted on its own check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks.dashboards import MOVES
from harness.checks.label_values import KIND as LABEL_VALUES

from ._wrkh import ROOT, Run, copy_catalog, defects, run

pytestmark = pytest.mark.integration
ERRORS, BACKLOG = "wrk-platform-errors", "queue-backlog"


def _checks(broken: Run, kind: str) -> dict[str, dict[str, Any]]:
    """Checks of `kind` by id."""
    return {c["id"]: c for c in broken.checks(kind)}


def _failed(checks: dict[str, dict[str, Any]], suffix: str) -> str:
    """The message of the check whose id ends with `suffix`, which must have failed."""
    (check,) = [c for i, c in checks.items() if i.endswith(suffix)]
    assert not check["passed"], check["message"]
    return str(check["message"])


@pytest.fixture(scope="module")
def stuck(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Platform errors with the dead-letter gauge stuck and platform calls untimed, then a
    backlog held 15m (every metric required present, no alert expected) with notifications'
    depth unexported and usage-aggregation's read from the wrong key: the two pairs of
    defects move different series."""
    root = tmp_path_factory.mktemp("stuck")
    suite = copy_catalog(root, "platform_errors.yaml")
    backlog = yaml.safe_load((ROOT / "scenarios" / "queue_backlog.yaml").read_text())
    assert backlog["name"] == BACKLOG, "the scenario was renamed; update this test"
    backlog["expect"]["evidence"] = {"metrics_present": "all"}
    # The depths must move, QueueDepthHigh need not fire: 6 s of backlog, not ~30 s.
    for key in ("fires", "onset"):
        del backlog["expect"][key]
    for fault in backlog["faults"]:
        fault["hold"] = "15m"
    (suite / "queue_backlog.yaml").write_text(yaml.safe_dump(backlog, sort_keys=False))
    names = "dead_letter_gauge_stuck,platform_latency_untimed,queue_depth_unexported," + (
        "queue_depth_wrong_key"
    )
    args = defects(names, ERRORS, BACKLOG)
    return run(root / "reports", *args, "--scenarios", str(suite), want=1)


def test_stuck_dead_letters_and_untimed_platform_calls_fail_by_name(stuck: Run) -> None:
    moves = _checks(stuck, MOVES)
    dead = _failed(moves, "dead-letter-queue-size[queue=build-requests]")
    assert "max by (queue) (dead_letter_queue_depth)' did not move: 0 -> 0" in dead
    assert "worker_dead_letter_count_total" in dead and " moved: 0 -> " in dead  # the counter did
    for call in ("create_workflow", "deactivate_workflow"):
        latency = _failed(moves, f"wrk-platform-call-latency-p50-p95-p99[call={call}]")
        assert f"call={call} expected to rise" in latency and "did not move" in latency
        ratio = next(
            c for i, c in moves.items() if i.endswith(f"failure-ratio-by-call[call={call}]")
        )
        assert ratio["passed"], ratio["message"]  # failures are still counted


def test_uncounted_failures_and_misfiled_reasons_fail_by_name(tmp_path: Path) -> None:
    scenarios = (ERRORS, "bad-webhook-signatures", "slow-database")
    names = "job_failures_uncounted,signature_failures_misfiled,timeouts_misfiled," + (
        "platform_errors_succeed"
    )
    broken = run(tmp_path, *defects(names, *scenarios), want=1)
    moves = _checks(broken, MOVES)
    rate = _failed(moves, "job-failure-rate-by-queue[queue=build-requests]")
    assert "queue=build-requests expected to rise" in rate
    dead = _failed(moves, "dead-letter-queue-size[queue=build-requests]")
    assert "worker_dead_letter_count_total" in dead.split("did not move")[0]
    for call in ("create_workflow", "deactivate_workflow"):
        ratio = _failed(moves, f"failure-ratio-by-call[call={call}]")
        assert f"call={call} expected to rise" in ratio
    for reason in ("invalid_signature", "timeout"):
        message = _failed(moves, f"webhook-failures-by-reason[reason={reason}]")
        assert f"reason={reason} expected to rise" in message
    fires = broken.checks("alert_fires")
    signature = next(c for c in fires if c["alert"] == "WebhookSignatureFailures")
    assert signature["passed"], signature["message"]  # it sums both reasons: it cannot tell


def test_an_unexported_queue_and_a_depth_read_from_the_wrong_key_fail_by_name(
    stuck: Run,
) -> None:
    """notifications is not exported at all; usage-aggregation is exported, always at 0."""
    (values,) = stuck.checks(LABEL_VALUES, BACKLOG)
    assert not values["passed"]
    for series in ("queue_depth", "queue_in_flight", "dead_letter_queue_depth"):
        if series != "queue_in_flight":  # not in the contract: not checked
            assert f'{series}{{queue="notifications"}}' in values["message"]
    assert "usage-aggregation" not in values["message"]  # exported: presence cannot tell
    moves = _checks(stuck, MOVES)
    assert "has no series for it" in _failed(moves, "queue-depth-per-queue[queue=notifications]")
    stuck_depth = _failed(moves, "queue-depth-per-queue[queue=usage-aggregation]")
    assert "did not move: 0 -> 0" in stuck_depth
    for queue in ("build-requests", "ai-ingestion"):
        assert moves[f"{BACKLOG}::{MOVES}::wrk-worker-queue/queue-depth-per-queue[queue={queue}]"][
            "passed"
        ]
