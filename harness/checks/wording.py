"""How check messages name what they saw: a sample of a line, a list of services."""

from __future__ import annotations

from collections.abc import Iterable

SAMPLE_CHARS = 240


def sample(raw: str) -> str:
    """A line as a message quotes it: stripped, cut at SAMPLE_CHARS."""
    text = raw.strip()
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"


def service_list(names: Iterable[str]) -> str:
    return ", ".join(names) or "no service"
