"""One JSON object per line, for the log lines and the span file.

pydantic-core's encoder writes compact, ASCII-only JSON that reads back as `json`'s does for
what these lines hold (strings, numbers, booleans, null, lists, dicts; anything else as its
`str()`), in a fifth of the time: several lines are written per request, on the event loop and
in the span thread.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json

_FALLBACK = json.JSONEncoder(default=str, separators=(",", ":"))


def encode(value: Any) -> str:
    """`value` as one line of JSON text (no newline)."""
    try:
        return to_json(value, fallback=str, ensure_ascii=True).decode("ascii")
    except ValueError:
        # Text pydantic-core refuses (a lone UTF-16 surrogate): `json` escapes it, and the line
        # is kept. A circular structure fails here too, as it always has.
        return _FALLBACK.encode(value)
