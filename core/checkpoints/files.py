"""What is in a checkpoint file, and whether the file is whole, without loading its tensors.

A training checkpoint of the full XTTS v2 model is about 5.61 GB (docs/trainer-facts.md); the dashboard lists several on
every refresh. So we read only the zip's central directory and its small `data.pkl` record, and
unpickle that with torch's weights-only unpickler, giving every tensor a storage on the "meta"
device: shapes and dtypes come back, no tensor bytes are read, and no code in the file can run.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from core.checkpoints import layout
from core.checkpoints.info_cache import InfoDiskCache

# torch (through torch_zip) is imported where a file is read, not here: the dashboard's UI process
# uses this module's types and never reads a checkpoint itself (core.offload does, in a worker).
# The first import happens under a lock: torch imported by two threads at once fails in one of them.
_TORCH_IMPORT_LOCK = threading.Lock()


def _torch_zip():
    with _TORCH_IMPORT_LOCK:
        from core.checkpoints import torch_zip
    return torch_zip

# An incomplete file modified this recently is taken to be still in the writer's hands: torch.save
# streams its records back to back, so the mtime moves every moment of a save and 10 s of silence
# means the writer stopped. (A stalled but living writer is caught by the /proc check.)
FRESH_WRITE_S = 10.0
_CACHE_ENTRIES = 256


class CheckpointError(Exception):
    """A checkpoint problem the user can fix; `fix` says how in plain words."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix

    def __reduce__(self):  # rebuilt from its parts when it crosses a process line (core.offload)
        return type(self), (self.problem, self.fix)


class CheckpointNotFoundError(CheckpointError):
    pass


class Integrity(str, Enum):
    COMPLETE = "complete"
    TRUNCATED = "truncated"  # incomplete and nobody is writing it any more
    UNREADABLE = "unreadable"  # whole file, but not a checkpoint we can safely read
    BEING_WRITTEN = "being_written"  # incomplete and still changing


class CheckpointKind(str, Enum):
    CHECKPOINT = "checkpoint"  # checkpoint_<step>.pth
    BEST_STEP = "best_step"  # best_model_<step>.pth
    BEST = "best"  # best_model.pth
    READY = "ready"  # ready/unoptimize_model.pth
    OPTIMIZED = "optimized"  # ready/model.pth
    CUSTOM = "custom"


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    size_bytes: int
    mtime_s: float
    kind: CheckpointKind
    integrity: Integrity
    step: int | None = None  # from the file; from the name when the file can't be read
    epoch: int | None = None
    date: str | None = None
    train_loss: float | None = None
    eval_loss: float | None = None
    has_optimizer: bool = False
    has_dvae: bool = False
    text_vocab_size: int | None = None
    tokenizer_file: str | None = None  # the vocab.json the checkpoint was trained with (its config's model_args)
    tensor_bytes: int = 0  # all tensor data
    optimizer_bytes: int = 0  # what optimize() drops: optimizer state ...
    dvae_bytes: int = 0  # ... and the DVAE weights
    error: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.integrity is Integrity.COMPLETE


def classify_kind(path: Path) -> CheckpointKind:
    """Kind from the file name and folder, the way the trainer and the ready/ export name them."""
    name, in_ready = path.name, path.parent.name == layout.READY_DIR
    if in_ready and name == layout.OPTIMIZED_MODEL_NAME:
        return CheckpointKind.OPTIMIZED
    if in_ready and name == layout.READY_MODEL_NAME:
        return CheckpointKind.READY
    if name == layout.BEST_MODEL_NAME:
        return CheckpointKind.BEST
    parsed = layout.parse_step_file(name)
    if parsed:
        return CheckpointKind.CHECKPOINT if parsed[0] == "checkpoint" else CheckpointKind.BEST_STEP
    return CheckpointKind.CUSTOM


def _step_from_name(path: Path) -> int | None:
    return layout.step_of(path)


