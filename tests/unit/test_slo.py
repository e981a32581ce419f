"""SLO models, their queries and the verdicts computed from measurements (harness.spec.slo)."""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigError, Problem
from harness.spec.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog
from harness.spec.slo import AsyncSlo, AvailabilitySlo, LatencySlo
from harness.spec.slo_verdicts import async_result, availability, latency_held
from tests.fakes import _postgres

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def problems_with(tmp_path: Path, old: str, new: str) -> dict[str, str]:
    """Problems of the real catalogue with one text replacement in slos.yaml, by field."""
    folder = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, folder)
    slos = folder / "slos.yaml"
    text = slos.read_text()
    assert old in text, old
    slos.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_catalog(folder)
    problems: list[Problem] = info.value.problems
    assert {Path(p.file).name for p in problems} == {"slos.yaml"}
    return {p.field: p.reason for p in problems}


# -- availability ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "ratio", "burn", "held"),
    [
        ((1000, 0, 0.995), 1.0, 0.0, True),
        ((1000, 5, 0.995), 0.995, 1.0, True),  # exactly on budget holds
        ((1000, 6, 0.995), 0.994, 1.2, False),
        ((1000, 72, 0.995), 0.928, 14.4, False),  # the fast-burn page's pace
        ((200, 2, 0.99), 0.99, 1.0, True),
        ((200.5, 0.5, 0.99), 1 - 0.5 / 200.5, 0.5 / 200.5 / 0.01, True),  # increase() is fractional
    ],
)
def test_availability(
    measured: tuple[float, float, float], ratio: float, burn: float, held: bool
) -> None:
    result = availability(*measured)
    assert result.ratio == pytest.approx(ratio)
    assert result.budget_burn == pytest.approx(burn)
    assert result.held is held
    r, b, h = result  # reads as the tuple it is
    assert (r, b, h) == (result.ratio, result.budget_burn, result.held)


def test_availability_without_traffic_does_not_hold() -> None:
    assert availability(0, 0, 0.995) == (None, None, False)


@pytest.mark.parametrize(
    ("total", "errors", "objective"),
    [(10, 11, 0.99), (10, -1, 0.99), (-1, 0, 0.99), (10, 0, 1.0), (10, 0, 0.0), (10, 0, 99.5)],
)
def test_availability_rejects_impossible_inputs(
    total: float, errors: float, objective: float
) -> None:
    with pytest.raises(ValueError):
        availability(total, errors, objective)


@given(st.integers(1, 10**6), st.data(), st.sampled_from([0.99, 0.995, 0.999]))
def test_availability_holds_exactly_when_errors_fit_the_budget(
    total: int, data: st.DataObject, objective: float
) -> None:
    errors = data.draw(st.integers(0, total))
    result = availability(total, errors, objective)
    budget = round(total * (1 - objective), 6)
    assert result.held is (errors <= budget + 1e-6)
    assert result.ratio == pytest.approx(1 - errors / total)


# -- latency --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p95", "threshold", "held"),
    [(0.39, 0.4, True), (0.4, 0.4, True), (0.41, 0.4, False), (math.nan, 0.4, False)],
)
def test_latency_held(p95: float, threshold: float, held: bool) -> None:
    assert latency_held(p95, threshold) is held


def test_latency_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        latency_held(0.1, 0)


# -- async ----------------------------------------------------------------------------------


def test_async_result_counts_shares_and_the_percentile() -> None:
    delays: list[float | None] = [float(i) for i in range(1, 20)] + [400.0]  # 19 fast, 1 late
    result = async_result(delays, 0.95, 300)
    assert (result.count, result.within, result.share_within) == (20, 19, 0.95)
    assert result.percentile_s == 19.0  # nearest rank: the 19th of 20
    assert result.held is True
    assert async_result(delays, 0.96, 300).held is False


def test_an_unfinished_item_is_a_miss() -> None:
    result = async_result([1.0, None], 0.5, 30)
    assert (result.within, result.share_within, result.held) == (1, 0.5, True)
    assert async_result([1.0, None], 0.95, 30).percentile_s == math.inf


