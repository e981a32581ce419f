"""Scenario isolation: the series deleted between scenarios are exactly the catalogue's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from harness.observe.prometheus import PrometheusClient
from harness.run.isolation import SeriesReset
from harness.spec.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def delete_series(self, matchers: list[str]) -> None:
        self.calls.append(matchers)


def test_one_selector_names_every_catalogue_series_and_nothing_else() -> None:
    series = load_catalog(ROOT / "scenarios" / "catalog").series_contract()
    prom = Recorder()
    SeriesReset.of(cast(PrometheusClient, prom), series)()
    [[matcher]] = prom.calls
    names = re.fullmatch(r'\{__name__=~"(.*)"\}', matcher)
    assert names is not None
    pattern = re.compile(names.group(1))
    assert all(pattern.fullmatch(s) for s in series)
    for kept in ("ALERTS", "ALERTS_FOR_STATE", "up", "slo:errors_per_request:ratio_rate5m"):
        assert not pattern.fullmatch(kept)


def test_nothing_to_delete_sends_nothing() -> None:
    prom = Recorder()
    SeriesReset.of(cast(PrometheusClient, prom), [])()
    assert prom.calls == []
