"""Escalates a stop request: SIGKILL the run's process group if SIGINT did not end it in time.

Run as `python -m core.runs.stopper <workspace root> <run id>`, detached from the dashboard.
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.registry.process_identity import group_members, identify, is_alive
from core.registry.records import load_record, stop_path
from core.base.workspace import Workspace


def kill_group(pgid: int) -> int:
    """SIGKILL every live member of a process group; return how many were signalled."""
    members = group_members(pgid)
    for proc in members:
        try:
            proc.send_signal(signal.SIGKILL)
        except Exception:
            pass
    return len(members)


def escalate(ws: Workspace, run_id: str, poll_s: float = 0.2) -> None:
    record = load_record(ws, run_id)
    stop = read_json(stop_path(ws, run_id)) or {}
    if record is None or not stop:
        return
    deadline = float(stop.get("requested_at", time.time())) + float(stop.get("grace_s", 180))
    while is_alive(record.identity) and time.time() < deadline:
        time.sleep(poll_s)
    if is_alive(record.identity):
        # Recorded before the kill, so whoever sees the process gone also sees why.
        stop["escalated"] = True
        stop["escalated_at"] = time.time()
        write_json_atomic(stop_path(ws, run_id), stop)
        kill_group(record.pid)
    elif identify(record.pid) is None:
        # Leader gone: data-loader workers it left behind would hold memory; end them too. The group
        # id is the leader's pid, and Linux gives no new process a pid still in use as a group id: a
        # process now holding that pid (checked above) means the group is empty and is not ours.
        leftovers = kill_group(record.pid)
        if leftovers:
            stop["orphans_killed"] = leftovers
            write_json_atomic(stop_path(ws, run_id), stop)


def main(argv: list[str]) -> int:
    root, run_id = argv[1], argv[2]
    escalate(Workspace(root=Path(root)), run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
