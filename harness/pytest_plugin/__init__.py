"""pytest plugin: `pytest scenarios/` runs the conformance suite.

Each scenario file in a folder that has a `catalog/` beside it becomes one test item. All
scenario files are validated together before anything starts (a bad file stops the run with
every problem listed). The stack starts once, on the first scenario, and is torn down at the
end of the session whatever happens; SIGTERM is turned into pytest's own interrupt so the
same teardown runs.

pytest registers this package (entry point `wrk_conformance`): the hooks and fixtures below
are what it finds here. By concept: `options` (the `--wrk-*` options and configure),
`collection` (scenario files as items), `reporting` (Allure steps, teardown, exit status,
summary), `fixtures` (for custom checks), and `state` (what they share in the config stash).
"""

from harness.pytest_plugin.collection import (
    ScenarioFailed,
    ScenarioFile,
    ScenarioItem,
    pytest_collect_file,
    pytest_collection_finish,
    pytest_collection_modifyitems,
)
from harness.pytest_plugin.fixtures import (
    wrk_alerts,
    wrk_faults,
    wrk_logs,
    wrk_prometheus,
    wrk_session,
    wrk_target,
    wrk_traces,
)
from harness.pytest_plugin.options import pytest_addoption, pytest_configure
from harness.pytest_plugin.reporting import (
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)

__all__ = [
    "ScenarioFailed",
    "ScenarioFile",
    "ScenarioItem",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "wrk_alerts",
    "wrk_faults",
    "wrk_logs",
    "wrk_prometheus",
    "wrk_session",
    "wrk_target",
    "wrk_traces",
]
