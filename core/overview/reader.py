"""The rows of every run, cached by file stamps: a page rerun reads only the runs whose files changed.

A finished run's row changes only when one of its files does: record.json, status.json,
outcome.json or stop.json (size + mtime, as TensorBoard's loaders tell a grown file from a new
one), or when files are deleted or added in its trainer folder or ready/ (Clean up on the
Checkpoints page, a later export moving a bundle to ready/previous/): those show in the mtimes of
the folders that hold them. A live run is read again on every call: its phase depends on the
process table, not only on files, and its status changes every few seconds anyway.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.layout import INCOMPLETE_DIR, KEPT_DIR, PREVIOUS_DIR, ready_dir
from core.overview.datasets import DatasetSummaries
from core.overview.rows import RunRow, read_run_row
from core.registry.records import list_run_ids, run_files
from core.base.workspace import Workspace

_Stamp = tuple[int, int] | None  # (st_size, st_mtime_ns); None: no such file


@dataclass(frozen=True)
class RunStamp:
    files: tuple[_Stamp, ...]  # record, status, outcome, stop
    folders: tuple[_Stamp, ...]  # trainer folder, its kept/ and incomplete/, ready/, ready/previous/


def _stamp(path: Path) -> _Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def file_stamps(ws: Workspace, run_id: str) -> tuple[_Stamp, ...]:
    files = run_files(ws, run_id)
    return tuple(_stamp(p) for p in (files.record, files.status, files.outcome, files.stop))


def folder_stamps(row: RunRow) -> tuple[_Stamp, ...]:
    """mtimes of the folders whose files a row counts: a deleted or added file changes its folder's."""
    folders: list[Path] = []
    if row.trainer_run_folder:
        trainer = Path(row.trainer_run_folder)
        folders += [trainer, trainer / KEPT_DIR, trainer / INCOMPLETE_DIR]
    if row.output_path:
        ready = ready_dir(row.output_path)
        folders += [ready, ready / PREVIOUS_DIR]
    return tuple(_stamp(p) for p in folders)


class OverviewReader:
    """Rows of every run of a workspace, newest first; one instance may serve many threads."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[RunStamp, RunRow]] = {}
        self._datasets = DatasetSummaries()
        self.rows_read = 0  # runs read from their files so far (the rest came from the cache)

    def rows(self, *, now_s: float | None = None) -> tuple[RunRow, ...]:
        """Every run's row; a run is read again only when its stamps changed or it is live."""
        now_s = time.time() if now_s is None else now_s
        with self._lock:
            run_ids = list_run_ids(self.ws)
            fresh: dict[str, tuple[RunStamp, RunRow]] = {}
            for run_id in run_ids:
                files = file_stamps(self.ws, run_id)  # taken before reading: a change during the read shows next time
                cached = self._rows.get(run_id)
                if (cached is not None and not cached[1].is_live and cached[0].files == files
                        and cached[0].folders == folder_stamps(cached[1])):
                    fresh[run_id] = cached
                    continue
                row = read_run_row(self.ws, run_id, self._datasets, now_s=now_s)
                # The folders are known only once the row is read (status.json names the trainer folder).
                # Only rows of ended runs are reused, and their folders change by a user's action, not
                # during this read.
                fresh[run_id] = (RunStamp(files, folder_stamps(row)), row)
                self.rows_read += 1
            self._rows = fresh  # deleted runs drop out
            return tuple(fresh[r][1] for r in run_ids)

    def forget(self, run_id: str) -> None:
        """Drop one run's cached row (after an action that changed it outside its stamps)."""
        with self._lock:
            self._rows.pop(run_id, None)


def read_rows(ws: Workspace, *, now_s: float | None = None) -> tuple[RunRow, ...]:
    """Every run's row read from its files, with no cache kept (the CLI, and the benchmark's baseline)."""
    datasets = DatasetSummaries()
    return tuple(read_run_row(ws, run_id, datasets, now_s=now_s) for run_id in list_run_ids(ws))
