"""`wrkh import-slos`: a Sloth spec becomes catalogue SLOs and multiwindow burn-rate alerts.

Proved by the catalogue itself: the imported entries, with evidence added as a person would,
load as a catalogue, and its generated burn-rate rules pass their promtool tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.importers.common import ImportOptions
from harness.importers.slos import import_slos
from harness.spec.alerts import Severity
from harness.spec.burn_rate import BurnRateAlert
from harness.spec.catalog import DEFAULT_CATALOG_DIR, load_catalog
from harness.spec.rules import render_promtool_suites

SLOTH = """\
version: prometheus/v1
service: studio
labels: {team: api}
slos:
  - name: studio-requests
    objective: 99.5
    description: Studio requests that do not fail with 5xx.
    sli:
      events:
        error_query: sum(rate(http_request_count_total{job="edge", status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_request_count_total{job="edge"}[{{.window}}]))
    alerting:
      name: StudioBudgetBurn
      annotations: {summary: Studio is burning its error budget}
      page_alert: {labels: {severity: SEV-1}}
      ticket_alert: {labels: {severity: ticket, receiver: ops-escalation}}
"""


def _evidence(errors_per_min: int) -> dict[str, Any]:
    series = 'http_request_count_total{{job="edge", route="/v1/a", method="{}", status="{}"}}'
    ok, bad = series.format("GET", "200"), series.format("POST", "500")
    return {
        "input_series": [
            {"series": ok, "values": f"0+{100 - errors_per_min}x80"},
            {"series": bad, "values": f"0+{errors_per_min}x80"},
        ]
    }


def _catalogue(tmp_path: Path, source: Path) -> Path:
    slos, alerts = import_slos(source, ImportOptions(severities={"ticket": Severity.SEV_3}))
    folder = tmp_path / "catalog"
    folder.mkdir()
    shutil.copy(DEFAULT_CATALOG_DIR / "metrics.yaml", folder / "metrics.yaml")
    (folder / "slos.yaml").write_text(yaml.safe_dump({"slos": slos}, sort_keys=False))
    written = yaml.safe_load((DEFAULT_CATALOG_DIR / "alerts.yaml").read_text())
    for alert in alerts:  # the evidence a person adds: 20% errors fire, 0.1% do not
        alert["test"] = {"interval": "1h" if alert["name"].endswith("Ticket") else "1m"}
        alert["test"] |= {"firing": _evidence(20), "healthy": _evidence(0)}
    doc = {"alerts": written["alerts"][:1], "burn_rate_alerts": alerts}
    (folder / "alerts.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def test_sloth_spec_becomes_a_valid_catalogue_with_the_multiwindow_alerts(tmp_path: Path) -> None:
    source = tmp_path / "sloth.yml"
    source.write_text(SLOTH)
    catalog = load_catalog(_catalogue(tmp_path, source))
    slo = catalog.availability_slo("studio-requests")
    assert slo.objective == pytest.approx(0.995) and slo.period_s == 30 * 86400
    assert slo.total.endswith("[{{window}}]))")
    page = catalog.alert("StudioBudgetBurn")
    ticket = catalog.alert("StudioBudgetBurnTicket")
    assert isinstance(page, BurnRateAlert) and isinstance(ticket, BurnRateAlert)
    rates = [slo.burn_rate(w.budget_consumed, w.long_s) for w in (*page.burn_windows,)]
    assert rates == pytest.approx([14.4, 6.0])
    rates = [slo.burn_rate(w.budget_consumed, w.long_s) for w in ticket.burn_windows]
    assert rates == pytest.approx([3.0, 1.0])
    assert page.severity.value == "SEV-1" and ticket.receiver.value == "ops-escalation"
    assert page.labels == {"team": "api"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_imported_burn_rate_rules_pass_promtool(tmp_path: Path) -> None:
    source = tmp_path / "sloth.yml"
    source.write_text(SLOTH)
    catalog = load_catalog(_catalogue(tmp_path, source))
    out = tmp_path / "promtool"
    out.mkdir()
    files = []
    for suite in render_promtool_suites(catalog):
        if suite.alert.startswith("StudioBudgetBurn"):
            (out / suite.rules_file).write_text(suite.rules)
            (out / suite.tests_file).write_text(suite.tests)
            files.append(suite.tests_file)
    assert len(files) == 2
    done = subprocess.run(
        ["promtool", "test", "rules", *files],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


REFUSED = """\
version: prometheus/v1
service: studio
slos:
  - name: raw-ratio
    objective: 99
    sli: {raw: {error_ratio_query: 'sum(rate(x[{{.window}}]))'}}
  - name: fixed-window
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_5xx_count_total[5m]))
        total_query: >-
          sum(rate(http_request_count_total[{{.window}}]))
          + 0 * sum(rate(http_request_count_total[1h]))
    alerting:
      name: FixedBurn
      page_alert: {labels: {severity: critical}}
      ticket_alert: {disable: true}
"""


def test_slos_it_cannot_import_are_refused_by_name_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "sloth.yml"
    source.write_text(REFUSED)
    code = main(["import-slos", str(source), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "slos[0]: SLO raw-ratio: sli.raw: only sli.events" in err
    assert "slos[1]: SLO fixed-window: sli.events.error_query: has no {{.window}}" in err
    assert "slos[1]: SLO fixed-window: sli.events.total_query: a fixed window of 3600s" in err
    assert "alerting.page_alert: labels.severity 'critical' is not a catalogue severity" in err
    assert not (tmp_path / "out").exists()
