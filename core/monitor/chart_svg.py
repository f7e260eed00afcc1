"""Loss curves drawn as one small SVG string: the Monitor page's default chart.

Why not a charting library: plotly's front end is a 4.7 MB script a fresh browser session must
load and compile before the first curve shows (TensorBoard drew its first chart sooner), and a
live page re-sends and re-draws every figure at each refresh. An SVG of a few thousand points is
drawn by the browser at once, costs a few milliseconds to write, and is cached until new points
arrive. The page keeps plotly behind an "interactive" switch for zoom and hover.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable

import numpy as np

from core.monitor.curves import CHART_TAGS, Curve
from core.monitor.live_curves import RunCurves, live_chart_curves

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 48, 30
# Room for the y labels, the title and legend, the x labels.


@dataclass(frozen=True)
class Marker:
    """A vertical line at x: a checkpoint saved (dotted grey) or the best model updated (dashed green)."""

    x: float
    best: bool = False


@dataclass(frozen=True)
class Dot:
    """A labelled point on the chart: a checkpoint on its loss curve (a larger green one for the best model)."""

    x: float
    y: float
    label: str
    best: bool = False


def _as_float(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """x as float seconds or steps; True when x is wall-clock time (labelled as a time of day)."""
    if np.issubdtype(x.dtype, np.datetime64):
        return x.astype("datetime64[s]").astype(np.float64), True
    return x.astype(np.float64), False


CLOCK_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def nice_ticks(low: float, high: float, count: int = 5, *, clock: bool = False) -> list[float]:
    """About `count` round values covering [low, high]: 1, 2 or 5 times a power of ten apart, or
    whole minutes and hours apart when `clock` (seconds of wall time)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if clock and raw > 30:
        step = next((s for s in CLOCK_STEPS_S if s >= raw), step)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float, is_time: bool, log_y: bool = False) -> str:
    if is_time:
        return np.datetime64(int(value), "s").astype(str)[11:16]  # HH:MM, UTC like the wall-time axis
    if log_y:
        value = 10 ** value
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}"
    return f"{value:.4g}"


def _segments(xs: np.ndarray, ys: np.ndarray) -> list[str]:
    """Polyline point lists, broken where a value is missing (NaN, or not positive on a log axis)."""
    good = np.isfinite(xs) & np.isfinite(ys)
    # Runs of good points: where `good` switches on and off.
    edges = np.flatnonzero(np.diff(np.concatenate([[False], good, [False]]).astype(np.int8)))
    out = []
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
        # Python floats format several times faster than numpy scalars.
        out.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[start:stop].tolist(), ys[start:stop].tolist())))
    return out


