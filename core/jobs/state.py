"""What a job is doing, derived from its files and the process table (survives page reloads)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.base.atomic_io import read_json
from core.registry.process_identity import is_alive
from core.base.text import strip_ansi
from core.jobs.files import JobRecord, job_files, load_job_record
from core.base.workspace import Workspace


class JobPhase(str, Enum):
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_live(self) -> bool:
        return self in (JobPhase.RUNNING, JobPhase.STOPPING)


@dataclass(frozen=True)
class JobProgress:
    done: int = 0
    total: int = 0
    message: str = ""
    started_at_s: float | None = None
    updated_at_s: float | None = None
    eta_s: float | None = None  # computed once, by the job, from its own pace

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @classmethod
    def from_json(cls, data: Any) -> "JobProgress":
        if not isinstance(data, dict):
            return cls()
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            return cls(**known)
        except TypeError:
            return cls()


@dataclass(frozen=True)
class JobState:
    job_id: str
    phase: JobPhase
    record: JobRecord | None
    progress: JobProgress = field(default_factory=JobProgress)
    message: str = ""  # one sentence: how it ended
    result: dict[str, Any] = field(default_factory=dict)


def read_job_state(ws: Workspace, job_id: str) -> JobState:
    files = job_files(ws, job_id)
    record = load_job_record(files)
    if record is None:
        return JobState(job_id, JobPhase.UNKNOWN, None, message="job record missing or unreadable")
    progress = JobProgress.from_json(read_json(files.progress))
    stopping = files.stop.is_file()
    if is_alive(record.identity):
        phase = JobPhase.STOPPING if stopping else JobPhase.RUNNING
        return JobState(job_id, phase, record, progress, "stop requested" if stopping else "")
    outcome = read_json(files.outcome)
    if isinstance(outcome, dict) and outcome.get("phase") in ("finished", "stopped", "failed"):
        result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
        return JobState(job_id, JobPhase(outcome["phase"]), record, progress, str(outcome.get("message", "")), result)
    if stopping:
        return JobState(job_id, JobPhase.STOPPED, record, progress, "stopped")
    return JobState(job_id, JobPhase.FAILED, record, progress,
                    "the job process ended without an outcome (killed or crashed); see its log")


def job_log_tail(ws: Workspace, job_id: str, max_bytes: int = 32 * 1024, count: int = 200) -> list[str]:
    """The last lines of a job's log, reading only the end of the file."""
    path = job_files(ws, job_id).log
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    return [strip_ansi(line) for line in data.decode("utf-8", "replace").splitlines()[-count:]]
