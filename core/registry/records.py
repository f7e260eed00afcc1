"""Run records: one folder per launched run in the workspace, the single source of run state.

<workspace>/runs/<run_id>/
    record.json   what was launched: pid + start time, command, config, output path (atomic)
    status.json   progress written by the training process's callbacks (atomic)
    outcome.json  exit code written by the training process when it ends
    stop.json     a stop request and whether it had to be escalated
    launch.json   what the training process needs (resolved config, mode, resume point)
    disk_samples.jsonl  bytes on disk over time, written by the training process
    train.log     the training process's stdout and stderr (rank 0 of a multi-rank run)
    train.rank<R>.log   rank R's output, for R > 0

`RunFiles` is the one place these names are spelled out.
"""
from __future__ import annotations

import math
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.base.atomic_io import read_json, write_json_atomic
from core.base.config import RunConfig
from core.registry.process_identity import ProcessIdentity
from core.registry.status import RunStatus
from core.base.text import strip_ansi
from core.base.workspace import Workspace

RECORD_VERSION = 1
EXIT_INTERRUPTED = 130  # the trainer's exit status after a SIGINT save (os._exit(130) in fit())


@dataclass(frozen=True)
class RunFiles:
    """The files of one run folder, `<workspace>/runs/<run_id>/`."""
    folder: Path

    @property
    def record(self) -> Path:
        return self.folder / "record.json"

    @property
    def status(self) -> Path:
        return self.folder / "status.json"

    @property
    def outcome(self) -> Path:
        return self.folder / "outcome.json"

    @property
    def stop(self) -> Path:
        return self.folder / "stop.json"

    @property
    def launch(self) -> Path:
        return self.folder / "launch.json"

    @property
    def disk_samples(self) -> Path:
        return self.folder / "disk_samples.jsonl"

    def log(self, rank: int = 0) -> Path:
        return self.folder / rank_log_name(rank)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    output_path: str
    config: dict[str, Any]
    command: list[str]
    pid: int
    process_start_time: float
    started_at: float
    mode: str = "new"  # new | continue | restore
    resume_from: str = ""  # trainer run folder (continue) or checkpoint (restore)
    trainer_run_name: str = ""
    env_overrides: dict[str, str] = field(default_factory=dict)
    world_size: int = 1  # training processes (DDP ranks); >1: `pid` is the group leader
    gpus: list[int] = field(default_factory=list)  # GPU indices, rank R on gpus[R]; empty: CPU
    version: int = RECORD_VERSION

    @property
    def identity(self) -> ProcessIdentity:
        return ProcessIdentity(self.pid, self.process_start_time)


def new_run_id() -> str:
    """Sortable by start time, unique even for two runs started in the same second."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def run_dir(ws: Workspace, run_id: str) -> Path:
    return ws.runs_dir / run_id


def run_files(ws: Workspace, run_id: str) -> RunFiles:
    return RunFiles(run_dir(ws, run_id))


def save_record(ws: Workspace, record: RunRecord) -> None:
    write_record(run_files(ws, record.run_id), record)


def write_record(files: RunFiles, record: RunRecord) -> None:
    write_json_atomic(files.record, asdict(record))


def load_record(ws: Workspace, run_id: str) -> RunRecord | None:
    """The validated record, or None when it is missing or malformed."""
    data = read_json(run_files(ws, run_id).record)
    if not isinstance(data, dict):
        return None
    try:
        record = RunRecord(**data)
    except TypeError:
        return None
    if not _plausible_identity(record.pid, record.process_start_time):
        return None
    return record


def _plausible_identity(pid: Any, start_time: Any) -> bool:
    """A real pid and a finite start time; anything else would match the wrong process (or any)."""
    return (isinstance(pid, int) and not isinstance(pid, bool) and pid > 0
            and isinstance(start_time, (int, float)) and not isinstance(start_time, bool)
            and math.isfinite(start_time))


def list_run_ids(ws: Workspace) -> list[str]:
    """Run ids, newest first."""
    if not ws.runs_dir.is_dir():
        return []
    ids = [p.name for p in ws.runs_dir.iterdir() if RunFiles(p).record.is_file()]
    return sorted(ids, reverse=True)


def rank_log_name(rank: int) -> str:
    return "train.log" if rank == 0 else f"train.rank{rank}.log"


def log_path(ws: Workspace, run_id: str, rank: int = 0) -> Path:
    return run_files(ws, run_id).log(rank)


def status_path(ws: Workspace, run_id: str) -> Path:
    return run_files(ws, run_id).status


def outcome_path(ws: Workspace, run_id: str) -> Path:
    return run_files(ws, run_id).outcome


def stop_path(ws: Workspace, run_id: str) -> Path:
    return run_files(ws, run_id).stop


def read_status(ws: Workspace, run_id: str) -> RunStatus:
    """The run's status.json, parsed; defaults where it is missing or from another version."""
    return RunStatus.from_json(read_json(run_files(ws, run_id).status))


def run_config(ws: Workspace, run_id: str) -> RunConfig:
    """The configuration a run was launched with, as recorded."""
    record = load_record(ws, run_id)
    if record is None:
        raise ValueError(f"run {run_id} has no readable record")
    return RunConfig(**record.config)


def last_log_lines(ws: Workspace, run_id: str, count: int = 20, max_bytes: int = 64 * 1024, rank: int = 0) -> list[str]:
    """The last lines of train.log (or rank `rank`'s log), reading only its tail."""
    path = log_path(ws, run_id, rank)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    return [strip_ansi(line) for line in data.decode("utf-8", "replace").splitlines()[-count:]]
