"""Run state derived from disk and the process table, so it survives reloads and restarts."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from core.base.atomic_io import read_json
from core.registry.process_identity import is_alive
from core.registry.records import EXIT_INTERRUPTED, RunRecord, last_log_lines, load_record, read_status, run_files
from core.registry.status import RunStatus
from core.base.workspace import Workspace


class RunPhase(str, Enum):
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"  # record missing or unreadable

    @property
    def is_live(self) -> bool:
        return self in (RunPhase.RUNNING, RunPhase.STOPPING)


@dataclass(frozen=True)
class RunState:
    run_id: str
    phase: RunPhase
    record: RunRecord | None
    status: RunStatus = field(default_factory=RunStatus)
    exit_code: int | None = None
    detail: str = ""  # one sentence for the UI: why it ended, how it was stopped
    last_lines: tuple[str, ...] = ()


# torch reports a save cut short by a full disk as "unexpected pos" rather than ENOSPC.
DISK_FULL_SIGNS = ("No space left on device", "unexpected pos", "File too large")


def disk_full_hint(lines: tuple[str, ...]) -> str:
    """A plain-words hint when the log shows a write that ran out of disk."""
    if any(sign in line for line in lines for sign in DISK_FULL_SIGNS):
        return " — the disk looks full: a checkpoint write failed; free space (see the Disk page) and continue the run"
    return ""


def read_run_state(ws: Workspace, run_id: str) -> RunState:
    """What a run is doing now, from its record, its files and the process table."""
    record = load_record(ws, run_id)
    if record is None:
        return RunState(run_id, RunPhase.UNKNOWN, None, detail="run record missing or unreadable")
    status = read_status(ws, run_id)
    files = run_files(ws, run_id)
    outcome = read_json(files.outcome)
    stop = read_json(files.stop) or {}
    alive = is_alive(record.identity)
    if alive:
        # The outcome file is written just before exit; the process is still ours until it is gone.
        if stop:
            return RunState(run_id, RunPhase.STOPPING, record, status, detail="stop requested (SIGINT): saving a checkpoint")
        return RunState(run_id, RunPhase.RUNNING, record, status)
    # A multi-rank run that failed names the rank; its own log says why.
    failed_rank = outcome.get("failed_rank") if isinstance(outcome, dict) else None
    tail = tuple(last_log_lines(ws, run_id, rank=failed_rank if isinstance(failed_rank, int) else 0))
    if isinstance(outcome, dict) and isinstance(outcome.get("exit_code"), int):
        code = outcome["exit_code"]
        if code == 0:
            return RunState(run_id, RunPhase.FINISHED, record, status, 0, outcome.get("message", "finished"), tail)
        if code == EXIT_INTERRUPTED:
            return RunState(run_id, RunPhase.STOPPED, record, status, code,
                            outcome.get("message", "stopped by SIGINT; the trainer saved a checkpoint"), tail)
        return RunState(run_id, RunPhase.FAILED, record, status, code,
                        outcome.get("message", f"exited with status {code}") + disk_full_hint(tail), tail)
    if stop.get("escalated"):
        return RunState(run_id, RunPhase.STOPPED, record, status, None,
                        f"did not stop within {stop.get('grace_s')} s of SIGINT; killed (SIGKILL), no checkpoint saved", tail)
    if stop:
        return RunState(run_id, RunPhase.STOPPED, record, status, None, "stopped", tail)
    return RunState(run_id, RunPhase.FAILED, record, status, None,
                    "the training process ended without an exit record (killed or crashed)", tail)
