"""PromQL templates: range windows written as `[{{name}}]` placeholders, filled at a scale.

Why placeholders rather than rewriting every `[5m]` literal: the window an alert's budget uses
is then, by construction, the one in its expression, and a literal duration left in a
template (which would escape time scaling) can be found and refused.

To be parsed, a template is filled with marker durations (`parse_template`): each placeholder
(and each variable such as Grafana's `$__rate_interval`) becomes a duration no one writes,
zero-padded to the placeholder's own length, so a syntax error's column is the template's and
every duration in the tree that is not a marker was written literally.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import timedelta

import promql_parser as pp

from harness.spec.promql import durations, parse
from harness.spec.timescale import format_duration

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MARKER_BASE_S = 797  # 13m17s: a window nobody writes
# A placeholder right after `[`, `:` or `offset` is a duration; elsewhere it is part of a
# name (the recorded ratios' `ratio_rate{{window}}`), which is checked as its family.
_IN_DURATION = re.compile(r"(?:[\[:]|\boffset)\s*$")


def placeholders(template: str) -> set[str]:
    """Names of the `{{name}}` window placeholders a template uses."""
    return set(PLACEHOLDER.findall(template))


def render_template(template: str, windows_s: Mapping[str, float], scale: float) -> str:
    """Fill every `{{name}}` with its window divided by `scale`, as Prometheus writes it."""
    return PLACEHOLDER.sub(lambda m: format_duration(windows_s[m.group(1)] / scale), template)


def parse_template(
    template: str, variables: Collection[str] = ()
) -> tuple[pp.Expr, frozenset[timedelta]]:
    """The template's syntax tree with markers for its placeholders and `variables`, and the
    markers; PromQLError (columns as in the template) when it is not PromQL."""
    names = sorted(placeholders(template)) + sorted(variables)
    marker = {name: _MARKER_BASE_S + i for i, name in enumerate(names)}

    def fill(text: str, seconds: int) -> str:
        return f"{seconds}s".rjust(len(text), "0")

    def filled_in(m: re.Match[str]) -> str:
        if not _IN_DURATION.search(template, 0, m.start()):  # part of a name: the family
            return ""
        return fill(m.group(), marker[m.group(1)])

    filled = PLACEHOLDER.sub(filled_in, template)
    for variable in variables:
        filled = filled.replace(variable, fill(variable, marker[variable]))
    return parse(filled), frozenset(timedelta(seconds=s) for s in marker.values())


def literal_duration(template: str, variables: Collection[str] = ()) -> str | None:
    """A duration written literally (not a placeholder): it would not scale. None also when
    the template is not PromQL (that is reported as a syntax error)."""
    try:
        expr, markers = parse_template(template, variables)
    except ValueError:
        return None
    literal = next((d for d in durations(expr) if d.value not in markers), None)
    return str(literal) if literal is not None else None
