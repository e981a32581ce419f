"""Prometheus queries, alert states and the alert history kept in the `ALERTS` series.

Every PromQL query, instant or range, goes through prometheus-api-client; it has no alerts or
targets API, so those go through the harness's HTTP client (harness.http_client). Every call
has a timeout and names the query when it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from harness import http_client
from harness.errors import ObserveError
from harness.observe.series import SeriesPoints
from harness.spec.timescale import format_duration

__all__ = [
    "ActiveAlert",
    "AlertSample",
    "PrometheusClient",
    "Sample",
]


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    timestamp: float
    value: float


@dataclass(frozen=True)
class ActiveAlert:
    """One entry of /api/v1/alerts."""

    name: str
    state: str  # pending | firing
    active_at: float  # unix seconds when it went pending
    labels: dict[str, str]


@dataclass(frozen=True)
class AlertSample:
    """One sample of the `ALERTS` series: at evaluation `timestamp` the alert was `state`."""

    name: str
    state: str  # pending | firing
    labels: tuple[tuple[str, str], ...]  # the alert's own labels, alertname and state left out
    timestamp: float


class PrometheusClient:
    def __init__(self, url: str, timeout_s: float = 5.0, *, retry: bool = True) -> None:
        """`retry`: the library's own policy (3 retries with backoff on connection errors and
        5xx); a readiness probe, which polls anyway, asks for none."""
        self.url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._connect = PrometheusConnect(
            url=self.url,
            disable_ssl=True,
            timeout=timeout_s,
            retry=None if retry else Retry(total=0, raise_on_status=False),
        )

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """An API of Prometheus that prometheus-api-client does not cover (alerts, targets)."""
        try:
            resp = http_client.shared().get(
                f"{self.url}{path}", params=params, timeout=self._timeout_s
            )
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ObserveError(f"prometheus {path} {params or ''}: {exc}") from exc
        if body.get("status") != "success":
            raise ObserveError(f"prometheus {path} {params or ''}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str, at: float | None = None) -> list[Sample]:
        """Instant query; a range selector yields every raw sample in the range."""
        params: dict[str, Any] = {"timeout": format_duration(self._timeout_s)}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            result = self._connect.custom_query(query=promql, params=params)
        except Exception as exc:  # requests' errors and the library's own alike
            raise ObserveError(f"prometheus query failed: {promql}: {exc}") from exc
        return list(_samples(result))

    def query_range(
        self, promql: str, start: float, end: float, step_s: float
    ) -> list[SeriesPoints]:
        """Range query; NaN points (e.g. 0/0 ratios) are dropped."""
        # The library rounds start and end to whole seconds; the run's windows are shorter
        # than that matters for, so the exact values are sent as parameters, which win.
        params = {
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "timeout": format_duration(self._timeout_s),
        }
        try:
            result = self._connect.custom_query_range(
                query=promql,
                start_time=datetime.fromtimestamp(start, UTC),
                end_time=datetime.fromtimestamp(end, UTC),
                step=f"{step_s:.3f}",
                params=params,
            )
        except Exception as exc:  # requests' errors and the library's own alike
            raise ObserveError(f"prometheus range query failed: {promql}: {exc}") from exc
        out = []
        for series in result:
            labels = {k: str(v) for k, v in series.get("metric", {}).items()}
            points = tuple(
                (float(t), float(v)) for t, v in series.get("values", []) if v not in _NAN
            )
            out.append(SeriesPoints(labels, points))
        return out

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets, as `/api/v1/targets` lists them."""
        data = self._get("/api/v1/targets", {"state": "active"})
        targets: list[dict[str, Any]] = data.get("activeTargets", [])
        return targets

    def rule_groups(self) -> list[dict[str, Any]]:
        """The rule groups Prometheus runs, as `/api/v1/rules` lists them."""
        groups: list[dict[str, Any]] = self._get("/api/v1/rules").get("groups", [])
        return groups

    def declared_metrics(self) -> dict[str, dict[str, str]]:
        """job -> metric family name -> type, as each scrape target declared them."""
        out: dict[str, dict[str, str]] = {}
        for entry in self._get("/api/v1/targets/metadata"):
            job = entry.get("target", {}).get("job", "")
            out.setdefault(job, {})[entry.get("metric", "")] = entry.get("type", "")
        return out

    def close(self) -> None:
        self._connect.close()

    def delete_series(self, matchers: list[str]) -> None:
        """Delete every sample of the matching series (admin API: only a Prometheus started
        with `--web.enable-admin-api` answers, i.e. one the harness started itself)."""
        path = "/api/v1/admin/tsdb/delete_series"
        try:
            resp = http_client.shared().post(
                f"{self.url}{path}", params=[("match[]", m) for m in matchers],
                timeout=self._timeout_s,
            )  # fmt: skip
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise ObserveError(f"prometheus {path}: {exc}") from exc

    def scalar(self, promql: str, at: float | None = None) -> float | None:
        """The single value of an instant query, or None when it returns nothing."""
        samples = self.query(promql, at)
        return samples[0].value if samples else None

    def alerts(self) -> list[ActiveAlert]:
        data = self._get("/api/v1/alerts")
        return [
            ActiveAlert(
                name=a["labels"].get("alertname", ""),
                state=a["state"],
                active_at=_parse_rfc3339(a["activeAt"]),
                labels=a["labels"],
            )
            for a in data.get("alerts", [])
        ]

    def alert_history(self, alertname: str, state: str, since: float, until: float) -> list[float]:
        """Evaluation timestamps at which the alert was in `state`, from the ALERTS series."""
        span = max(1, int(until - since + 1))
        promql = f'ALERTS{{alertname="{alertname}",alertstate="{state}"}}[{span}s]'
        return sorted(s.timestamp for s in self.query(promql, at=until) if s.timestamp >= since)

    def alert_samples(self, since: float, until: float) -> list[AlertSample]:
        """Every `ALERTS` sample (pending or firing) evaluated in [since, until], oldest first."""
        span = format_duration(max(0.0, until - since) + 1.0)  # filtered below
        promql = f'ALERTS{{alertstate=~"pending|firing"}}[{span}]'
        out = []
        for s in self.query(promql, at=until):
            if s.timestamp < since:
                continue
            own = tuple(sorted((k, v) for k, v in s.labels.items() if k not in _ALERT_KEYS))
            name = s.labels.get("alertname", "?")
            out.append(AlertSample(name, s.labels.get("alertstate", "?"), own, s.timestamp))
        return sorted(out, key=lambda a: a.timestamp)

    def alerts_active_between(self, since: float, until: float) -> dict[str, list[str]]:
        """Every alert that was pending or firing at some evaluation in [since, until]."""
        seen: dict[str, set[str]] = {}
        for a in self.alert_samples(since, until):
            seen.setdefault(a.name, set()).add(a.state)
        return {name: sorted(states) for name, states in sorted(seen.items())}


_ALERT_KEYS = frozenset({"__name__", "alertname", "alertstate"})
_NAN = frozenset({"NaN", "+Inf", "-Inf"})


def _samples(result: list[dict[str, Any]]) -> list[Sample]:
    out: list[Sample] = []
    for series in result:
        labels = {k: str(v) for k, v in series.get("metric", {}).items()}
        if "value" in series:
            ts, val = series["value"]
            out.append(Sample(labels, float(ts), float(val)))
        for ts, val in series.get("values", []):
            out.append(Sample(labels, float(ts), float(val)))
    return out


def _parse_rfc3339(text: str) -> float:
    # Prometheus writes nanoseconds; datetime takes at most microseconds.
    head, _, frac = text.rstrip("Z").partition(".")
    frac = (frac + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{frac}+00:00").timestamp()
