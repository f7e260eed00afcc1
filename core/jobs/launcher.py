"""Start a job as a detached process group, one per target folder; stop it with SIGINT."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from core.base.atomic_io import write_json_atomic
from core.base.errors import LaunchRefused
from core.jobs.files import JobRecord, job_files, list_job_ids, load_job_record, save_job_record
from core.jobs.state import JobPhase, read_job_state
from core.registry.output_lock import OutputBusy, try_lock_output
from core.registry.process_identity import identify, is_alive
from core.registry.records import new_run_id
from core.base.workspace import PROJECT_DIR, Workspace


def job_lock_folder(target: Path) -> Path:
    """Where a job's lock lives: beside the target, which may not exist yet (and may be replaced)."""
    return target.parent / f".{target.name}.job"


def start_job(ws: Workspace, *, kind: str, module: str, target: Path, params: dict[str, Any]) -> JobRecord:
    """Launch `python -m <module> <job folder>` detached; refuse when a job already writes `target`.

    The flock is taken here and handed to the child, which holds it for its lifetime: no
    check-then-act race between two Starts, and it frees itself when the job dies (even SIGKILL).
    """
    job_id = new_run_id()
    target = Path(target)
    try:
        lock = try_lock_output(job_lock_folder(target), job_id)
    except OutputBusy as busy:
        raise LaunchRefused(f"{target} is being written by job {busy.holder_run_id}; wait for it or stop it") from None
    files = job_files(ws, job_id)
    try:
        files.folder.mkdir(parents=True)
        record = JobRecord(job_id=job_id, kind=kind, module=module, target=str(target), params=dict(params))
        save_job_record(files, record)  # the child reads its params from here; pid follows below
        env = ws.subprocess_env()
        env["XTTS_DASHBOARD_LOCK_FD"] = str(lock.fd)
        with open(files.log, "ab") as log:
            proc = subprocess.Popen([ws.python_executable, "-m", module, str(files.folder)], cwd=PROJECT_DIR, env=env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, pass_fds=(lock.fd,))
        identity = identify(proc.pid)
        record = JobRecord(job_id=job_id, kind=kind, module=module, target=str(target), params=dict(params),
                           pid=proc.pid, process_start_time=identity.start_time if identity else time.time(),
                           started_at=time.time())
        save_job_record(files, record)
    finally:
        lock.release()
    threading.Thread(target=proc.wait, name=f"reap-{job_id}", daemon=True).start()
    return record


def stop_job(ws: Workspace, job_id: str) -> bool:
    """Ask a live job to stop (SIGINT to its group: it removes what it had half made). False if not live."""
    files = job_files(ws, job_id)
    record = load_job_record(files)
    if record is None or not is_alive(record.identity):
        return False  # a pid that is not our job's any more is never signalled
    write_json_atomic(files.stop, {"requested_at": time.time()})
    try:
        os.killpg(record.pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    return True


def wait_for_job(ws: Workspace, job_id: str, timeout_s: float, poll_s: float = 0.1) -> JobPhase:
    """Block until the job is no longer live or the timeout passes; return its phase."""
    deadline = time.monotonic() + timeout_s
    while True:
        phase = read_job_state(ws, job_id).phase
        if not phase.is_live or time.monotonic() > deadline:
            return phase
        time.sleep(poll_s)


def live_job_for(ws: Workspace, kind: str) -> str | None:
    """The newest live job of a kind, if any (the page shows it after a reload)."""
    for job_id in list_job_ids(ws, kind):
        if read_job_state(ws, job_id).phase.is_live:
            return job_id
    return None

