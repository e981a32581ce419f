"""Every fault proves it acted: a fault that moves nothing fails the run, naming the fault.

The scenario a newcomer writes: the WRK Platform answering 503 to 2% of workflow calls
through its fault lever, no alert expected, held an hour. No alert tells it from the same
lever pulled at a ratio of 0 (held 15 minutes, a second scenario of the same run): only
`fault_effective` does, and only it is asserted (2% of writes failing may rightly fire
ApiHigh5xxRate by chance).
An hour is 24 s at the default time scale, about 480 workflow calls: the chance that none
of them fails is 0.98^480, below 1 in 10,000 (15 minutes, 6 s, left it at 1 in 11).
"""

from __future__ import annotations

from typing import Any

import pytest

from ._wrkh import Run, copy_catalog, run

pytestmark = pytest.mark.integration

NEWCOMER = """
name: {name}
description: The WRK Platform answers 503 to {percent}% of workflow calls
load:
  users: 20
  rate_per_user: 5
  mix: {{studio_read: 4, studio_write: 1}}
phases:
  warmup: 5m
  baseline: 5m
faults:
  - name: platform-503s
    kind: http
    hold: {hold}
    apply:
      service: platform
      method: PUT
      path: /admin/faults
      json: {{mode: error_5xx, ratio: {ratio}, status: 503}}
    rollback:
      service: platform
      method: PUT
      path: /admin/faults
      json: {{mode: none}}
expect:
  fires: []
"""


# name -> (ratio, hold); a lever that does nothing shows nothing however long it is held.
FAULTS = {"platform-flaky": (0.02, "60m"), "platform-flaky-off": (0.0, "15m")}


@pytest.fixture(scope="module")
def flaky(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("flaky")
    suite = copy_catalog(root)
    for name, (ratio, hold) in FAULTS.items():
        scenario = NEWCOMER.format(name=name, percent=f"{ratio * 100:g}", ratio=ratio, hold=hold)
        (suite / f"{name}.yaml").write_text(scenario)
    return run(root / "reports", "--scenarios", str(suite), want=1)


def _fault_effective(flaky: Run, scenario: str) -> dict[str, Any]:
    (check,) = flaky.checks("fault_effective", scenario)
    return check


def test_the_fault_that_acted_is_shown_acting(flaky: Run) -> None:
    check = _fault_effective(flaky, "platform-flaky")
    assert check["passed"] is True, check["message"] + flaky.output[-3000:]
    assert check["id"] == "platform-flaky::fault_effective::platform-503s"
    assert 'wrk_platform_calls_total{outcome="failure"}' in check["message"]


def test_a_fault_made_ineffective_fails_the_run_naming_it(flaky: Run) -> None:
    check = _fault_effective(flaky, "platform-flaky-off")
    assert check["passed"] is False
    assert check["message"].startswith("fault platform-503s (PUT platform/admin/faults) showed no")
    assert "FAIL fault_effective" in flaky.output
    assert list(flaky.failed("platform-flaky-off")) == ["fault_effective"]  # the only one
