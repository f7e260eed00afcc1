"""The job process's side: read the record, report progress with an ETA, write the outcome.

SIGINT (Stop, or Ctrl-C) arrives as KeyboardInterrupt: the job's code cleans up what it had half
made in its `finally` blocks, and the outcome says "stopped". Any other exception is "failed" with
the error's message, the traceback going to the job's log.
"""
from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.base.atomic_io import write_json_atomic
from core.jobs.files import JobFiles, JobRecord, load_job_record

# Progress is written at most this often: a dataset of 10,000 clips must not cost 10,000 fsyncs.
PROGRESS_EVERY_S = 0.5


@dataclass
class JobContext:
    files: JobFiles
    record: JobRecord
    started_at_s: float = field(default_factory=time.time)
    _last_write_s: float = 0.0

    def progress(self, done: int, total: int, message: str = "", *, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_write_s < PROGRESS_EVERY_S and done < total:
            return
        elapsed = now - self.started_at_s
        eta = elapsed / done * (total - done) if done > 0 and total >= done else None
        write_json_atomic(self.files.progress, {"done": done, "total": total, "message": message,
                                                "started_at_s": self.started_at_s, "updated_at_s": now, "eta_s": eta})
        self._last_write_s = now

    def log(self, line: str) -> None:
        print(line, flush=True)


def run_job(folder: str | Path, body: Callable[[JobContext], dict[str, Any]]) -> int:
    """Run `body` as the job of `folder`; its returned dict is the result. Returns the exit status."""
    files = JobFiles(Path(folder))
    record = load_job_record(files, require_process=False)
    if record is None:
        print(f"no readable job record in {folder}", file=sys.stderr)
        return 2
    context = JobContext(files, record)
    try:
        result = body(context)
    except KeyboardInterrupt:
        write_json_atomic(files.outcome, {"phase": "stopped", "message": "stopped; nothing half-made was kept",
                                          "ended_at_s": time.time()})
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure must reach the outcome, with its message
        traceback.print_exc()
        write_json_atomic(files.outcome, {"phase": "failed", "message": str(exc) or exc.__class__.__name__,
                                          "ended_at_s": time.time()})
        return 1
    write_json_atomic(files.outcome, {"phase": "finished", "message": "finished", "result": result,
                                      "ended_at_s": time.time()})
    return 0
