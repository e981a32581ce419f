"""A panel query rendered for Grafana (production) or for a harness run (scaled windows)."""

from __future__ import annotations

from harness.dashboards.model import RATE_INTERVAL, DashboardsFile
from harness.spec.templates import render_template
from harness.spec.timescale import format_duration

# Grafana's `$__rate_interval` is never shorter than four scrape intervals; the harness keeps
# that floor so a scaled rate() always has enough samples.
MIN_RATE_SCRAPES = 4


def grafana_expr(expr: str, file: DashboardsFile) -> str:
    """The query as Grafana runs it: named windows at real length, `$__rate_interval` kept."""
    return render_template(expr, file.windows_s, 1.0)


def rate_window_s(file: DashboardsFile, scale: float, scrape_interval_s: float) -> float:
    """What `$__rate_interval` stands for at `scale`."""
    return max(file.rate_interval_s / scale, MIN_RATE_SCRAPES * scrape_interval_s)


def expr_at(expr: str, file: DashboardsFile, scale: float, scrape_interval_s: float) -> str:
    """The query a harness run reads: every window divided by `scale`, no Grafana variable."""
    rate = format_duration(rate_window_s(file, scale, scrape_interval_s))
    return render_template(expr, file.windows_s, scale).replace(RATE_INTERVAL, rate)
