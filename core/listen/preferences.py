"""Blind-test preferences: which of two checkpoints' samples a listener found better, per run.

One small JSON file in the workspace, `{run_id: [{"winner": path, "loser": path, "at_s": time}]}`,
rewritten atomically on each pick; `tally` counts the wins per checkpoint path for the page.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.base.workspace import Workspace

FILE_NAME = "listening_preferences.json"


def preferences_file(ws: Workspace) -> Path:
    return ws.root / FILE_NAME


def _read(ws: Workspace) -> dict[str, list[dict]]:
    data = read_json(preferences_file(ws))
    if not isinstance(data, dict):
        return {}
    return {run: [p for p in picks if isinstance(p, dict) and isinstance(p.get("winner"), str)
                  and isinstance(p.get("loser"), str)]
            for run, picks in data.items() if isinstance(run, str) and isinstance(picks, list)}


def record_preference(ws: Workspace, run_id: str, winner_path: str | os.PathLike, loser_path: str | os.PathLike,
                      *, now_s: float | None = None) -> None:
    """Record that `winner_path`'s sample was preferred over `loser_path`'s in a blind test of `run_id`."""
    data = _read(ws)
    data.setdefault(run_id, []).append({"winner": str(winner_path), "loser": str(loser_path),
                                        "at_s": time.time() if now_s is None else now_s})
    write_json_atomic(preferences_file(ws), data)


def tally(ws: Workspace, run_id: str) -> dict[str, int]:
    """Blind-test wins per checkpoint path of `run_id` (a checkpoint that only lost counts 0)."""
    wins: dict[str, int] = {}
    for pick in _read(ws).get(run_id, []):
        wins[pick["winner"]] = wins.get(pick["winner"], 0) + 1
        wins.setdefault(pick["loser"], 0)
    return wins