def line_chart_svg(title: str, curves: list[Curve], *, markers: tuple[Marker, ...] = (), dots: tuple[Dot, ...] = (),
                   log_y: bool = False, width: int = 900, height: int = 300,
                   y_format: Callable[[float], str] | None = None, y_from_zero: bool = False) -> str:
    """The curves (raw faint, smoothed solid) on shared axes, with the markers and dots, as an SVG document.

    `y_format` writes the y labels (bytes, say); `y_from_zero` starts the y axis at 0."""
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{LEFT}" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    xs_all, is_time, prepared = [], False, []
    for curve in curves:
        x, is_time = _as_float(np.asarray(curve.x))
        raw, smooth = (np.asarray(v, np.float64) for v in (curve.raw, curve.smoothed))
        if log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                raw, smooth = (np.where(v > 0, np.log10(v), np.nan) for v in (raw, smooth))
        prepared.append((curve.label, x, raw, smooth))
        xs_all.append(x)
    if dots:  # a checkpoint saved after the last logged point still gets its place
        xs_all.append(np.array([d.x for d in dots], np.float64))
        dot_ys = np.array([d.y for d in dots], np.float64)
        if log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                dot_ys = np.where(dot_ys > 0, np.log10(dot_ys), np.nan)
        prepared_ys = [dot_ys]
    else:
        prepared_ys = []
    ys = np.concatenate([np.concatenate([r, s]) for _l, _x, r, s in prepared] + prepared_ys) if prepared else np.zeros(0)
    xs = np.concatenate(xs_all) if xs_all else np.zeros(0)
    ys, xs = ys[np.isfinite(ys)], xs[np.isfinite(xs)]
    if not ys.size or not xs.size:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">no points yet</text></svg>')
        return "".join(parts)
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.05 or (abs(y0) * 0.05 or 1.0)
    y0, y1 = (0.0 if y_from_zero and y0 >= 0 else y0 - pad), y1 + pad

    def sx(v):
        return LEFT + (v - x0) / (x1 - x0) * plot_w

    def sy(v):
        return TOP + (y1 - v) / (y1 - y0) * plot_h

    parts.append(f'<g stroke="#e5e5e5">')
    y_ticks = nice_ticks(y0, y1, 6)
    for tick in y_ticks:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}"/>')
    parts.append("</g>")
    for tick in y_ticks:
        parts.append(f'<text x="{LEFT - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end" fill="#555">'
                     f'{escape(y_format(tick)) if y_format else _label(tick, False, log_y)}</text>')
    for tick in nice_ticks(x0, x1, 7, clock=is_time):
        parts.append(f'<text x="{sx(tick):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" fill="#555">'
                     f'{_label(tick, is_time)}</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>')
    for marker in markers:
        if x0 <= marker.x <= x1:
            style = 'stroke="green" stroke-dasharray="6 4"' if marker.best else 'stroke="grey" stroke-dasharray="2 3"'
            parts.append(f'<line x1="{sx(marker.x):.1f}" x2="{sx(marker.x):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                         f'{style} stroke-width="1"/>')
    legend_x = LEFT
    for index, (label, x, raw, smooth) in enumerate(prepared):
        color = COLORS[index % len(COLORS)]
        for values, opacity, line_width in ((raw, 0.25, 1), (smooth, 1.0, 1.6)):
            for points in _segments(sx(x), sy(values)):
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-opacity="{opacity}" '
                             f'stroke-width="{line_width}" points="{points}"/>')
        parts.append(f'<rect x="{legend_x}" y="26" width="10" height="10" fill="{color}"/>'
                     f'<text x="{legend_x + 14}" y="35">{escape(label)}</text>')
        legend_x += 24 + 7 * len(label)
    for dot in dots:
        y = math.log10(dot.y) if log_y and dot.y > 0 else dot.y
        if x0 <= dot.x <= x1 and y0 <= y <= y1:
            cx, cy = sx(dot.x), sy(y)
            fill, radius = ("#2ca02c", 6) if dot.best else ("#d62728", 4)
            # A label near an edge grows inwards, so it is never cut off.
            anchor = "end" if cx > width - RIGHT - 50 else "start" if cx < LEFT + 50 else "middle"
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{fill}" stroke="white"/>'
                         f'<text x="{cx:.1f}" y="{cy - radius - 4:.1f}" text-anchor="{anchor}" font-size="10" '
                         f'fill="#333">{escape(dot.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def monitor_charts_svg(runs: dict[str, RunCurves], *, ema: float, x_mode: str, log_y: bool,
                       markers: tuple[Marker, ...] = ()) -> list[str]:
    """The Monitor page's charts (CHART_TAGS) for these runs' curves, one SVG each, empty ones left out.

    The curves are brought up to date from the new points only (core.monitor.live_curves), so a
    refresh costs the same at step 1,000 and at step 100,000."""
    charts = []
    for title, tags in CHART_TAGS.items():
        curves = live_chart_curves(runs, tags, ema_weight=ema, x_mode=x_mode)
        if curves:
            charts.append(line_chart_svg(title, curves, markers=markers, log_y=log_y))
    return charts
