"""A job's folder: `<workspace>/jobs/<job_id>/` and the one place its file names are spelled.

    record.json    what was started: kind, pid + start time, target folder, params (atomic)
    progress.json  done / total / message, written by the job process (atomic)
    outcome.json   how it ended (finished, stopped, failed) and its result, written last
    stop.json      a stop request
    job.log        the job process's stdout and stderr
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.base.atomic_io import read_json, write_json_atomic
from core.registry.process_identity import ProcessIdentity
from core.base.workspace import Workspace


@dataclass(frozen=True)
class JobFiles:
    folder: Path

    @property
    def record(self) -> Path:
        return self.folder / "record.json"

    @property
    def progress(self) -> Path:
        return self.folder / "progress.json"

    @property
    def outcome(self) -> Path:
        return self.folder / "outcome.json"

    @property
    def stop(self) -> Path:
        return self.folder / "stop.json"

    @property
    def log(self) -> Path:
        return self.folder / "job.log"


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    kind: str  # e.g. "make_dataset"
    module: str  # started as `python -m <module> <job folder>`
    target: str  # the folder the job writes; one job per target at a time
    params: dict[str, Any] = field(default_factory=dict)
    pid: int = 0
    process_start_time: float = 0.0
    started_at: float = 0.0

    @property
    def identity(self) -> ProcessIdentity:
        return ProcessIdentity(self.pid, self.process_start_time)


def jobs_dir(ws: Workspace) -> Path:
    return ws.root / "jobs"


def job_files(ws: Workspace, job_id: str) -> JobFiles:
    return JobFiles(jobs_dir(ws) / job_id)


def save_job_record(files: JobFiles, record: JobRecord) -> None:
    write_json_atomic(files.record, asdict(record))


def load_job_record(files: JobFiles, *, require_process: bool = True) -> JobRecord | None:
    """The validated record, or None when it is missing, malformed or names no plausible process.

    The job process itself reads its record before the launcher has added its pid
    (`require_process=False`).
    """
    data = read_json(files.record)
    if not isinstance(data, dict):
        return None
    try:
        record = JobRecord(**data)
    except TypeError:
        return None
    plausible = (isinstance(record.pid, int) and record.pid > 0 and isinstance(record.process_start_time, (int, float))
                 and math.isfinite(record.process_start_time))
    return record if plausible or not require_process else None


def list_job_ids(ws: Workspace, kind: str | None = None) -> list[str]:
    """Job ids, newest first (ids sort by start time), optionally of one kind."""
    folder = jobs_dir(ws)
    if not folder.is_dir():
        return []
    ids = []
    for path in folder.iterdir():
        record = load_job_record(JobFiles(path))
        if record is not None and (kind is None or record.kind == kind):
            ids.append(path.name)
    return sorted(ids, reverse=True)
