"""JUnit XML: one test case per check, one test suite per scenario, for CI test views.

Shape of the common JUnit schema (testsuites > testsuite > testcase > failure/error), which
Jenkins, GitLab and GitHub test reporters read. Run errors outside any check become `error`
test cases of a `(run)` suite, so a CI view cannot show green while the run failed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from harness.report.model import CheckView, RunView, ScenarioView

RUN_SUITE = "(run)"


def render_junit(run: RunView) -> str:
    root = ET.Element("testsuites", name=f"wrk-conformance {run.run_id}")
    scenarios = {s.name: s for s in run.scenarios}
    # Suites in the order checks appear, so `(suite)` checks (coverage) get their own suite.
    names = list(dict.fromkeys(c.scenario for c in run.checks))
    for name in names:
        root.append(_suite(name, run.checks_of(name), scenarios.get(name), run))
    if run.errors:
        root.append(_error_suite(run.errors, run))
    _totals(root, root.findall("testsuite"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(
    name: str, checks: list[CheckView], scenario: ScenarioView | None, run: RunView
) -> ET.Element:
    suite = ET.Element("testsuite", name=name)
    if run.started_at is not None:
        suite.set("timestamp", run.started_at.isoformat(timespec="seconds"))
    for check in checks:
        suite.append(_case(check))
    _totals(suite, suite.findall("testcase"))
    duration = scenario.phases.duration_s if scenario else None
    suite.set("time", _seconds(duration))
    return suite


def _case(check: CheckView) -> ET.Element:
    case = ET.Element("testcase", classname=check.scenario, name=check.label)
    case.set("time", _seconds(check.measured_s))
    if check.passed:
        ET.SubElement(case, "system-out").text = check.message
    else:
        failure = ET.SubElement(case, "failure", message=check.message, type=check.kind)
        failure.text = check.message
    return case


def _error_suite(errors: Iterable[str], run: RunView) -> ET.Element:
    suite = ET.Element("testsuite", name=RUN_SUITE)
    for i, message in enumerate(errors, 1):
        case = ET.SubElement(suite, "testcase", classname=RUN_SUITE, name=f"run error {i}")
        case.set("time", _seconds(None))
        error = ET.SubElement(case, "error", message=message, type="run_error")
        error.text = message
    _totals(suite, suite.findall("testcase"))
    suite.set("time", _seconds(None))
    return suite


def _totals(element: ET.Element, children: list[ET.Element]) -> None:
    """tests/failures/errors/skipped counted from the children (cases or suites)."""
    if element.tag == "testsuites":
        counts = {k: sum(int(c.get(k, "0")) for c in children) for k in _COUNTS}
        counts["tests"] = sum(int(c.get("tests", "0")) for c in children)
        time = sum(float(c.get("time", "0")) for c in children)
        element.set("time", _seconds(time))
    else:
        counts = {
            "tests": len(children),
            "failures": sum(c.find("failure") is not None for c in children),
            "errors": sum(c.find("error") is not None for c in children),
            "skipped": 0,
        }
    for key in ("tests", *_COUNTS):
        element.set(key, str(counts[key]))


_COUNTS = ("failures", "errors", "skipped")


def _seconds(value: float | None) -> str:
    return f"{max(0.0, value or 0.0):.3f}"