def test_expected_items_missing_from_the_rows_are_misses() -> None:
    result = async_result([1.0] * 95, 0.95, 30, expected=100)
    assert (result.count, result.within, result.held) == (100, 95, True)
    assert async_result([1.0] * 94, 0.95, 30, expected=100).held is False
    with pytest.raises(ValueError, match="only 3 expected"):
        async_result([1.0] * 4, 0.95, 30, expected=3)


def test_no_item_is_no_verdict_and_every_item_means_every_item() -> None:
    empty = async_result([], 0.95, 30)
    assert (empty.count, empty.share_within, empty.percentile_s, empty.held) == (
        0,
        None,
        None,
        False,
    )
    assert async_result([1.0] * 999 + [301.0], 1.0, 300).held is False  # percentile 100%
    assert async_result([1.0] * 1000, 1.0, 300).held is True


@pytest.mark.parametrize(
    ("delays", "percentile", "threshold"),
    [
        ([-1.0], 0.95, 30),
        ([math.nan], 0.95, 30),
        ([1.0], 0, 30),
        ([1.0], 1.5, 30),
        ([1.0], 0.95, 0),
    ],
)
def test_async_rejects_impossible_inputs(
    delays: list[float | None], percentile: float, threshold: float
) -> None:
    with pytest.raises(ValueError):
        async_result(delays, percentile, threshold)


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 1000)), min_size=1, max_size=200),
    st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]),
    st.floats(0.001, 1000),
)
def test_held_exactly_when_the_percentile_is_within_the_threshold(
    delays: list[float | None], percentile: float, threshold: float
) -> None:
    result = async_result(delays, percentile, threshold)
    assert result.percentile_s is not None
    assert result.held is (result.percentile_s <= threshold)


# -- the catalogue's SLOs -------------------------------------------------------------------

SPEC = {
    "studio-api-availability": ("availability", 0.995, None),
    "studio-api-read-latency": ("latency", 0.95, 0.4),
    "studio-api-write-latency": ("latency", 0.95, 0.8),
    "admin-api-availability": ("availability", 0.99, None),
    "admin-api-read-latency": ("latency", 0.95, 0.6),
    "admin-api-write-latency": ("latency", 0.95, 1.0),
    "run-event-webhook-availability": ("availability", 0.995, None),
    "run-event-storage-latency": ("async", 0.95, 30),
    "usage-aggregation-latency": ("async", 1.0, 300),
    "build-job-latency": ("async", 0.95, 300),
    "notification-latency": ("async", 0.95, 60),
}


def test_the_catalogue_has_every_slo_of_the_spec(catalog: Catalog) -> None:
    found = {}
    for slo in catalog.slos:
        if isinstance(slo, AvailabilitySlo):
            found[slo.name] = (slo.kind, slo.objective, None)
        elif isinstance(slo, LatencySlo):
            found[slo.name] = (slo.kind, slo.quantile, slo.threshold_s)
        else:
            found[slo.name] = (slo.kind, slo.percentile, slo.threshold_s)
    assert found == SPEC


def test_availability_queries_and_burn_rates(catalog: Catalog) -> None:
    slo = catalog.availability_slo("studio-api-availability")
    assert slo.error_budget == 0.005 and slo.period_s == 30 * 86400
    studio = 'job="edge", route=~"/v1/automations.*|/v1/automation-versions.*"'
    assert slo.total_at(300) == f"sum(increase(http_request_count_total{{{studio}}}[5m]))"
    assert slo.error_ratio_at(3600) == (
        f'(sum(increase(http_request_count_total{{{studio}, status=~"5.."}}[1h])) or vector(0))'
        f" / sum(increase(http_request_count_total{{{studio}}}[1h]))"
    )
    # budget consumed x 30 days / window: the SRE workbook's 14.4, 6 and 1.
    assert slo.burn_rate(0.02, 3600) == 14.4
    assert slo.burn_rate(0.05, 6 * 3600) == 6
    assert slo.burn_rate(0.10, 3 * 86400) == 1
    assert slo.verdict(1000, 5).held is True


