"""`wrkh import-rules`: a standard rule file in, catalogue entries out, the same rules back.

The round trip is judged by promtool, not by text: the same unit tests pass against the
original file and against the imported entries rendered at scale 1.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.importers.common import ImportOptions
from harness.importers.rules import import_rules, render_rule_file, write_alerts
from harness.spec.alerts import Severity
from harness.spec.templates import literal_duration

ORIGINAL = """\
groups:
  - name: team-rules
    rules:
      - alert: EdgeErrorRatio
        expr: >-
          sum(rate(http_5xx_count_total{job="edge", route=~"/v1/.*[5m]"}[5m]))
          / sum(rate(http_request_count_total{job="edge"}[1h])) > 0.1
        for: 2m
        labels: {severity: SEV-2, receiver: oncall, team: api}
        annotations:
          summary: Edge answers 5xx
          spec_ref: §5.1
          description: 'edge 5xx above 10%'
      - alert: QueueStuck
        expr: max by (queue) (queue_depth) > 100
        for: 10m
        labels: {severity: page, receiver: oncall}
        annotations: {summary: A queue is stuck, spec_ref: §5.1}
"""

# Written for the original rules; passed unchanged against the imported ones.
TESTS = """\
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_5xx_count_total{{job="edge", route="/v1/stream"}}'
        values: 0+0x60 30+30x30
      - series: 'http_request_count_total{{job="edge", route="/v1/stream"}}'
        values: 0+100x90
    alert_rule_test:
      - {{eval_time: 61m, alertname: EdgeErrorRatio, exp_alerts: []}}
      - eval_time: 65m
        alertname: EdgeErrorRatio
        exp_alerts:
          - exp_labels: {{severity: SEV-2, receiver: oncall, team: api}}
            exp_annotations:
              summary: Edge answers 5xx
              spec_ref: §5.1
              description: edge 5xx above 10%
  - interval: 1m
    input_series:
      - series: 'queue_depth{{queue="build-requests"}}'
        values: 500+0x20
      - series: 'queue_depth{{queue="notifications"}}'
        values: 500+0x5 0+0x15
    alert_rule_test:
      - {{eval_time: 9m, alertname: QueueStuck, exp_alerts: []}}
      - eval_time: 11m
        alertname: QueueStuck
        exp_alerts:
          - exp_labels: {{severity: {severity}, receiver: oncall, queue: build-requests}}
            exp_annotations: {{summary: A queue is stuck, spec_ref: §5.1}}
"""

OPTIONS = ImportOptions(severities={"page": Severity.SEV_1})
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool")


def _promtool(tests: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", "test", "rules", str(tests)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tests.parent,
    )


@needs_promtool
def test_imported_rules_at_scale_one_pass_the_original_promtool_tests(tmp_path: Path) -> None:
    original = tmp_path / "team.rules.yml"
    original.write_text(ORIGINAL)
    # The original's severity word stays `page`; the import maps it to SEV-1 as told.
    before = tmp_path / "before.test.yml"
    before.write_text(TESTS.format(rules=original.name, severity="page"))
    assert _promtool(before).returncode == 0, _promtool(before).stdout

    alerts = import_rules(original, OPTIONS)
    rendered = tmp_path / "imported.rules.yml"
    rendered.write_text(yaml.safe_dump(render_rule_file(alerts, 1.0, "team-rules")))
    after = tmp_path / "after.test.yml"
    after.write_text(TESTS.format(rules=rendered.name, severity="SEV-1"))
    done = _promtool(after)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_promtool_tells_the_imported_rules_from_wrong_ones(tmp_path: Path) -> None:
    """The round trip can fail: a window scaled by mistake breaks the same tests."""
    original = tmp_path / "team.rules.yml"
    original.write_text(ORIGINAL)
    alerts = import_rules(original, OPTIONS)
    rendered = tmp_path / "imported.rules.yml"
    rendered.write_text(yaml.safe_dump(render_rule_file(alerts, 2.0, "team-rules")))
    after = tmp_path / "after.test.yml"
    after.write_text(TESTS.format(rules=rendered.name, severity="SEV-1"))
    assert _promtool(after).returncode != 0


def test_windows_become_placeholders_found_by_the_parser(tmp_path: Path) -> None:
    original = tmp_path / "team.rules.yml"
    original.write_text(ORIGINAL)
    ratio, queue = import_rules(original, OPTIONS)
    assert ratio.windows_s == {"window": 3600.0, "w5m": 300.0}
    assert "[{{w5m}}]" in ratio.expr and "[{{window}}]" in ratio.expr
    assert '"/v1/.*[5m]"' in ratio.expr  # a duration inside a label value is left alone
    assert literal_duration(ratio.expr) is None
    assert "[5s]" in ratio.rule_at(60)["expr"] and "[1m]" in ratio.rule_at(60)["expr"]
    assert ratio.labels == {"team": "api"} and ratio.severity is Severity.SEV_2
    assert queue.windows_s == {} and queue.severity is Severity.SEV_1


def test_entries_are_written_in_the_catalogue_format(tmp_path: Path) -> None:
    original = tmp_path / "team.rules.yml"
    original.write_text(ORIGINAL)
    path = write_alerts(import_rules(original, OPTIONS), tmp_path / "out", original)
    doc = yaml.safe_load(path.read_text())
    first = doc["alerts"][0]
    assert first["window"] == "1h" and first["windows"] == {"w5m": "5m"}
    assert first["for"] == "2m" and first["severity"] == "SEV-2"
    assert "test.firing" in path.read_text()  # the header says what is still to write


UNSCALABLE = """\
groups:
  - name: g
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(http_5xx_count_total[5m]))
      - alert: Trend
        expr: max_over_time(queue_depth[1h:1m]) > 10
        labels: {severity: SEV-3}
      - alert: Yesterday
        expr: rate(http_request_count_total[5m]) > 2 * rate(http_request_count_total[5m] offset 1d)
        labels: {severity: SEV-3}
      - alert: Stale
        expr: time() - max(run_events_ingested_total) > 3600
        labels: {severity: critical}
      - alert: Broken
        expr: rate(x[5m]
        labels: {severity: SEV-3}
"""


def test_rules_it_cannot_scale_are_refused_by_name_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "team.rules.yml"
    source.write_text(UNSCALABLE)
    code = main(["import-rules", str(source), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("  - ")]
    expected = [
        ("rules[0]", "rule job:errors:rate5m: a recording rule"),
        ("rules[1]", "rule Trend: subquery"),
        ("rules[2]", "rule Yesterday:"),
        ("rules[3]", "rule Stale: time() works in seconds"),
        ("rules[3]", "rule Stale: labels.severity 'critical' is not a catalogue severity"),
        ("rules[4]", "rule Broken: expr: PromQL syntax error"),
    ]
    for where, what in expected:
        assert any(f"groups[0].{where}: {what}" in line for line in lines), (where, err)
    assert any("offset" in line for line in lines)
    assert not (tmp_path / "out").exists()  # nothing written when anything is refused


def test_a_mapped_severity_is_accepted_from_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "r.yml"
    source.write_text(
        textwrap.dedent(
            """\
            groups:
              - name: g
                rules:
                  - alert: Up
                    expr: up == 0
                    labels: {severity: critical}
            """
        )
    )
    out = tmp_path / "out"
    code = main(["import-rules", str(source), "--out", str(out), "--severity", "critical=SEV-1"])
    assert code == 0
    entry = yaml.safe_load((out / "alerts.yaml").read_text())["alerts"][0]
    assert entry["severity"] == "SEV-1" and entry["receiver"] == "oncall"
