"""Loading dashboards.yaml against the metric contract."""

from __future__ import annotations

from pathlib import Path

from harness.dashboards.model import DashboardsFile
from harness.errors import Problem
from harness.spec.files import display_path, read_yaml, validate_data
from harness.spec.vocabulary import SeriesVocabulary

DASHBOARDS_FILE = "dashboards.yaml"


def load_dashboards(
    path: Path, vocabulary: SeriesVocabulary | None
) -> tuple[DashboardsFile | None, list[Problem]]:
    """The file's dashboards and every problem in it; (None, []) when there is no file (a
    catalogue without dashboards is valid: nothing to draw, nothing to check)."""
    if not path.exists():
        return None, []
    data, problems = read_yaml(path)
    if data is None and problems:
        return None, problems
    raw = data.get("windows") if isinstance(data, dict) else None
    windows = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else None
    context = {"vocabulary": vocabulary, "windows": windows}
    parsed, more = validate_data(DashboardsFile, data, display_path(path), context)
    problems += more
    return (None if problems else parsed), problems
