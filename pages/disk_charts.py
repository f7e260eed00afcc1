"""The Disk page's chart of a run: forecast and measured bytes on disk, as an SVG (importable without the page)."""
from __future__ import annotations

import numpy as np

from core.disk.plan import DiskPlan
from core.disk.simulation import thin_timeline
from core.disk.tracking import DiskSample
from core.monitor.chart_svg import Dot, line_chart_svg
from core.monitor.curves import Curve
from pages.common import human_bytes


def _as_steps(xs: list[float], ys: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A line that holds each value until the next point, then jumps (plotly's "hv" shape)."""
    if len(xs) < 2:
        return np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    step_x = np.repeat(np.asarray(xs, np.float64), 2)[1:]
    step_y = np.repeat(np.asarray(ys, np.float64), 2)[:-1]
    return step_x, step_y


def run_timeline_svg(plan: DiskPlan, measured: list[DiskSample], free_bytes: int | None) -> str:
    """The run's forecast and measured bytes on disk as an SVG: a live panel redraws it every few seconds,
    which costs the browser far less than a plotly figure (and a new session loads no chart script)."""
    points = thin_timeline(plan.timeline)
    curves = [Curve("forecast", *_as_steps([p.step for p in points], [p.bytes_on_disk for p in points]), None)]
    with_step = [s for s in measured if s.step is not None]
    if with_step:
        curves.append(Curve("measured", *_as_steps([s.step for s in with_step], [s.bytes_on_disk for s in with_step]),
                            None))
    top = max([plan.peak_bytes, *(s.bytes_on_disk for s in with_step)])
    title = "Bytes on disk by step"
    if free_bytes is not None and free_bytes <= 4 * top:  # further up, a line would flatten the sawtooth
        last_step = max(float(points[-1].step) if points else 0.0, float(with_step[-1].step) if with_step else 0.0)
        curves.append(Curve(f"free space {human_bytes(free_bytes)}", np.array([0.0, last_step]),
                            np.array([free_bytes, free_bytes], np.float64), None))
    elif free_bytes is not None:
        title += f" (free space {human_bytes(free_bytes)}, far above)"
    curves = [Curve(c.label, c.x, c.raw, c.raw) for c in curves]  # nothing to smooth: one line each
    peak = Dot(float(plan.peak_step), float(plan.peak_bytes), f"peak {human_bytes(plan.peak_bytes)} (step {plan.peak_step})")
    return line_chart_svg(title, curves, dots=(peak,), height=340, y_format=human_bytes, y_from_zero=True)
