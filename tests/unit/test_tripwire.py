"""The run's tripwire: a death wakes every wait at once and is raised, named, in its place."""

from __future__ import annotations

import threading
import time

import pytest

from harness.errors import ComponentDied
from harness.run.tripwire import Tripwire

DEATH = ComponentDied("prometheus", 4242, "exited with signal 9 (SIGKILL)")


def _trip_soon(wire: Tripwire, after_s: float = 0.2) -> None:
    threading.Timer(after_s, wire.trip, args=(DEATH,)).start()


def test_a_sleep_ends_at_the_death_and_raises_it_with_what_the_run_was_doing() -> None:
    wire = Tripwire()
    wire.activity = "scenario wrk-platform-outage"
    _trip_soon(wire)
    began = time.monotonic()
    with pytest.raises(ComponentDied) as caught:
        wire.sleep(30)
    assert time.monotonic() - began < 10  # not the 30 s asked for
    assert str(caught.value) == (
        "prometheus (pid 4242) exited with signal 9 (SIGKILL) during scenario wrk-platform-outage"
    )


def test_a_wait_for_a_condition_ends_at_the_death() -> None:
    wire = Tripwire()
    _trip_soon(wire)
    with pytest.raises(ComponentDied):
        wire.until(lambda: False, timeout_s=30)
    assert Tripwire().until(lambda: True, timeout_s=0) is True
    assert Tripwire().until(lambda: False, timeout_s=0.1) is False


def test_only_the_first_death_counts_and_listeners_hear_it_once() -> None:
    wire = Tripwire()
    heard: list[str] = []
    wire.on_trip(lambda death: heard.append(str(death)))
    wire.check()  # nothing died yet
    wire.trip(DEATH)
    wire.trip(ComponentDied("toxiproxy", 1, "exited with code 1"))
    assert heard == [str(DEATH)]
    assert wire.error is not None and wire.error.component == "prometheus"
    with pytest.raises(ComponentDied):
        wire.check()
