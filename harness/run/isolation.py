"""Scenario isolation without drain waits: each scenario starts from empty metric series.

After an outage the alerts stay active for as long as their range windows still hold the
outage's samples (up to a scaled hour for TopTierChurnRisk), which a run used to wait out
before the next healthy baseline could be quiet. On a Prometheus the harness started itself
(local and compose targets, started with `--web.enable-admin-api`), the runner instead deletes
the samples of every catalogue series once the faults are rolled back: every window then
restarts empty, and each active alert goes inactive at the next evaluation.

Why this weakens no check: the deletion happens before the next scenario's load and warm-up,
and only after the faults are rolled back (verified) and one more scrape has landed, so every
sample left is from the healthy system. The next baseline is judged on those fresh samples
with the same quiet criterion; an alert whose condition is still true on them (a gauge that
has not recovered, a backlog not yet drained) goes pending again and is waited out as before,
and is caught by the quiet check if it lasts into the baseline. The previous scenario's checks
were all judged (and its series captured) before it returned, so nothing deleted is read again.
`ALERTS` and the rules' own series are kept: the quiet check's look-back reads `ALERTS`.
An external deployment's Prometheus is never touched; there the runner waits as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.observe.prometheus import PrometheusClient

log = logging.getLogger("harness.run.isolation")


@dataclass(frozen=True)
class SeriesReset:
    """Deletes every sample of the named series from the harness's own Prometheus."""

    prometheus: PrometheusClient
    series: tuple[str, ...]

    @classmethod
    def of(cls, prometheus: PrometheusClient, series: Iterable[str]) -> SeriesReset:
        return cls(prometheus, tuple(sorted(set(series))))

    @property
    def matcher(self) -> str:
        """One selector matching every series by its exact name."""
        names = "|".join(re.escape(s) for s in self.series)
        return f'{{__name__=~"{names}"}}'

    def __call__(self) -> None:
        if self.series:
            self.prometheus.delete_series([self.matcher])
            log.info("deleted the samples of %d series", len(self.series))
