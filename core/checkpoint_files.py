"""What is in a checkpoint file, and whether the file is whole, without loading its tensors.

A training checkpoint of the full XTTS v2 model is about 5.45 GB; the dashboard lists several on
every refresh. So we read only the zip's central directory and its small `data.pkl` record, and
unpickle that with torch's weights-only unpickler, giving every tensor a storage on the "meta"
device: shapes and dtypes come back, no tensor bytes are read, and no code in the file can run.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import torch
# Private, but it is the exact allow-list unpickler behind torch.load(weights_only=True); using it
# lets us swap only the tensor-data loader (persistent_load) while keeping its safety rules.
from torch._weights_only_unpickler import Unpickler as _WeightsOnlyUnpickler

# An incomplete file modified this recently is taken to be still in the writer's hands: torch.save
# streams its records back to back, so the mtime moves every moment of a save and 10 s of silence
# means the writer stopped. (A stalled but living writer is caught by the /proc check.)
FRESH_WRITE_S = 10.0
_CACHE_ENTRIES = 256
_EOCD_SIG = b"PK\x05\x06"
_LOCAL_SIG = b"PK\x03\x04"
_EOCD_MIN_BYTES = 22
_EOCD_MAX_COMMENT_BYTES = 0xFFFF
_STEP_IN_NAME = re.compile(r"^(checkpoint|best_model)_(\d+)\.pth$")


class CheckpointError(Exception):
    """A checkpoint problem the user can fix; `fix` says how in plain words."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix


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
    tensor_bytes: int = 0  # all tensor data
    optimizer_bytes: int = 0  # what optimize() drops: optimizer state ...
    dvae_bytes: int = 0  # ... and the DVAE weights
    error: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.integrity is Integrity.COMPLETE


def classify_kind(path: Path) -> CheckpointKind:
    """Kind from the file name and folder, the way the trainer and the ready/ export name them."""
    name, in_ready = path.name, path.parent.name == "ready"
    if in_ready and name == "model.pth":
        return CheckpointKind.OPTIMIZED
    if in_ready and name == "unoptimize_model.pth":
        return CheckpointKind.READY
    if name == "best_model.pth":
        return CheckpointKind.BEST
    match = _STEP_IN_NAME.match(name)
    if match:
        return CheckpointKind.CHECKPOINT if match[1] == "checkpoint" else CheckpointKind.BEST_STEP
    return CheckpointKind.CUSTOM


def _step_from_name(path: Path) -> int | None:
    match = _STEP_IN_NAME.match(path.name)
    return int(match[2]) if match else None


class _Unreadable(Exception):
    """Internal: the file is whole but can't be read as a checkpoint."""


