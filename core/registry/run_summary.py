"""One line per run for the sidebar's run picker, without deriving every run's full state on every rerun.

`read_run_state` reads four JSON files, the process table and a 64 KB log tail. The picker only
needs the phase and the output folder's name, and for an ended run those change only when one of
its files changes: a summary is kept per run folder, keyed by the files' mtimes, and a live run
is checked again (its status file changes with every step) once its process is gone.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from core.registry.process_identity import is_alive
from core.registry.records import run_files
from core.registry.state import read_run_state
from core.base.workspace import Workspace


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    output_name: str  # the output folder's last part ("?" when the record is unreadable)
    phase: str
    live: bool

    @property
    def label(self) -> str:
        return f"{self.run_id} · {self.output_name} · {self.phase}"


_lock = threading.Lock()
_known: dict[tuple[str, str], tuple[tuple, RunSummary, object]] = {}  # (root, run) -> (stamp, summary, identity)


def _stamp(ws: Workspace, run_id: str) -> tuple:
    files = run_files(ws, run_id)
    stamp = []
    for path in (files.record, files.outcome, files.stop):
        try:
            stamp.append(path.stat().st_mtime_ns)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def run_summary(ws: Workspace, run_id: str) -> RunSummary:
    """The run's phase and output name; derived again only when its files say something changed."""
    key = (str(ws.root), run_id)
    stamp = _stamp(ws, run_id)
    with _lock:
        known = _known.get(key)
    if known is not None and known[0] == stamp:
        _stamp_then, summary, identity = known
        # A live run stays live while its process does; an ended one stays ended until a file changes.
        if not summary.live or (identity is not None and is_alive(identity)):
            return summary
    state = read_run_state(ws, run_id)
    output = state.record.output_path.rstrip("/").rsplit("/", 1)[-1] if state.record else "?"
    summary = RunSummary(run_id, output, state.phase.value, state.phase.is_live)
    with _lock:
        _known[key] = (stamp, summary, state.record.identity if state.record else None)
    return summary
