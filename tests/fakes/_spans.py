"""The span file the fakes write (one JSON object per line), read back by tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Every span in the file, in the order written; none if nothing was written yet."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
