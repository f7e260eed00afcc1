"""Reading a torch.save zip without its tensor data: is it whole, and what is its pickled skeleton.

torch.save writes a zip whose end-of-central-directory record comes last, so a file without it
was cut off; `data.pkl` holds the object tree with tensors referenced by storage key. We unpickle it
with torch's own weights-only unpickler (its allow-list: no code in the file can run) and hand every
storage reference a data-free "meta" storage, so shapes and dtypes come back and no tensor byte is read.
"""
from __future__ import annotations

import io
import struct
import zipfile
from typing import Any

import torch
# Private, but it is the exact allow-list unpickler behind torch.load(weights_only=True); using it
# lets us swap only the tensor-data loader (persistent_load) while keeping its safety rules.
from torch._weights_only_unpickler import Unpickler as _WeightsOnlyUnpickler

_EOCD_SIG = b"PK\x05\x06"
LOCAL_SIG = b"PK\x03\x04"  # how every zip (and so every torch.save file) starts
_EOCD_MIN_BYTES = 22
_EOCD_MAX_COMMENT_BYTES = 0xFFFF


class Unreadable(Exception):
    """The file is whole but can't be read as a checkpoint (the message says why)."""


def has_end_record(f: io.BufferedReader, size_bytes: int) -> bool:
    """True when the zip end-of-central-directory record ends exactly at the end of the file.

    torch.save writes this record last, so its absence is the mark of an unfinished write.
    """
    if size_bytes < _EOCD_MIN_BYTES:
        return False
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


def check_entries(f: io.BufferedReader, zf: zipfile.ZipFile) -> None:
    """Every record's local header is where the directory says, and its data ends before it."""
    directory_start = getattr(zf, "start_dir", None)
    for entry in zf.infolist():
        f.seek(entry.header_offset)
        header = f.read(30)
        if len(header) < 30 or header[:4] != LOCAL_SIG:
            raise Unreadable(f"record {entry.filename} has no local header")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        data_end = entry.header_offset + 30 + name_len + extra_len + entry.compress_size
        if directory_start is not None and data_end > directory_start:
            raise Unreadable(f"record {entry.filename} runs into the central directory")


class MetaStorages:
    """persistent_load for the unpickler: a data-free "meta" storage per tensor record."""

    def __init__(self) -> None:
        self.nbytes_by_key: dict[str, int] = {}
        self._storages: dict[str, Any] = {}

    def __call__(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or len(pid) != 5:
            raise Unreadable("unexpected tensor reference in data.pkl")
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


def unpickle_skeleton(zf: zipfile.ZipFile) -> tuple[Any, MetaStorages, str]:
    pkl_names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkl_names) != 1:
        raise Unreadable("no data.pkl record: not a torch.save checkpoint")
    prefix = pkl_names[0][: -len("data.pkl")]
    storages = MetaStorages()
    # zipfile checks the record's CRC as it reads it.
    unpickler = _WeightsOnlyUnpickler(io.BytesIO(zf.read(pkl_names[0])), encoding="utf-8")
    unpickler.persistent_load = storages
    try:
        obj = unpickler.load()
    except Unreadable:
        raise
    except Exception as exc:  # refused or broken pickles surface as many exception types
        raise Unreadable(f"data.pkl refused by the weights-only loader: {exc}") from exc
    return obj, storages, prefix


def tensor_bytes(obj: Any, storages: MetaStorages) -> int:
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
