"""prometheus.yml rendering; validated by promtool when it is installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from harness.spec.timescale import Timing
from harness.stack import tools
from harness.stack.promconfig import render_prometheus_config

JOBS = {"edge": 20001, "core": 20002, "platform": 20003, "toxiproxy": 20004}


def fast_timing() -> Timing:
    return Timing.for_scale(60, 300)  # 5 m window at scale 60: 5 s, intervals of 625 ms


def test_intervals_follow_the_timing() -> None:
    timing = Timing(60, 0.2, 0.5, 0.0, 0.1, 1.0)
    config = yaml.safe_load(render_prometheus_config(timing, JOBS, 20009))
    assert config["global"] == {
        "scrape_interval": "200ms",
        "scrape_timeout": "200ms",  # never longer than the interval: Prometheus refuses that
        "evaluation_interval": "500ms",
    }


def test_scrape_timeout_is_capped_at_ten_seconds() -> None:
    timing = Timing(1, 15.0, 15.0, 0.0, 15.0, 15.0)
    config = yaml.safe_load(render_prometheus_config(timing, JOBS, 20009))
    assert config["global"]["scrape_timeout"] == "10s"


def test_one_job_per_service_on_loopback() -> None:
    config = yaml.safe_load(render_prometheus_config(fast_timing(), JOBS, 20009))
    jobs = {c["job_name"]: c["static_configs"][0]["targets"] for c in config["scrape_configs"]}
    assert jobs == {name: [f"127.0.0.1:{port}"] for name, port in JOBS.items()}
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["127.0.0.1:20009"]
    assert "rule_files" not in config


def test_rules_file_and_metrics_path(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    text = render_prometheus_config(
        fast_timing(), JOBS, 20009, rules, {"edge": "/internal/metrics"}
    )
    config = yaml.safe_load(text)
    assert config["rule_files"] == [str(rules)]
    paths = {c["job_name"]: c.get("metrics_path") for c in config["scrape_configs"]}
    assert paths["edge"] == "/internal/metrics"
    assert paths["core"] is None


@pytest.mark.skipif(tools.find("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_rendered_config(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups: []\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(render_prometheus_config(fast_timing(), JOBS, 20009, rules))
    done = subprocess.run(
        [tools.locate("promtool"), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
