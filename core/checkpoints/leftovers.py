"""Once per dashboard start: remove what interrupted work left behind.

A promote or optimize killed mid-write (or a kept/ link interrupted) leaves a hidden
".<name>.partial-<pid>" file next to its target. It is never listed as a model (the gallery skips
hidden files), but it holds disk space; here every folder such a file can land in is swept.
"""
from __future__ import annotations

from pathlib import Path

from core.checkpoints.layout import kept_dir, ready_dir, trainer_run_folders
from core.checkpoints.ops import clean_stale_temp_files
from core.registry.records import list_run_ids, load_record
from core.base.workspace import Workspace


def leftover_folders(ws: Workspace) -> list[Path]:
    """Folders where our temp files can be: custom models, and each run's ready/, run folders, kept/."""
    folders = [ws.custom_models_dir]
    records = (load_record(ws, run_id) for run_id in list_run_ids(ws))
    outputs = {record.output_path for record in records if record is not None}
    for output in sorted(outputs):
        folders.append(ready_dir(output))
        for folder in trainer_run_folders(output):
            folders += [folder, kept_dir(folder)]
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
