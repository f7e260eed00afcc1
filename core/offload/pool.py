"""A small pool of worker processes for the UI's heavy calls, and what a caller sees of it.

Workers are plain `python -m core.offload.worker` children talking over their stdin/stdout
(length-prefixed pickles), not multiprocessing: Streamlit runs each page as the `__main__`
module, and multiprocessing's spawn would re-run that page inside every worker. A worker is
started the first time a page needs one and kept while it is used: torch's import is the cost
being saved, so a warm worker answers in milliseconds. After `IDLE_SHUTDOWN_S` without a call it
is stopped and gives its memory back (a worker also exits when the dashboard's process ends: its
stdin closes). A worker that dies (out of memory, killed) fails the call in
flight with `WorkerDied`; one that does not answer in time is killed (`WorkerTimedOut`).
"""
from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core.base.workspace import PROJECT_DIR

# Two: a long optimize or dataset check does not hold up the checkpoint list of another page.
MAX_WORKERS = 2
IDLE_SHUTDOWN_S = 600.0
DEFAULT_TIMEOUT_S = 300.0
_HEADER = struct.Struct("<Q")


class OffloadError(RuntimeError):
    """Heavy work could not be done in a worker process; the message says what happened."""


class WorkerDied(OffloadError):
    """The worker process ended while working (killed, out of memory); the next call starts a new one."""


class WorkerTimedOut(OffloadError):
    """The worker did not answer in time; it was stopped and the next call starts a new one."""


class _Worker:
    """One child process; used by one call at a time (the pool hands it out)."""

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.idle_since_s = time.monotonic()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(PROJECT_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "core.offload.worker"], cwd=PROJECT_DIR, env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                            start_new_session=True)  # Ctrl-C on the dashboard is not theirs
        finally:
            if log_path:
                log.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: tuple, timeout_s: float) -> tuple[str, Any]:
        payload = pickle.dumps(request)
        self.process.stdin.write(_HEADER.pack(len(payload)) + payload)
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout_s
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        return pickle.loads(self._read(size, deadline))

    def _read(self, count: int, deadline: float) -> bytes:
        out = self.process.stdout
        chunks, left = [], count
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([out], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(out.fileno(), min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()


class _Pool:
    """Workers kept for reuse, at most MAX_WORKERS at once, busy and idle together; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy = 0
        self._reaper: threading.Thread | None = None

    def take(self, log_path: Path | None) -> _Worker:
        """An idle worker of this workspace (its log is there), or a new one; waits while MAX_WORKERS are busy."""
        with self._lock:
            while True:
                for worker in [w for w in self._idle if w.log_path == log_path]:
                    self._idle.remove(worker)
                    if worker.alive:  # it may have been killed from outside while idle
                        self._busy += 1
                        return worker
                    worker.kill()
                if self._busy + len(self._idle) < MAX_WORKERS:
                    self._busy += 1
                    break
                if self._idle:  # another workspace's idle worker makes room
                    self._idle.pop(0).kill()
                    continue
                self._lock.wait()
        try:
            return _Worker(log_path)
        except BaseException:
            self.give_back(None)
            raise

    def give_back(self, worker: _Worker | None) -> None:
        with self._lock:
            self._busy -= 1
            if worker is not None and worker.alive:
                worker.idle_since_s = time.monotonic()
                self._idle.append(worker)
                if self._reaper is None or not self._reaper.is_alive():
                    self._reaper = threading.Thread(target=self._reap, name="offload-reaper", daemon=True)
                    self._reaper.start()
            self._lock.notify()

    def _reap(self) -> None:
        """Stop workers idle for IDLE_SHUTDOWN_S; ends when none is left."""
        while True:
            time.sleep(min(30.0, IDLE_SHUTDOWN_S / 4))
            with self._lock:
                now = time.monotonic()
                old = [w for w in self._idle if now - w.idle_since_s > IDLE_SHUTDOWN_S]
                self._idle = [w for w in self._idle if w not in old]
                left = bool(self._idle)
            for worker in old:
                worker.kill()
            if not left:
                with self._lock:
                    if not self._idle:
                        self._reaper = None
                        return

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool = _Pool()
_answered = threading.Event()


def answered_once() -> bool:
    """Whether a worker of this process has answered a call yet (its libraries are loaded)."""
    return _answered.is_set()


def call(target: str, *args: Any, cache_root: str | Path | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
         **kwargs: Any) -> Any:
    """Run `target` ("package.module:function") with these arguments in a worker; its value or its exception.

    `cache_root` is the workspace's cache folder: the worker keeps checkpoint metadata and size
    estimates there by content stamp, so a new worker does not redo them, and writes its log there.
    """
    log_path = None
    if cache_root:
        Path(cache_root).mkdir(parents=True, exist_ok=True)
        log_path = Path(cache_root) / "offload-worker.log"
    worker = _pool.take(log_path)
    try:
        status, value = worker.ask((target, args, kwargs, str(cache_root) if cache_root else None), timeout_s)
    except TimeoutError:
        worker.kill()
        _pool.give_back(None)
        raise WorkerTimedOut(f"The background worker took over {timeout_s:.0f} s on {_what(target)} and was stopped; "
                             "a new one starts on the next try.") from None
    except (EOFError, OSError, pickle.UnpicklingError):  # OSError: a broken pipe
        worker.kill()
        code = worker.process.returncode
        _pool.give_back(None)
        raise WorkerDied(f"The background worker stopped while working on {_what(target)} (exit code {code}: killed or "
                         f"out of memory; its log is {log_path or 'not kept'}); a new one starts on the next try.") from None
    _pool.give_back(worker)
    _answered.set()
    if status == "error":
        raise value
    return value


def warm_up(cache_root: str | Path | None = None) -> None:
    """Start a worker now and import the heavy libraries in it, in a thread: the caller does not wait."""
    def preload() -> None:
        try:
            call("core.offload.worker:preload", cache_root=cache_root)
        except OffloadError:
            pass  # the first real call starts another and reports what goes wrong

    threading.Thread(target=preload, name="offload-warm-up", daemon=True).start()


def shutdown() -> None:
    """Stop the idle workers (tests, and the end of a benchmark)."""
    _pool.shutdown()


def _what(target: str) -> str:
    return target.rsplit(":", 1)[-1].replace("_", " ")