def test_latency_queries(catalog: Catalog) -> None:
    reads = catalog.slo("studio-api-read-latency")
    assert isinstance(reads, LatencySlo)
    assert reads.quantile_at(300) == (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
        '{job="edge", route=~"/v1/automations.*|/v1/automation-versions.*", method="GET"}'
        "[5m])))"
    )
    assert 'le=~"0\\\\.4"' in reads.within_threshold_at(300)
    writes = catalog.slo("admin-api-write-latency")
    assert isinstance(writes, LatencySlo)
    # Go clients print the 1 s edge as "1", Python clients as "1.0": match both.
    assert 'le=~"1|1\\\\.0"' in writes.within_threshold_at(300)
    assert writes.held(1.0) and not writes.held(1.2)


def test_async_thresholds_are_scaled_and_request_latencies_are_not(catalog: Catalog) -> None:
    def threshold_at_60(name: str) -> float:
        slo = catalog.slo(name)
        assert isinstance(slo, AsyncSlo)
        return slo.threshold_at(60)

    assert threshold_at_60("build-job-latency") == 5.0
    assert threshold_at_60("run-event-storage-latency") == 0.5
    assert threshold_at_60("notification-latency") == 1.0
    assert threshold_at_60("usage-aggregation-latency") == 5.0
    reads = catalog.slo("studio-api-read-latency")
    assert isinstance(reads, LatencySlo) and reads.threshold_s == 0.4  # no scale involved
    build = catalog.slo("build-job-latency")
    assert isinstance(build, AsyncSlo)
    assert build.verdict([4.0] * 19 + [6.0], scale=60).held is True  # 5 min -> 5 s
    assert build.verdict([4.0] * 18 + [6.0] * 2, scale=60).held is False
    assert build.tables == {"automation_versions"}


