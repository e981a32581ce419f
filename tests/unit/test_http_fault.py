"""An HTTP-lever fault starts with its last call, not with the setup calls before it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from harness.run.faults import FaultContext, HttpCall, HttpFault


@dataclass
class SlowCall:
    """Stands in for an HttpCall: records when it was sent, takes `took_s` to answer."""

    took_s: float
    sent: list[float] = field(default_factory=list)

    def send(self, target: Any, memory: dict[str, str]) -> None:
        self.sent.append(time.time())
        time.sleep(self.took_s)


def _fault(*calls: SlowCall) -> HttpFault:
    return HttpFault("f", cast(tuple[HttpCall, ...], calls))


CTX = cast(FaultContext, type("Ctx", (), {"target": None})())


def test_a_fault_of_several_calls_starts_when_its_last_call_is_sent() -> None:
    setup, last = SlowCall(0.3), SlowCall(0.1)
    started = _fault(setup, last).apply(CTX)
    assert started is not None
    assert started >= setup.sent[0] + 0.3
    assert started <= last.sent[0]


def test_a_fault_of_one_call_keeps_the_injectors_time() -> None:
    assert _fault(SlowCall(0.0)).apply(CTX) is None
