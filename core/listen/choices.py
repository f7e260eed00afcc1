"""What the listening view offers beside a run's checkpoints: its base model's weights and its training clips.

Light (no torch): the page calls these on every full rerun, so the training CSV is parsed once per
(path, size, mtime) and answered from memory after that.
"""
from __future__ import annotations

import threading
from pathlib import Path

from core.dataset.metadata_csv import read_metadata_csv
from core.base.errors import ConfigInvalid

MAX_CLIPS_OFFERED = 500

_lock = threading.Lock()
_clips_by_stamp: dict[tuple[str, int, int], list[str]] = {}


def base_model_file(config: dict) -> str | None:
    """The run's base model weights (XTTS v2's model.pth), when its base folder has them (the demo's has not)."""
    base = str(config.get("base_model_dir") or "")
    model = Path(base) / "model.pth" if base else None
    return str(model) if model is not None and model.is_file() else None


def dataset_clips(config: dict) -> list[str]:
    """Audio files of the run's training CSV (the first MAX_CLIPS_OFFERED), to condition on instead of ready/'s."""
    csv_path = str(config.get("train_csv") or "")
    try:
        stat = Path(csv_path).stat() if csv_path else None
    except OSError:
        stat = None
    if stat is None:
        return []  # no CSV, or it moved: the default reference still works
    key = (csv_path, stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key in _clips_by_stamp:
            return list(_clips_by_stamp[key])
    try:
        metadata = read_metadata_csv(csv_path, "train_csv")
    except ConfigInvalid:
        return []
    clips = [metadata.audio_path_str(row) for row in metadata.rows[:MAX_CLIPS_OFFERED]]
    with _lock:
        _clips_by_stamp.clear()  # one run's CSV at a time is what the page shows
        _clips_by_stamp[key] = clips
    return list(clips)