def _has_end_record(f: io.BufferedReader, size_bytes: int) -> bool:
    """True when the zip end-of-central-directory record ends exactly at the end of the file.

    torch.save writes this record last, so its absence is the mark of an unfinished write.
    """
    tail_len = min(size_bytes, _EOCD_MIN_BYTES + _EOCD_MAX_COMMENT_BYTES)
    f.seek(size_bytes - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(_EOCD_SIG)
    while pos >= 0:
        if pos + _EOCD_MIN_BYTES <= len(tail):
            (comment_len,) = struct.unpack_from("<H", tail, pos + 20)
            if pos + _EOCD_MIN_BYTES + comment_len == len(tail):
                return True
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    return False


def _check_entries(f: io.BufferedReader, zf: zipfile.ZipFile) -> None:
    """Every record's local header is where the directory says, and its data ends before it."""
    directory_start = getattr(zf, "start_dir", None)
    for entry in zf.infolist():
        f.seek(entry.header_offset)
        header = f.read(30)
        if len(header) < 30 or header[:4] != _LOCAL_SIG:
            raise _Unreadable(f"record {entry.filename} has no local header")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        data_end = entry.header_offset + 30 + name_len + extra_len + entry.compress_size
        if directory_start is not None and data_end > directory_start:
            raise _Unreadable(f"record {entry.filename} runs into the central directory")


class _MetaStorages:
    """persistent_load for the unpickler: a data-free "meta" storage per tensor record."""

    def __init__(self) -> None:
        self.nbytes_by_key: dict[str, int] = {}
        self._storages: dict[str, Any] = {}

    def __call__(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or len(pid) != 5:
            raise _Unreadable("unexpected tensor reference in data.pkl")
        _, storage_type, key, _location, numel = pid
        key = str(key)
        if key not in self._storages:
            # Typed storages (torch.FloatStorage...) carry a dtype; an untyped one counts bytes.
            dtype = getattr(storage_type, "dtype", torch.uint8)
            nbytes = int(numel) * torch._utils._element_size(dtype)
            self.nbytes_by_key[key] = nbytes
            self._storages[key] = torch.storage.TypedStorage(
                wrap_storage=torch.UntypedStorage(nbytes, device="meta"), dtype=dtype, _internal=True
            )
        return self._storages[key]


def _unpickle_skeleton(zf: zipfile.ZipFile) -> tuple[Any, _MetaStorages, str]:
    pkl_names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkl_names) != 1:
        raise _Unreadable("no data.pkl record: not a torch.save checkpoint")
    prefix = pkl_names[0][: -len("data.pkl")]
    storages = _MetaStorages()
    # zipfile checks the record's CRC as it reads it.
    unpickler = _WeightsOnlyUnpickler(io.BytesIO(zf.read(pkl_names[0])), encoding="utf-8")
    unpickler.persistent_load = storages
    try:
        obj = unpickler.load()
    except _Unreadable:
        raise
    except Exception as exc:  # refused or broken pickles surface as many exception types
        raise _Unreadable(f"data.pkl refused by the weights-only loader: {exc}") from exc
    return obj, storages, prefix


def _tensor_bytes(obj: Any, storages: _MetaStorages) -> int:
    """Bytes of the distinct storages reachable from obj (tensors sharing storage count once)."""
    seen: dict[int, int] = {}
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            seen[storage._cdata] = storage.nbytes()  # _cdata: one per underlying storage
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return sum(seen.values())


def _as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _metadata(obj: Any, storages: _MetaStorages) -> dict[str, Any]:
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise _Unreadable("the file holds no 'model' state dict: not a trainer checkpoint")
    model: dict[str, Any] = obj["model"]
    loss = obj.get("model_loss")
    # Older trainer versions stored a bare float instead of the train/eval dict.
    train_loss = _as_float(loss.get("train_loss")) if isinstance(loss, dict) else _as_float(loss)
    eval_loss = _as_float(loss.get("eval_loss")) if isinstance(loss, dict) else None
    embedding = model.get("xtts.gpt.text_embedding.weight", model.get("gpt.text_embedding.weight"))
    dvae = {k: v for k, v in model.items() if "dvae" in k}
    optimizer = obj.get("optimizer")
    return {
        "step": obj["step"] if isinstance(obj.get("step"), int) else None,
        "epoch": obj["epoch"] if isinstance(obj.get("epoch"), int) else None,
        "date": obj["date"] if isinstance(obj.get("date"), str) else None,
        "train_loss": train_loss,
        "eval_loss": eval_loss,
        "has_optimizer": bool(optimizer),
        "has_dvae": bool(dvae),
        "text_vocab_size": int(embedding.shape[0]) if isinstance(embedding, torch.Tensor) else None,
        "tensor_bytes": sum(storages.nbytes_by_key.values()),
        "optimizer_bytes": _tensor_bytes(optimizer, storages),
        "dvae_bytes": _tensor_bytes(dvae, storages),
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
    base = {"path": path, "size_bytes": st.st_size, "mtime_s": st.st_mtime, "kind": classify_kind(path)}
    try:
        head = f.read(4)
        if len(head) == 4 and head != _LOCAL_SIG:
            raise _Unreadable("not a zip-format torch checkpoint (legacy or foreign format)")
        if st.st_size < _EOCD_MIN_BYTES or not _has_end_record(f, st.st_size):
            writing = now_s - st.st_mtime < FRESH_WRITE_S or _open_for_writing_elsewhere(path)
            integrity = Integrity.BEING_WRITTEN if writing else Integrity.TRUNCATED
            error = None if writing else "the file ends before its zip directory: the save was cut off"
            return CheckpointInfo(**base, integrity=integrity, step=_step_from_name(path), error=error)
        with zipfile.ZipFile(f) as zf:
            _check_entries(f, zf)
            obj, storages, prefix = _unpickle_skeleton(zf)
            sizes = {i.filename: i.file_size for i in zf.infolist()}
        for key, nbytes in storages.nbytes_by_key.items():
            if sizes.get(f"{prefix}data/{key}", -1) < nbytes:
                raise _Unreadable(f"tensor record data/{key} is missing or short")
        meta = _metadata(obj, storages)
    # BadZipFile covers a broken directory and a CRC mismatch in data.pkl.
    except (_Unreadable, zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
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


def clear_info_cache() -> None:
    """Forget cached results (benchmarks and tests that need a cold read)."""
    global _cache
    _cache = _InfoCache(_CACHE_ENTRIES)


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
        if cached is not None:
            return cached
        info = _read_open_file(f, path, st, time.time() if now_s is None else now_s)
    # Incomplete files are not cached: being_written turns into truncated with time alone.
    if info.integrity in (Integrity.COMPLETE, Integrity.UNREADABLE):
        _cache.put(key, info)
    return info


def is_model_file(path: Path) -> bool:
    """A .pth that is a model, not one of our hidden temp files (".<name>.partial-<pid>")."""
    return path.suffix == ".pth" and not path.name.startswith(".") and path.is_file()


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[CheckpointInfo]:
    """Every model file in a run folder and its ready/ subfolder, sorted by step (unknown last)."""
    run_dir = Path(run_dir)
    candidates = [p for folder in (run_dir, run_dir / "ready") if folder.is_dir() for p in folder.iterdir()]
    infos = []
    for path in candidates:
        if not is_model_file(path):
            continue
        try:
            infos.append(read_checkpoint_info(path))
        except CheckpointNotFoundError:
            continue  # pruned by the trainer between listing and reading
    return sorted(infos, key=lambda i: (i.step is None, i.step or 0, i.kind.value, i.path.name))
