"""Allure results that cannot be written (a full disk) cost a run error, never the run.

allure-pytest writes each result, container and attachment from inside pytest's hooks; an
OSError there ends the whole run in pytest's internal error, with a traceback and no reports.
A wrapper around allure's report hooks catches it instead and counts it by reason; the run
records each reason once among its errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

from allure_commons import hookimpl

Wrapped = Generator[None, Any, Any]


class AllureWriteGuard:
    """Register on `allure_commons.plugin_manager` beside allure-pytest's file writer."""

    def __init__(self) -> None:
        self.failures: Counter[str] = Counter()  # reason -> files not written

    def errors(self) -> list[str]:
        """One run error per reason."""
        return [f"{n} Allure file(s) not written: {why}" for why, n in self.failures.items()]

    def _guard(self) -> Wrapped:
        try:
            return (yield)
        except OSError as exc:
            self.failures[exc.strerror or str(exc)] += 1
            return None

    @hookimpl(wrapper=True)
    def report_result(self, result: Any) -> Wrapped:
        return (yield from self._guard())

    @hookimpl(wrapper=True)
    def report_container(self, container: Any) -> Wrapped:
        return (yield from self._guard())

    @hookimpl(wrapper=True)
    def report_attached_file(self, source: Any, file_name: Any) -> Wrapped:
        return (yield from self._guard())

    @hookimpl(wrapper=True)
    def report_attached_data(self, body: Any, file_name: Any) -> Wrapped:
        return (yield from self._guard())
