"""prometheus.yml for a local run: every target on 127.0.0.1, intervals from the time scale."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.spec.timescale import Timing, format_duration

HOST = "127.0.0.1"
# Prometheus refuses a scrape timeout longer than the interval; its default is 10 s.
MAX_SCRAPE_TIMEOUT_S = 10.0


def prometheus_config(
    timing: Timing,
    jobs: Mapping[str, int],
    alertmanager_port: int,
    rules_file: Path | None = None,
    metrics_paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The configuration as a dict: one scrape job per service (job name = service name)."""
    paths = metrics_paths or {}
    scrape_configs = []
    for job, port in jobs.items():
        entry: dict[str, Any] = {
            "job_name": job,
            "static_configs": [{"targets": [f"{HOST}:{port}"]}],
        }
        if paths.get(job, "/metrics") != "/metrics":
            entry["metrics_path"] = paths[job]
        scrape_configs.append(entry)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": format_duration(timing.scrape_interval_s),
            "scrape_timeout": format_duration(min(timing.scrape_interval_s, MAX_SCRAPE_TIMEOUT_S)),
            "evaluation_interval": format_duration(timing.eval_interval_s),
        },
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{alertmanager_port}"]}]}]
        },
        "scrape_configs": scrape_configs,
    }
    if rules_file is not None:
        config["rule_files"] = [str(rules_file)]
    return config


def render_prometheus_config(
    timing: Timing,
    jobs: Mapping[str, int],
    alertmanager_port: int,
    rules_file: Path | None = None,
    metrics_paths: Mapping[str, str] | None = None,
) -> str:
    """The configuration as YAML text."""
    config = prometheus_config(timing, jobs, alertmanager_port, rules_file, metrics_paths)
    return yaml.safe_dump(config, sort_keys=False)
