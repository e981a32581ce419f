"""Small SVG charts for the reports: a time plot and a time-to-alert-vs-budget bar chart.

No plotting dependency: the reports must be one self-contained file, and these two charts
need only lines, rectangles and text. Colours are presentation attributes (not CSS), so an
SVG written alone (an Allure attachment) looks the same as inline in the HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 760, 272
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 62
LINE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
BAND_COLOURS = {"baseline": "#d8f0d8", "fault": "#f8d0d0", "mitigation": "#fbefc4"}
MARK_COLOURS = {
    "pending": "#e6a100",
    "firing": "#d62728",
    "notified": "#7b3fb5",
    "resolved": "#2a8f2a",
}
MAX_LEGEND = 6


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[tuple[float, float]]  # (seconds from the plot's origin, value)


@dataclass(frozen=True)
class Band:
    """A shaded time window; `kind` picks the colour (baseline, fault, mitigation)."""

    kind: str
    start: float
    end: float


@dataclass(frozen=True)
class Mark:
    """A vertical mark at a moment; `kind` is pending, firing, notified or resolved."""

    kind: str
    at: float
    label: str


@dataclass(frozen=True)
class TimePlot:
    title: str
    duration_s: float
    lines: Sequence[Line] = ()
    bands: Sequence[Band] = ()
    marks: Sequence[Mark] = ()
    threshold: float | None = None
    note: str | None = None  # shown instead of lines when there is no data


@dataclass(frozen=True)
class _Scale:
    lo: float
    hi: float
    pixel_lo: float
    pixel_hi: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.pixel_lo + (value - self.lo) / span * (self.pixel_hi - self.pixel_lo)


def render_time_plot(plot: TimePlot) -> str:
    x = _Scale(0.0, max(plot.duration_s, 1e-9), LEFT, WIDTH - RIGHT)
    lo, hi = _y_range(plot)
    y = _Scale(lo, hi, HEIGHT - BOTTOM, TOP)
    parts = [_text(LEFT, 18, plot.title, weight="bold")]
    parts += [_band(b, x) for b in plot.bands]
    parts += _axes(x, y, "seconds since load start")
    if plot.threshold is not None:
        parts.append(_threshold(plot.threshold, x, y))
    drawable = [ln for ln in plot.lines if ln.points]
    if drawable:
        parts += [_polyline(ln, _colour(i), x, y) for i, ln in enumerate(drawable)]
        parts += _legend(drawable)
    else:
        note = plot.note or "no data"
        parts.append(_text((LEFT + WIDTH - RIGHT) / 2, HEIGHT / 2, note, anchor="middle"))
    parts += [_mark(m, i, x) for i, m in enumerate(plot.marks)]
    return _svg(WIDTH, HEIGHT, plot.title, parts)


def _y_range(plot: TimePlot) -> tuple[float, float]:
    values = [v for ln in plot.lines for _, v in ln.points if math.isfinite(v)]
    if plot.threshold is not None:
        values.append(plot.threshold)
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    lo = min(lo, 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1.0
    return lo, hi + (hi - lo) * 0.08


def _band(band: Band, x: _Scale) -> str:
    colour = BAND_COLOURS.get(band.kind, "#e8e8e8")
    x0, x1 = x(band.start), x(max(band.end, band.start))
    return (
        f'<rect class="band band-{escape(band.kind)}" x="{x0:.1f}" y="{TOP}" '
        f'width="{max(x1 - x0, 1.0):.1f}" height="{HEIGHT - TOP - BOTTOM}" fill="{colour}">'
        f"<title>{escape(band.kind)} {band.start:.1f}-{band.end:.1f} s</title></rect>"
        + _text(x0 + 3, TOP + 11, band.kind, size=10, fill="#555")
    )


def _axes(x: _Scale, y: _Scale, x_label: str) -> list[str]:
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>',
    ]
    for t in nice_ticks(x.lo, x.hi):
        px = x(t)
        parts.append(
            f'<line x1="{px:.1f}" y1="{HEIGHT - BOTTOM}" x2="{px:.1f}" '
            f'y2="{HEIGHT - BOTTOM + 4}" stroke="#333"/>'
        )
        parts.append(_text(px, HEIGHT - BOTTOM + 16, _fmt(t), anchor="middle", size=10))
    for v in nice_ticks(y.lo, y.hi):
        py = y(v)
        parts.append(
            f'<line x1="{LEFT}" y1="{py:.1f}" x2="{WIDTH - RIGHT}" y2="{py:.1f}" '
            'stroke="#ddd" stroke-width="0.5"/>'
        )
        parts.append(_text(LEFT - 6, py + 3, _fmt(v), anchor="end", size=10))
    parts.append(
        _text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - BOTTOM + 30, x_label, anchor="middle", size=10)
    )
    return parts


def _threshold(value: float, x: _Scale, y: _Scale) -> str:
    py = y(value)
    return (
        f'<line class="threshold" x1="{x.pixel_lo}" y1="{py:.1f}" x2="{x.pixel_hi}" '
        f'y2="{py:.1f}" stroke="#d62728" stroke-width="1.2" stroke-dasharray="6 4">'
        f"<title>threshold {_fmt(value)}</title></line>"
        + _text(
            x.pixel_hi - 4,
            py - 4,
            f"threshold {_fmt(value)}",
            anchor="end",
            size=10,
            fill="#d62728",
        )
    )


def _polyline(line: Line, colour: str, x: _Scale, y: _Scale) -> str:
    coords = " ".join(
        f"{x(t):.1f},{y(v):.1f}" for t, v in line.points if math.isfinite(v) and math.isfinite(t)
    )
    return (
        f'<polyline class="series" points="{coords}" fill="none" stroke="{colour}" '
        f'stroke-width="1.5"><title>{escape(line.label)}</title></polyline>'
    )


def _legend(lines: Sequence[Line]) -> list[str]:
    parts: list[str] = []
    shown = lines[:MAX_LEGEND]
    for i, line in enumerate(shown):
        lx = LEFT + (i % 3) * 230
        ly = HEIGHT - 14 + (i // 3) * 11
        parts.append(f'<rect x="{lx}" y="{ly - 7}" width="10" height="3" fill="{_colour(i)}"/>')
        parts.append(_text(lx + 14, ly - 2, _short(line.label, 34), size=9))
    if len(lines) > MAX_LEGEND:
        parts.append(
            _text(
                WIDTH - RIGHT, HEIGHT - 2, f"+{len(lines) - MAX_LEGEND} more", size=9, anchor="end"
            )
        )
    return parts


def _mark(mark: Mark, index: int, x: _Scale) -> str:
    colour = MARK_COLOURS.get(mark.kind, "#333")
    px = x(mark.at)
    label_y = TOP + 22 + (index % 4) * 11
    return (
        f'<g class="mark mark-{escape(mark.kind)}"><line x1="{px:.1f}" y1="{TOP}" '
        f'x2="{px:.1f}" y2="{HEIGHT - BOTTOM}" stroke="{colour}" stroke-width="1.5" '
        f'stroke-dasharray="2 2"><title>{escape(mark.label)} at {mark.at:.2f} s</title></line>'
        + _mark_label(px, label_y, mark.label, colour)
        + "</g>"
    )


def _mark_label(px: float, y: float, label: str, colour: str) -> str:
    """Right of the mark, or left of it near the plot's right edge (never cut off)."""
    if px > WIDTH - RIGHT - 7 * len(label):
        return _text(px - 3, y, label, size=9, fill=colour, anchor="end")
    return _text(px + 3, y, label, size=9, fill=colour)


