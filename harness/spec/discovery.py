"""Where scenario files and their catalogue are: a scenarios folder holds `catalog/` and files."""

from __future__ import annotations

from pathlib import Path

SCENARIO_SUFFIXES = (".yaml", ".yml")


def find_catalog_dir(scenario_file: Path) -> Path | None:
    """Scenario files live in a folder with a `catalog/` beside them (not inside it)."""
    folder = scenario_file.resolve().parent
    if folder.name == "catalog":
        return None
    catalog = folder / "catalog"
    return catalog if (catalog / "alerts.yaml").is_file() else None


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files of a scenarios folder, in a stable order; a link among them is kept
    even when it leads nowhere, so that reading it reports it instead of skipping it."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in SCENARIO_SUFFIXES and (p.is_file() or p.is_symlink())
    )
