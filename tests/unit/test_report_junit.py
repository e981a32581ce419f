"""JUnit XML: one test case per check, one suite per scenario, failures carry the message."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.junit import RUN_SUITE, render_junit
from harness.report.model import RunView
from tests.report_fixtures import build_results, build_run


def _parse(data: dict[str, object]) -> ET.Element:
    return ET.fromstring(render_junit(RunView.from_json(data)))


def test_one_case_per_check_grouped_by_scenario() -> None:
    data = build_results()
    root = _parse(data)
    assert root.tag == "testsuites"
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(data["checks"])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"healthy-baseline", "wrk-platform-outage", "mitigation-flag-off"}
    for suite in suites.values():
        assert {c.get("classname") for c in suite.findall("testcase")} == {suite.get("name")}
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))


def test_failed_check_is_a_failure_with_its_message() -> None:
    root = _parse(build_results())
    failures = root.findall("testsuite/testcase/failure")
    assert int(root.get("failures", "0")) == len(failures) == 2
    late = next(
        c for c in root.iter("testcase") if c.get("name") == "alert_fires [WrkPlatformFailureRate]"
    )
    failure = late.find("failure")
    assert failure is not None
    assert "over its budget" in failure.get("message", "")
    assert failure.get("type") == "alert_fires"


def test_passing_check_has_no_failure_and_a_time_when_known() -> None:
    root = _parse(build_results())
    fast = next(c for c in root.iter("testcase") if c.get("name") == "alert_fires [ApiHigh5xxRate]"
                and c.get("classname") == "wrk-platform-outage")  # fmt: skip
    assert fast.find("failure") is None
    assert float(fast.get("time", "0")) == 5.8
    quiet = next(c for c in root.iter("testcase") if c.get("name") == "baseline_quiet")
    assert float(quiet.get("time", "-1")) == 0.0  # no measured duration: 0, still valid
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "wrk-platform-outage")
    assert float(suite.get("time", "0")) == 38.0  # the scenario's length


def test_run_errors_become_error_cases() -> None:
    run = build_run()
    run.errors.append("cleanup failed: toxiproxy unreachable")
    root = _parse(run.to_json())
    suite = next(s for s in root.iter("testsuite") if s.get("name") == RUN_SUITE)
    error = suite.find("testcase/error")
    assert error is not None and "toxiproxy unreachable" in error.get("message", "")
    assert root.get("errors") == "1"


def test_all_passed_run_has_no_failure_elements() -> None:
    run = build_run()
    run.scenarios = run.scenarios[:1]  # the healthy baseline only
    root = _parse(run.to_json())
    assert root.get("failures") == "0" and not root.findall(".//failure")


# The common JUnit schema (the Jenkins / Ant shape most CI readers accept).
_SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp"}
_CASE_ATTRS = {"name", "classname", "time"}
_CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def test_document_has_the_common_junit_shape() -> None:
    run = build_run()
    run.errors.append("a run error")
    root = _parse(run.to_json())
    assert set(root.attrib) <= _SUITE_ATTRS and {c.tag for c in root} == {"testsuite"}
    for suite in root:
        assert {"name", "tests", "failures", "errors", "time"} <= set(suite.attrib) <= _SUITE_ATTRS
        assert {c.tag for c in suite} == {"testcase"}
        for case in suite:
            assert {"name", "classname", "time"} <= set(case.attrib) <= _CASE_ATTRS
            assert {c.tag for c in case} <= _CASE_CHILDREN
            float(case.get("time", "x"))  # a number
            for problem in case.findall("failure") + case.findall("error"):
                assert problem.get("message") and problem.get("type")
    assert sum(int(s.get("tests", "0")) for s in root) == int(root.get("tests", "-1"))
