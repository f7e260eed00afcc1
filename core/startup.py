"""Once per dashboard start: remove what interrupted work left behind.

A promote or optimize killed mid-write (or a kept/ link interrupted) leaves a hidden
".<name>.partial-<pid>" file next to its target. It is never listed as a model (the gallery skips
hidden files), but it holds disk space; here every folder such a file can land in is swept.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoint_ops import clean_stale_temp_files
from core.gallery import custom_models_dir
from core.resume import run_folders
from core.retention import KEPT_DIR
from core.run_records import list_run_ids, load_record
from core.trainer_setup import ready_dir
from core.workspace import Workspace


def leftover_folders(ws: Workspace) -> list[Path]:
    """Folders where our temp files can be: custom models, and each run's ready/, run folders, kept/."""
    folders = [custom_models_dir(ws)]
    outputs = {load_record(ws, run_id).output_path for run_id in list_run_ids(ws) if load_record(ws, run_id)}
    for output in sorted(outputs):
        folders.append(ready_dir(output))
        for folder in run_folders(output):
            folders += [folder, folder / KEPT_DIR]
    return list(dict.fromkeys(f for f in folders if f.is_dir()))


def clean_leftovers(ws: Workspace) -> list[Path]:
    """Remove temp files whose writer is gone from every leftover folder; returns what was removed.

    A temp file of a writer that is still alive (a promote in another session) is kept.
    """
    removed: list[Path] = []
    for folder in leftover_folders(ws):
        try:
            removed += clean_stale_temp_files(folder)
        except OSError:
            continue  # the folder went away meanwhile (a run deleted): nothing left to clean there
    return removed