def _as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _metadata(obj: Any, storages) -> dict[str, Any]:
    torch_zip = _torch_zip()
    Unreadable, tensor_bytes = torch_zip.Unreadable, torch_zip.tensor_bytes
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise Unreadable("the file holds no 'model' state dict: not a trainer checkpoint")
    model: dict[str, Any] = obj["model"]
    loss = obj.get("model_loss")
    # Older trainer versions stored a bare float instead of the train/eval dict.
    train_loss = _as_float(loss.get("train_loss")) if isinstance(loss, dict) else _as_float(loss)
    eval_loss = _as_float(loss.get("eval_loss")) if isinstance(loss, dict) else None
    embedding = model.get("xtts.gpt.text_embedding.weight", model.get("gpt.text_embedding.weight"))
    dvae = {k: v for k, v in model.items() if "dvae" in k}
    optimizer = obj.get("optimizer")
    config = obj.get("config")
    model_args = config.get("model_args") if isinstance(config, dict) else None
    tokenizer_file = model_args.get("tokenizer_file") if isinstance(model_args, dict) else None
    return {
        "tokenizer_file": tokenizer_file if isinstance(tokenizer_file, str) and tokenizer_file else None,
        "step": obj["step"] if isinstance(obj.get("step"), int) else None,
        "epoch": obj["epoch"] if isinstance(obj.get("epoch"), int) else None,
        "date": obj["date"] if isinstance(obj.get("date"), str) else None,
        "train_loss": train_loss,
        "eval_loss": eval_loss,
        "has_optimizer": bool(optimizer),
        "has_dvae": bool(dvae),
        "text_vocab_size": int(embedding.shape[0]) if hasattr(embedding, "shape") else None,
        "tensor_bytes": sum(storages.nbytes_by_key.values()),
        "optimizer_bytes": tensor_bytes(optimizer, storages),
        "dvae_bytes": tensor_bytes(dvae, storages),
    }


def _open_for_writing_elsewhere(path: Path) -> bool:
    """Whether some process we can see holds the file open for writing (Linux /proc only).

    Only our own user's processes are visible; that covers the trainer we launched.
    """
    target = str(path.resolve())
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) != target:
                    continue
                flags_line = (pid_dir / "fdinfo" / fd.name).read_text().splitlines()[1]
                if int(flags_line.split()[1], 8) & (os.O_WRONLY | os.O_RDWR):
                    return True
        except (OSError, IndexError, ValueError):
            continue  # process ended, or its fds are not ours to see
    return False