# -- problems in slos.yaml ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("threshold: 400ms", "threshold: 450ms", "slos[1].threshold", "not a bucket edge"),
        (
            "histogram: http_request_duration_seconds_bucket",
            "histogram: http_request_count_total",
            "slos[1].histogram",
            "not a histogram _bucket series",
        ),
        ('method="GET"', 'verb="GET"', "slos[1].selector", "has no label 'verb'"),
        ('job="edge", route=~"/v1/admin/.*", method="GET"', 'job="admin"', "slos[4].selector",
         "matches none of its values: core, edge, webhook"),
        ("objective: 99.5%", "objective: 99.5", "slos[0].objective", "not a percentage"),
        ("objective: 99.5%", "objective: 100%", "slos[0].objective", "no error budget"),
        ("quantile: 95%", "quantile: 100%", "slos[1].quantile", "below 100%"),
        ("percentile: 95%", "percentile: 0%", "slos[7].percentile", "above 0%"),
        ("[{{window}}]))\n", "[5m]))\n", "slos[0].total", "literal duration '5m'"),
        ("kind: latency", "kind: speed", "slos[1]", "unknown kind 'speed'"),
        ("AND received_at < $2", "", "slos[7].sql", "must use parameter $2"),
        ("AS latency_s\n      FROM run_events\n", "AS delay\n      FROM events\n",
         "slos[7].sql", "must return the delay as a column named latency_s"),
        ("name: studio-api-read-latency", "name: studio-api-availability", "slos[1].name",
         "duplicate SLO name 'studio-api-availability'"),
        ("    service: Studio API\n", "    colour: blue\n", "slos[0].colour", "unknown field"),
    ],
)  # fmt: skip
def test_slo_problems_name_the_field(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    fields = problems_with(tmp_path, old, new)
    assert field in fields, fields
    assert reason in fields[field]


def test_async_queries_may_read_only_declared_tables(tmp_path: Path) -> None:
    build = "FROM automation_versions\n      WHERE status"
    fields = problems_with(tmp_path, build, build.replace("automation_versions", "versions"))
    assert fields["slos[9].sql"] == (
        "reads undeclared table(s) ['versions']; declared: ['automation_versions', 'job_runs',"
        " 'notifications', 'run_events', 'usage_aggregates']"
    )


# -- the queries are real PromQL and compute what they claim (promtool) ---------------------


@needs_promtool
def test_slo_queries_evaluate_as_claimed(catalog: Catalog, tmp_path: Path) -> None:
    reads = catalog.slo("studio-api-read-latency")
    writes = catalog.slo("admin-api-write-latency")
    studio = catalog.availability_slo("studio-api-availability")
    assert isinstance(reads, LatencySlo) and isinstance(writes, LatencySlo)
    records = {
        "studio_read_p95": reads.quantile_at(300),
        "studio_read_within": reads.within_threshold_at(300),
        "admin_write_within": writes.within_threshold_at(300),
        "studio_error_ratio": studio.error_ratio_at(300),
    }
    recording = [{"record": name, "expr": expr} for name, expr in records.items()]
    rules = {"groups": [{"name": "slo", "rules": recording}]}
    (tmp_path / "slo.rules.yml").write_text(yaml.safe_dump(rules))
    # Per minute: 100 Studio reads, 80 within 0.25 s, 96 within 0.4 s; 100 Admin writes, 90
    # within 1 s (le as Python's client prints it, "1.0"); 2 Studio 5xx, 1 Studio 404.
    edge = 'job="edge", route="/v1/automations", method="GET"'
    admin = 'job="edge", route="/v1/admin/tenants", method="POST"'
    series = [
        (f'http_request_duration_seconds_bucket{{{edge}, le="0.25"}}', "0+80x20"),
        (f'http_request_duration_seconds_bucket{{{edge}, le="0.4"}}', "0+96x20"),
        (f'http_request_duration_seconds_bucket{{{edge}, le="0.5"}}', "0+100x20"),
        (f'http_request_duration_seconds_bucket{{{edge}, le="+Inf"}}', "0+100x20"),
        (f'http_request_duration_seconds_bucket{{{admin}, le="1.0"}}', "0+90x20"),
        (f'http_request_duration_seconds_bucket{{{admin}, le="+Inf"}}', "0+100x20"),
        (f'http_request_count_total{{{edge}, status="200"}}', "0+97x20"),
        (f'http_request_count_total{{{edge}, status="500"}}', "0+2x20"),
        (f'http_request_count_total{{{edge}, status="404"}}', "0+1x20"),
    ]
    expected = {
        "studio_read_p95": 0.25 + 0.15 * 15 / 16,  # rank 95 in the (0.25, 0.4] bucket
        "studio_read_within": 0.96,
        "admin_write_within": 0.9,
        "studio_error_ratio": 0.02,
    }
    tests = {
        "rule_files": ["slo.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "promql_expr_test": [  # within 1e-9: promtool compares floats exactly
                    {
                        "expr": f"abs({name} - {value!r}) < bool 1e-9",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    }
                    for name, value in expected.items()
                ],
            }
        ],
    }
    (tmp_path / "slo.test.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(tmp_path / "slo.test.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert latency_held(expected["studio_read_p95"], reads.threshold_s)
    assert reads.quantile <= expected["studio_read_within"]  # the same verdict, exactly


# -- the async queries run on Postgres against the tables the contract declares -------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not _postgres.available():
        pytest.skip("PostgreSQL 15 binaries not installed")
    pg = _postgres.start_postgres()
    try:
        yield pg.create_database()
    finally:
        pg.stop()


T0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def at(seconds: float | None) -> datetime | None:
    return None if seconds is None else T0 + timedelta(seconds=seconds)


# (event_id, tenant, automation, received_at = occurred_at, stored_at)
RUN_EVENTS = [
    ("e1", "t1", "a1", 0, 1),
    ("e2", "t1", "a1", 10, 45),
    ("e3", "t2", "a1", 20, None),  # no aggregate for t2: a skipped tenant
    ("e4", "t1", "a2", 30, 31),  # its aggregate counts more runs than were stored
    ("e0", "t1", "a1", -100, -99),  # before the window, in the same day's aggregate
]
USAGE = [("t1", "a1", 3), ("t1", "a2", 5)]  # (tenant, automation, run_count) of T0's day
# (queue, job_id, tenant, enqueued_at, finished_at, status)
JOB_RUNS = [
    ("usage-aggregation", "e1", "t1", 2, 60, "succeeded"),
    ("usage-aggregation", "e2", "t1", 46, 400, "succeeded"),
    ("usage-aggregation", "e2", "t1", 46, 50, "failed"),  # a failed attempt row does not count
    ("usage-aggregation", "e3", "t2", 21, 22, "succeeded"),  # finished, yet nothing to see
    ("usage-aggregation", "e4", "t1", 31, 32, "succeeded"),
    ("notifications", "n1", "t1", 5, 6.5, "succeeded"),
    ("notifications", "n2", "t2", 7, 8, "succeeded"),  # no delivered record
]
# (id, tenant, status, workflow_id, created_at, updated_at)
VERSIONS = [
    ("v1", "t1", "active", "wf-1", 0, 100),
    ("v2", "t1", "build_failed", None, 0, 20),
    ("v3", "t2", "building", None, 0, 0),
    ("v0", "t1", "active", "wf-0", -500, -400),  # created before the window
    ("v4", "t1", "draft", None, 10, 10),  # no build asked for
]
NOTIFICATIONS = [("n1", "t1", 6.5)]
EXPECTED_DELAYS: dict[str, list[float | None]] = {
    "run-event-storage-latency": [1.0, 1.0, 35.0, None],
    "usage-aggregation-latency": [60.0, 390.0, None, None],
    "build-job-latency": [100.0, None, None],
    "notification-latency": [1.5, None],
}
EXPECTED_PROBLEMS = {
    "usage-aggregation-latency": [
        ("t1", "usage aggregate counts more runs than were stored"),
        ("t2", "no usage aggregate for its automation and day"),
    ],
    "build-job-latency": [("t1", "version build_failed"), ("t2", "version building")],
    "notification-latency": [("t2", "no delivered notification")],
}


async def _fill(conn: Any, catalog: Catalog) -> None:
    for table, columns in catalog.tables.items():
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        await conn.execute(f"CREATE TABLE {table} ({ddl})")
    await conn.executemany(
        "INSERT INTO run_events (event_id, tenant_id, automation_id, occurred_at, received_at,"
        " stored_at) VALUES ($1, $2, $3, $4, $4, $5)",
        [(e, t, a, at(r), at(s)) for e, t, a, r, s in RUN_EVENTS],
    )
    await conn.executemany(
        "INSERT INTO usage_aggregates (tenant_id, automation_id, period, run_count)"
        " VALUES ($1, $2, $3, $4)",
        [(t, a, T0.date(), n) for t, a, n in USAGE],
    )
    await conn.executemany(
        "INSERT INTO job_runs (queue, job_id, tenant_id, enqueued_at, finished_at, status,"
        " attempts) VALUES ($1, $2, $3, $4, $5, $6, 1)",
        [(q, j, t, at(e), at(f), s) for q, j, t, e, f, s in JOB_RUNS],
    )
    await conn.executemany(
        "INSERT INTO automation_versions (id, tenant_id, status, workflow_id, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [(uuid.uuid5(uuid.NAMESPACE_URL, v), t, st, w, at(c), at(u))
         for v, t, st, w, c, u in VERSIONS],
    )  # fmt: skip
    await conn.executemany(
        "INSERT INTO notifications (job_id, tenant_id, sent_at) VALUES ($1, $2, $3)",
        [(j, t, at(sent)) for j, t, sent in NOTIFICATIONS],
    )


