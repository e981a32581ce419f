"""The plugin's `--wrk-*` options, and what `pytest_configure` settles from them before
anything is collected: the report folder, the run id, Allure's results folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import ConfigError
from harness.pytest_plugin.state import (
    ALLURE_DIR,
    ALLURE_GUARD,
    OWN_ALLURE_DIR,
    RUN_ID,
    runs_scenarios,
)
from harness.spec.timescale import DEFAULT_TIME_SCALE

if TYPE_CHECKING:
    from harness.run.session import RunOptions

__all__ = ["pytest_addoption", "pytest_configure", "run_options"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wrk", "WRK Copilot conformance harness")
    group.addoption(
        "--wrk-target",
        default="local",
        choices=["local", "compose"],
        help="system under test: local (embedded stack of fakes) or compose "
        "(docker-compose.yml through the Docker SDK; needs a Docker engine)",
    )
    group.addoption(
        "--wrk-load-workers",
        type=int,
        default=0,
        metavar="N",
        help="Locust distributed mode: a master and N local worker processes (default: one)",
    )
    group.addoption(
        "--wrk-time-scale",
        type=float,
        default=None,
        help=f"compress the catalogue's durations by this factor (default {DEFAULT_TIME_SCALE:g})",
    )
    group.addoption("--wrk-report-dir", default="reports", help="where reports are written")
    group.addoption(
        "--wrk-scenario",
        action="append",
        default=[],
        help="run only the scenario(s) with this name (repeatable)",
    )
    group.addoption(
        "--wrk-fake-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every fake service of the local target (repeatable)",
    )
    group.addoption(
        "--wrk-preflight",
        choices=["stop", "warn"],
        default="stop",
        help="a preflight gap blocking a chosen scenario stops the run (default) or only warns",
    )
    group.addoption(
        "--wrk-run-id",
        default=None,
        help="name of the run and its report folder (default: UTC start time and process id)",
    )
    group.addoption(
        "--wrk-without-faults",
        action="store_true",
        help="run scenarios with their faults left out (proves checks can fail)",
    )


@pytest.hookimpl(tryfirst=True)  # before allure-pytest's own pytest_configure reads --alluredir
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a scenario of the conformance suite")
    if runs_scenarios(config) and not config.option.collectonly:
        from harness.report.output import check_reports_dir

        reports = Path(config.getoption("wrk_report_dir")).resolve()
        try:  # before allure-pytest creates its folder there
            check_reports_dir(reports, "--wrk-report-dir")
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        run_id = config.stash[RUN_ID] = _run_id(config)
        if getattr(config.option, "allure_report_dir", "") is None:  # not given by the user
            config.option.allure_report_dir = str(reports / run_id / ALLURE_DIR)
            config.stash[OWN_ALLURE_DIR] = reports / run_id / ALLURE_DIR
        _guard_allure(config)


def _guard_allure(config: pytest.Config) -> None:
    """allure-pytest's writes failing (a full disk) become run errors (see AllureWriteGuard)."""
    if config.pluginmanager.hasplugin("allure_pytest"):
        import allure_commons

        from harness.report.allure_guard import AllureWriteGuard

        guard = config.stash[ALLURE_GUARD] = AllureWriteGuard()
        allure_commons.plugin_manager.register(guard)
        config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(guard))


def _run_id(config: pytest.Config) -> str:
    """The given run id, checked (it names a folder), or a new one."""
    from harness.report.results import RESERVED_NAMES, RUN_ID_PATTERN, new_run_id

    given: str | None = config.getoption("wrk_run_id")
    if given is None:
        return new_run_id()
    if given in RESERVED_NAMES:
        raise pytest.UsageError(f"--wrk-run-id {given!r}: that name is taken in the report folder")
    if not RUN_ID_PATTERN.fullmatch(given):
        raise pytest.UsageError(
            f"--wrk-run-id {given!r}: letters, digits, '.', '_' and '-' only, starting with a "
            "letter or digit"
        )
    if (Path(config.getoption("wrk_report_dir")) / given).exists():
        raise pytest.UsageError(f"--wrk-run-id {given!r}: a run of that id already has reports")
    return given


def run_options(config: pytest.Config, catalog: Path) -> RunOptions:
    """The session's options from the command line, for the catalogue found at collection."""
    from harness.report.results import new_run_id
    from harness.run.session import RunOptions

    return RunOptions(
        catalog_dir=catalog,
        reports_dir=Path(config.getoption("wrk_report_dir")).resolve(),
        time_scale=config.getoption("wrk_time_scale"),
        target=config.getoption("wrk_target"),
        without_faults=config.getoption("wrk_without_faults"),
        fake_env=tuple(_key_value(kv) for kv in config.getoption("wrk_fake_env")),
        load_workers=config.getoption("wrk_load_workers"),
        preflight_stops=config.getoption("wrk_preflight") == "stop",
        run_id=config.stash.setdefault(RUN_ID, new_run_id()),
    )


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise pytest.UsageError(f"--wrk-fake-env expects KEY=VALUE, got {text!r}")
    return key, value
