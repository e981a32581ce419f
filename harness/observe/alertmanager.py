"""Deliveries seen through Alertmanager's API, for deployments whose receivers we do not own.

Against a real deployment Alertmanager notifies the deployment's own receivers (pager, chat),
not the harness. What the harness can see is Alertmanager's view: `/api/v2/alerts` lists each
alert it holds with the receivers its route chose. An alert appearing there active (neither
silenced nor inhibited) is recorded as a `firing` notification to those receivers; its
disappearing (Prometheus sent the resolution, so its end passed) as `resolved`. Times are when
Alertmanager held the alert, i.e. before its group wait: a lower bound of the real delivery.

The records have the receiver module's `Notification` shape, so the runner reads both alike.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import yaml

from harness import http_client
from harness.errors import ObserveError
from harness.observe.receiver import Notification, NotificationLog, NotifiedAlert

log = logging.getLogger("harness.observe")


@dataclass(frozen=True)
class HeldAlert:
    """One alert as `/api/v2/alerts` lists it."""

    fingerprint: str
    name: str
    labels: dict[str, str]
    receivers: tuple[str, ...]
    starts_at: str
    ends_at: str


class AlertmanagerClient:
    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._http = http_client.new_client(self.url, timeout_s)

    def active_alerts(self) -> list[HeldAlert]:
        """Alerts Alertmanager would notify about now (not silenced, not inhibited)."""
        params = {"active": "true", "silenced": "false", "inhibited": "false"}
        try:
            resp = self._http.get("/api/v2/alerts", params=params)
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ObserveError(f"alertmanager {self.url}/api/v2/alerts: {exc}") from exc
        return [parse_held_alert(a) for a in body]

    def config(self) -> dict[str, Any]:
        """The configuration Alertmanager runs, from `/api/v2/status` (`config.original`)."""
        try:
            resp = self._http.get("/api/v2/status")
            resp.raise_for_status()
            doc = yaml.safe_load(resp.json()["config"]["original"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise ObserveError(f"alertmanager {self.url}/api/v2/status: {exc}") from exc
        if not isinstance(doc, dict):
            raise ObserveError(f"alertmanager {self.url}/api/v2/status: no configuration")
        return doc

    def close(self) -> None:
        self._http.close()


def parse_held_alert(raw: dict[str, Any]) -> HeldAlert:
    labels = {str(k): str(v) for k, v in raw.get("labels", {}).items()}
    return HeldAlert(
        fingerprint=str(raw.get("fingerprint", "")),
        name=labels.get("alertname", ""),
        labels=labels,
        receivers=tuple(str(r.get("name", "")) for r in raw.get("receivers", [])),
        starts_at=str(raw.get("startsAt", "")),
        ends_at=str(raw.get("endsAt", "")),
    )


class HeldAlertDiff:
    """Turns successive `/api/v2/alerts` polls into firing / resolved records."""

    def __init__(self) -> None:
        self._held: dict[str, HeldAlert] = {}

    def update(self, alerts: list[HeldAlert], now: float) -> list[Notification]:
        current = {a.fingerprint: a for a in alerts}
        out = [_note(a, "firing", now) for fp, a in current.items() if fp not in self._held]
        out += [_note(a, "resolved", now) for fp, a in self._held.items() if fp not in current]
        self._held = current
        return out


def _note(alert: HeldAlert, status: str, now: float) -> Notification:
    receiver = alert.receivers[0] if alert.receivers else ""
    notified = NotifiedAlert(alert.name, status, alert.labels, alert.starts_at, alert.ends_at)
    return Notification(receiver, status, (notified,), now)


class AlertmanagerDeliveries(NotificationLog):
    """Polls Alertmanager in the background; reads like the harness's webhook receiver."""

    def __init__(self, client: AlertmanagerClient, poll_s: float = 0.2) -> None:
        super().__init__()
        self._client, self._poll_s = client, poll_s
        self._diff = HeldAlertDiff()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alertmanager-watch", daemon=True)

    def start(self) -> AlertmanagerDeliveries:
        self.poll()  # the first poll is the baseline: alerts already held count from now
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def poll(self) -> None:
        try:
            alerts = self._client.active_alerts()
        except ObserveError as exc:
            with self._lock:
                self._errors.append(str(exc))
            return
        self._record(self._diff.update(alerts, time.time()))

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.poll()

    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)