async def run_async_queries(
    url: str, catalog: Catalog
) -> tuple[dict[str, list[float | None]], dict[str, list[tuple[str, str]]]]:
    import asyncpg  # the harness's own Postgres client

    conn = await asyncpg.connect(url)
    try:
        await _fill(conn, catalog)
        found, problems = {}, {}
        for slo in catalog.slos:
            if isinstance(slo, AsyncSlo):
                rows = await conn.fetch(slo.sql, at(0), at(60))
                found[slo.name] = [r["latency_s"] for r in rows]
                if "problem" in rows[0]:
                    problems[slo.name] = sorted(
                        (r["tenant_id"], r["problem"]) for r in rows if r["problem"]
                    )
        return found, problems
    finally:
        await conn.close()


def test_async_sql_measures_end_to_end_delays(postgres_url: str, catalog: Catalog) -> None:
    found, problems = asyncio.run(run_async_queries(postgres_url, catalog))
    assert problems == EXPECTED_PROBLEMS
    assert {k: sorted(v, key=lambda x: math.inf if x is None else x) for k, v in found.items()} == (
        EXPECTED_DELAYS
    )
    storage = catalog.slo("run-event-storage-latency")
    assert isinstance(storage, AsyncSlo)
    verdict = storage.verdict(found[storage.name], scale=1)
    assert (verdict.count, verdict.within, verdict.held) == (4, 2, False)
