"""The worker processes' side: read one named call at a time from stdin, answer on the protocol fd.

A worker's stdout (fd 1) is sent to its log with stderr, because the libraries it runs print
(coqui does); the answers go over a private copy of the original stdout. Exceptions travel back
pickled: ours carry their fix in attributes and rebuild themselves (see core.base.errors), and one that
would not survive the trip is sent as an OffloadError with its type and message instead.
"""
from __future__ import annotations

import importlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any, BinaryIO

from core.offload.pool import _HEADER, OffloadError

# Imported once by `preload` (the dashboard's warm-up): what its heavy calls need.
HEAVY_MODULES = ("torch", "core.checkpoints.torch_zip", "core.disk.checkpoint_size", "core.trainer.preflight",
                 "TTS.tts.layers.xtts.trainer.gpt_trainer")


def run(target: str, args: tuple, kwargs: dict[str, Any], cache_root: str | None) -> Any:
    """Call `target` ("module:function") with the workspace's caches in place."""
    if cache_root:
        use_caches(Path(cache_root))
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return function(*args, **kwargs)


def use_caches(cache_root: Path) -> None:
    """Point the content-stamped caches of this worker at the workspace's cache folder."""
    from core.checkpoints.files import use_disk_cache
    from core.disk.checkpoint_size import use_size_cache

    use_disk_cache(cache_root / "checkpoint-info")
    use_size_cache(cache_root / "checkpoint-sizes")


def preload() -> int:
    for name in HEAVY_MODULES:
        importlib.import_module(name)
    return len(HEAVY_MODULES)


def transportable(exc: BaseException) -> BaseException:
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        back = None
    if type(back) is type(exc) and str(back) == str(exc):
        return exc
    return OffloadError(f"{type(exc).__name__}: {exc}")


def _read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    data = stream.read(count)
    return data if data and len(data) == count else None


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until stdin closes (the dashboard ended or stopped this worker)."""
    while True:
        header = _read_exactly(requests, _HEADER.size)
        if header is None:
            return
        payload = _read_exactly(requests, _HEADER.unpack(header)[0])
        if payload is None:
            return
        try:
            answer = ("ok", run(*pickle.loads(payload)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            answer = ("error", transportable(exc))
        try:
            data = pickle.dumps(answer)
        except Exception as exc:  # a value that does not pickle is our bug: say so, keep serving
            data = pickle.dumps(("error", OffloadError(f"the answer could not be sent back: {exc}")))
        answers.write(_HEADER.pack(len(data)) + data)
        answers.flush()


def main() -> None:
    # SIGINT keeps its default here: an ignored signal is inherited by the runs and jobs a worker
    # starts, and a training run must take SIGINT (it saves). The worker has its own session, so a
    # Ctrl-C on the dashboard's terminal never reaches it; the dashboard stops it by closing stdin.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints of the libraries go to the log
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
