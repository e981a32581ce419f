"""PromQL templates: range windows written as `[{{name}}]` placeholders, filled at a scale.

Why placeholders rather than rewriting every `[5m]` literal: the window an alert's budget uses
is then, by construction, the one in its expression, and a literal duration left in a
template (which would escape time scaling) can be found and refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from harness.spec.timescale import format_duration

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# A PromQL string literal: double, single or back quoted.
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LITERAL_DURATION = re.compile(r"(?<![\w.])\d+(?:ms|s|m|h|d|w|y)(?!\w)")


def placeholders(template: str) -> set[str]:
    """Names of the `{{name}}` window placeholders a template uses."""
    return set(PLACEHOLDER.findall(template))


def render_template(template: str, windows_s: Mapping[str, float], scale: float) -> str:
    """Fill every `{{name}}` with its window divided by `scale`, as Prometheus writes it."""
    return PLACEHOLDER.sub(lambda m: format_duration(windows_s[m.group(1)] / scale), template)


def literal_duration(template: str) -> str | None:
    """A duration written literally (outside strings and placeholders): it would not scale."""
    literal = _LITERAL_DURATION.search(STRING.sub('""', PLACEHOLDER.sub("", template)))
    return literal.group() if literal else None
