"""Bounded-size views of long scalar series for plotting, and TensorBoard's smoothing.

A browser chart slows down well before 100,000 points per line, so pages plot at most a few
thousand. Largest-triangle-three-buckets (LTTB) keeps the visual shape; a loss spike must never
disappear, so the global minimum and maximum are always kept as well.
"""

from __future__ import annotations

import numpy as np


def lttb_indices(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Sorted indices of at most `max_points` points: LTTB plus first, last, global min and max."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = len(x)
    if max_points < 4:
        raise ValueError("max_points must be at least 4 (first, last, min and max)")
    if n <= max_points:
        return np.arange(n)
    finite = np.isfinite(y)
    y_safe = np.where(finite, y, 0.0)  # NaN/inf (a diverged loss) must not poison the areas
    extremes = [0, n - 1]
    if finite.any():
        extremes += [int(np.nanargmin(np.where(finite, y, np.nan))), int(np.nanargmax(np.where(finite, y, np.nan)))]
    buckets = max_points - 4  # room for the extremes even if LTTB picks none of them
    picked = _lttb_middle(x, y_safe, buckets) if buckets > 0 else np.zeros(0, np.intp)
    return np.unique(np.concatenate([picked, extremes]))


def _lttb_middle(x: np.ndarray, y: np.ndarray, buckets: int) -> np.ndarray:
    # Classic LTTB is sequential: each bucket's choice uses the point picked in the previous
    # bucket, a Python loop per bucket. Here every bucket is solved at once, first against the
    # previous bucket's mean, then once more against the points that pass picked. On smooth
    # curves this equals sequential LTTB; on noise some picks differ (each is still the largest
    # triangle against a point of the previous bucket), which a chart cannot show.
    n = len(x)
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.intp)  # bucket b is [edges[b], edges[b+1])
    sizes = np.diff(edges)
    keep = sizes > 0
    edges_lo, sizes = edges[:-1][keep], sizes[keep]
    bucket_of = np.repeat(np.arange(len(sizes)), sizes)
    idx = np.arange(edges_lo[0], edges_lo[0] + sizes.sum())
    mean_x = np.add.reduceat(x[idx], edges_lo - edges_lo[0]) / sizes
    mean_y = np.add.reduceat(y[idx], edges_lo - edges_lo[0]) / sizes
    # Point C of each bucket: the next bucket's mean (the last point for the last bucket).
    cx, cy = np.append(mean_x[1:], x[-1]), np.append(mean_y[1:], y[-1])
    ax, ay = np.insert(mean_x[:-1], 0, x[0]), np.insert(mean_y[:-1], 0, y[0])
    picked = _pick(x, y, idx, bucket_of, edges_lo, ax, ay, cx, cy)
    ax, ay = np.insert(x[picked[:-1]], 0, x[0]), np.insert(y[picked[:-1]], 0, y[0])
    picked = _pick(x, y, idx, bucket_of, edges_lo, ax, ay, cx, cy)
    return picked


def _pick(x, y, idx, bucket_of, edges_lo, ax, ay, cx, cy) -> np.ndarray:
    """Index of the largest triangle (A, point, C) in each bucket."""
    a_x, a_y, c_x, c_y = ax[bucket_of], ay[bucket_of], cx[bucket_of], cy[bucket_of]
    area = np.abs((a_x - c_x) * (y[idx] - a_y) - (a_x - x[idx]) * (c_y - a_y))
    best = np.maximum.reduceat(area, edges_lo - edges_lo[0])
    is_best = area == best[bucket_of]
    # First index reaching the bucket's maximum: reduceat on positions where is_best holds.
    pos = np.where(is_best, idx, np.iinfo(np.intp).max)
    return np.minimum.reduceat(pos, edges_lo - edges_lo[0])


def downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) reduced to at most `max_points` points with `lttb_indices`."""
    keep = lttb_indices(x, y, max_points)
    return np.asarray(x)[keep], np.asarray(y)[keep]


def ema_smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (its "Smoothing" slider).

    Non-finite values pass through unchanged and do not enter the average; a constant series is
    returned as is, as in TensorBoard."""
    values = np.asarray(values, np.float64)
    if not 0.0 <= weight <= 1.0:
        raise ValueError("weight must be within [0, 1]")
    out = values.copy()
    finite = np.isfinite(values)
    v = values[finite]
    if weight == 0.0 or len(v) == 0 or np.all(values == values[0]):
        return out
    if weight == 1.0:  # TensorBoard skips debiasing here: the average stays at its zero start
        out[finite] = 0.0
        return out
    last = biased_ema(v, weight)
    out[finite] = last / (1.0 - weight ** np.arange(1, len(v) + 1))
    return out


def biased_ema(v: np.ndarray, weight: float) -> np.ndarray:
    """last[i] = weight * last[i-1] + (1 - weight) * v[i], from last[-1] = 0, without a loop per point.

    Within a block of b points last[j] = w**(j+1) * carry + (1-w) * w**j * cumsum(v[i] / w**i);
    blocks are short enough that w**-b stays below 1e6, which keeps 10 significant digits."""
    block = int(np.clip(6 / -np.log10(weight), 1, 4096))
    n = len(v)
    padded = np.zeros(-n % block + n)
    padded[:n] = v
    rows = padded.reshape(-1, block)
    powers = weight ** np.arange(block)
    within = (1 - weight) * np.cumsum(rows / powers, axis=1) * powers  # each block from carry 0
    decay = weight * powers  # w**(j+1): how the carry fades along a block
    carry, carries = 0.0, np.empty(len(rows))
    for b, end in enumerate(within[:, -1].tolist()):  # one step per block, not per point
        carries[b] = carry
        carry = carry * decay[-1] + end
    return (within + carries[:, None] * decay).ravel()[:n]