def _read_open_file(f: io.BufferedReader, path: Path, st: os.stat_result, now_s: float) -> CheckpointInfo:
    torch_zip = _torch_zip()
    Unreadable = torch_zip.Unreadable

    base = {"path": path, "size_bytes": st.st_size, "mtime_s": st.st_mtime, "kind": classify_kind(path)}
    try:
        head = f.read(4)
        if len(head) == 4 and head != torch_zip.LOCAL_SIG:
            raise Unreadable("not a zip-format torch checkpoint (legacy or foreign format)")
        if not torch_zip.has_end_record(f, st.st_size):
            writing = now_s - st.st_mtime < FRESH_WRITE_S or _open_for_writing_elsewhere(path)
            integrity = Integrity.BEING_WRITTEN if writing else Integrity.TRUNCATED
            error = None if writing else "the file ends before its zip directory: the save was cut off"
            return CheckpointInfo(**base, integrity=integrity, step=_step_from_name(path), error=error)
        with zipfile.ZipFile(f) as zf:
            torch_zip.check_entries(f, zf)
            obj, storages, prefix = torch_zip.unpickle_skeleton(zf)
            sizes = {i.filename: i.file_size for i in zf.infolist()}
        for key, nbytes in storages.nbytes_by_key.items():
            if sizes.get(f"{prefix}data/{key}", -1) < nbytes:
                raise Unreadable(f"tensor record data/{key} is missing or short")
        meta = _metadata(obj, storages)
    # BadZipFile covers a broken directory and a CRC mismatch in data.pkl.
    except (Unreadable, zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return CheckpointInfo(**base, integrity=Integrity.UNREADABLE, step=_step_from_name(path), error=str(exc))
    meta["step"] = meta["step"] if meta["step"] is not None else _step_from_name(path)
    return CheckpointInfo(**base, integrity=Integrity.COMPLETE, **meta)


class _InfoCache:
    """Bounded LRU keyed by (path, size, mtime); shared by every dashboard session, hence the lock."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[tuple[str, int, int], CheckpointInfo] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> CheckpointInfo | None:
        with self._lock:
            info = self._entries.get(key)
            if info is not None:
                self._entries.move_to_end(key)
            return info

    def put(self, key: tuple[str, int, int], info: CheckpointInfo) -> None:
        with self._lock:
            self._entries[key] = info
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)


_cache = _InfoCache(_CACHE_ENTRIES)
_disk_cache: InfoDiskCache | None = None


def clear_info_cache() -> None:
    """Forget the results cached in memory (benchmarks and tests that need a cold read; see use_disk_cache)."""
    global _cache
    _cache = _InfoCache(_CACHE_ENTRIES)


def use_disk_cache(folder: Path | None) -> None:
    """Also keep results in `folder` (a workspace's cache), so a new worker process need not re-read files."""
    global _disk_cache
    if folder is None:
        _disk_cache = None
    elif _disk_cache is None or _disk_cache.folder != folder:
        _disk_cache = InfoDiskCache(folder, CheckpointInfo, CheckpointKind, Integrity)


def read_checkpoint_info(path: str | os.PathLike[str], *, now_s: float | None = None) -> CheckpointInfo:
    """Metadata and integrity of one checkpoint file, without reading its tensor data."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise CheckpointNotFoundError(
            f"Checkpoint {path} does not exist.",
            "It may have been pruned by the trainer; refresh the list and pick another.",
        ) from None
    with f:
        # fstat of the open file: if the trainer replaces the file meanwhile, size, mtime and
        # contents still all describe the one file we read.
        st = os.fstat(f.fileno())
        key = (str(path.absolute()), st.st_size, st.st_mtime_ns)
        cached = _cache.get(key)
        if cached is None and _disk_cache is not None:
            cached = _disk_cache.get(key, path)
        if cached is not None:
            _cache.put(key, cached)
            return cached
        info = _read_open_file(f, path, st, time.time() if now_s is None else now_s)
    # Incomplete files are not cached: being_written turns into truncated with time alone.
    if info.integrity in (Integrity.COMPLETE, Integrity.UNREADABLE):
        _cache.put(key, info)
        if _disk_cache is not None:
            _disk_cache.put(key, info)
    return info


def is_model_file(path: Path) -> bool:
    """A .pth that is a model, not one of our hidden temp files (".<name>.partial-<pid>")."""
    return path.suffix == ".pth" and not path.name.startswith(".") and path.is_file()


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[CheckpointInfo]:
    """Every model file in a run folder and its ready/ subfolder, sorted by step (unknown last)."""
    run_dir = Path(run_dir)
    candidates = [p for folder in (run_dir, run_dir / layout.READY_DIR) if folder.is_dir() for p in folder.iterdir()]
    infos = []
    for path in candidates:
        if not is_model_file(path):
            continue
        try:
            infos.append(read_checkpoint_info(path))
        except CheckpointNotFoundError:
            continue  # pruned by the trainer between listing and reading
    return sorted(infos, key=lambda i: (i.step is None, i.step or 0, i.kind.value, i.path.name))


def checkpoint_looks_complete(path: Path) -> bool:
    """Complete and readable with weights-only loading (zip directory, records, data.pkl)."""
    try:
        return read_checkpoint_info(path).is_complete
    except (CheckpointError, OSError):
        return False
