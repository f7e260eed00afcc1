"""Loss curves for the Monitor page: tags grouped into charts, smoothed and downsampled."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.monitor.downsample import ema_smooth, lttb_indices
from core.monitor.events import RunEventReader

# Chart title -> the trainer's TensorBoard tags in it (docs/trainer-facts.md lists what coqui writes).
CHART_TAGS: dict[str, tuple[str, ...]] = {
    "Train loss": ("TrainIterStats/loss", "TrainIterStats/loss_text_ce", "TrainIterStats/loss_mel_ce"),
    "Eval loss": ("EvalStats/avg_loss", "EvalStats/avg_loss_text_ce", "EvalStats/avg_loss_mel_ce"),
    "Learning rate": ("TrainIterStats/current_lr",),
    "Grad norm": ("TrainIterStats/grad_norm",),
}
X_MODES = ("step", "wall time", "time since start")
MAX_POINTS_PER_SERIES = 1500


@dataclass(frozen=True)
class Curve:
    label: str
    x: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray


def x_values(steps: np.ndarray, walls: np.ndarray, x_mode: str, start_s: float) -> np.ndarray:
    if x_mode == "wall time":
        return walls.astype("datetime64[s]") if walls.size else walls
    if x_mode == "time since start":
        return walls - start_s
    return steps


def chart_curves(readers: dict[str, RunEventReader], tags: tuple[str, ...], *, ema_weight: float,
                 x_mode: str = "step", max_points: int = MAX_POINTS_PER_SERIES) -> list[Curve]:
    """One curve per (run, tag) present, at most `max_points` each (LTTB keeps spikes)."""
    curves = []
    for run_label, reader in readers.items():
        known = set(reader.tags())
        start_s = reader.first_wall_time_s()
        for tag in tags:
            if tag not in known:
                continue
            series = reader.series(tag)
            # Smooth the full series first, then send only the downsampled points to the browser.
            smoothed = ema_smooth(series.values, ema_weight)
            keep = (lttb_indices(series.steps.astype(float), series.values, max_points)
                    if series.steps.size > max_points else np.arange(series.steps.size))
            x = x_values(series.steps[keep], series.wall_times_s[keep], x_mode, start_s)
            label = tag.split("/", 1)[1] if len(readers) == 1 else f"{run_label} · {tag.split('/', 1)[1]}"
            curves.append(Curve(label, x, series.values[keep], smoothed[keep]))
    return curves
