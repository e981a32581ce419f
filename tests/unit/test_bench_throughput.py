"""The throughput benchmark's verdict line (benchmarks/fakes_throughput.py)."""

from __future__ import annotations

from benchmarks.fakes_throughput import RunResult, verdict


def run(rps: float, p95_ms: float, rss_mb: float, failures: int = 0) -> RunResult:
    return RunResult(
        requests=10_000, failures=failures, rps=rps, p50_ms=10, p95_ms=p95_ms, p99_ms=100,
        cpu_ms_per_request={}, rss_load_path_mb=180, rss_all_fakes_mb=rss_mb, run_events=400,
        load_before=1.0, load_after=1.0, dispersion=1.0,
    )  # fmt: skip


def test_a_run_meets_the_speed_target_only_with_the_rate_the_p95_and_no_failure() -> None:
    results = [
        run(310, 95, 512),
        run(290, 60, 512),
        run(320, 100, 512),
        run(300, 99, 601),
        run(330, 40, 512, failures=1),
    ]
    assert verdict(results) == (
        "target >= 300 req/s at p95 < 100 ms without failures: met in 2 of 5 runs;"
        " all fakes <= 600 MB: met in 4 of 5 runs"
    )