# -- time to alert against budget -------------------------------------------------------------


@dataclass(frozen=True)
class BudgetBar:
    label: str
    value: float | None  # None: never happened
    budget: float | None
    floor: float | None
    passed: bool


BAR_ROW = 22


def render_budget_chart(title: str, bars: Sequence[BudgetBar]) -> str:
    height = TOP + BOTTOM + BAR_ROW * max(len(bars), 1)
    label_w = 300
    top = max([b.budget or 0.0 for b in bars] + [b.value or 0.0 for b in bars] + [1.0])
    x = _Scale(0.0, top * 1.1, label_w, WIDTH - RIGHT)
    parts = [_text(LEFT, 18, title, weight="bold")]
    if not bars:
        parts.append(_text(WIDTH / 2, TOP + 16, "no alert was expected to fire", anchor="middle"))
    for i, bar in enumerate(bars):
        parts += _bar_row(bar, TOP + i * BAR_ROW, x, label_w)
    axis_y = height - BOTTOM + 6
    parts.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#333"/>'
    )
    for t in nice_ticks(x.lo, x.hi):
        parts.append(_text(x(t), axis_y + 14, _fmt(t), anchor="middle", size=10))
    parts.append(
        _text(
            (label_w + WIDTH) / 2,
            axis_y + 30,
            "seconds from the fault's start",
            anchor="middle",
            size=10,
        )
    )
    return _svg(WIDTH, height, title, parts)


def _bar_row(bar: BudgetBar, row_y: float, x: _Scale, label_w: int) -> list[str]:
    colour = "#2a8f2a" if bar.passed else "#d62728"
    parts = [_text(label_w - 8, row_y + 14, _short(bar.label, 46), anchor="end", size=10)]
    if bar.value is None:
        parts.append(_text(label_w + 4, row_y + 14, "never fired", size=10, fill=colour))
    else:
        w = max(x(bar.value) - x(0.0), 1.0)
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{row_y + 4}" width="{w:.1f}" height="13" '
            f'fill="{colour}"><title>{escape(bar.label)}: {bar.value:.2f} s</title></rect>'
        )
        parts.append(_text(label_w + w + 4, row_y + 14, f"{bar.value:.2f} s", size=9))
    if bar.budget is not None:
        bx = x(bar.budget)
        parts.append(
            f'<line class="budget" x1="{bx:.1f}" y1="{row_y + 1}" x2="{bx:.1f}" '
            f'y2="{row_y + 20}" stroke="#111" stroke-width="2">'
            f"<title>budget {bar.budget:.2f} s</title></line>"
        )
    if bar.floor is not None:
        fx = x(bar.floor)
        parts.append(
            f'<line class="floor" x1="{fx:.1f}" y1="{row_y + 3}" x2="{fx:.1f}" '
            f'y2="{row_y + 18}" stroke="#888" stroke-dasharray="2 2">'
            f"<title>floor {bar.floor:.2f} s</title></line>"
        )
    return parts


# -- shared helpers -----------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="sans-serif">'
        f'<title>{escape(title)}</title><rect width="{width}" height="{height}" fill="#fff"/>'
        f"{body}</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = 12,
    weight: str = "normal",
    fill: str = "#222",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>'
    )


def _colour(i: int) -> str:
    return LINE_COLOURS[i % len(LINE_COLOURS)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"
