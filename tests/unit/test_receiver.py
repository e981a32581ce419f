"""The webhook receiver records real HTTP notifications with the receiver from the path."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from harness.errors import ObserveError
from harness.observe.receiver import NotificationReceiver


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    rcv = NotificationReceiver().start()
    yield rcv
    rcv.stop()


def _post(url: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_records_firing_and_resolved_per_receiver(receiver: NotificationReceiver) -> None:
    body = {
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "X", "severity": "SEV-2"},
                    "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}],
    }  # fmt: skip
    assert _post(f"{receiver.base_url}/hook/security", json.dumps(body).encode()) == 200
    first = receiver.first("X", "firing", since=0)
    assert first is not None
    assert first.receiver == "security"
    assert first.alerts[0].labels["severity"] == "SEV-2"
    assert receiver.first("X", "resolved", since=0) is None


def test_bad_payload_is_400_and_surfaces_on_caller_thread(receiver: NotificationReceiver) -> None:
    assert _post(f"{receiver.base_url}/hook/oncall", b"{not json") == 400
    assert _post(f"{receiver.base_url}/elsewhere", b"{}") == 404
    with pytest.raises(ObserveError, match="unreadable notification for oncall"):
        receiver.raise_errors()
