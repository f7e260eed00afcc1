"""Content hashes that cost microseconds: a checkpoint by its zip directory, a small file by its bytes.

torch.save writes a zip of stored (uncompressed) records whose central directory, at the very end
of the file, lists every record with its CRC-32 and size. Hashing the file size and each record's
name, CRC-32, size and extra field identifies the content without reading the 5.6 GB of tensors:
a changed tensor changes its record's CRC (one record's CRC-32 colliding is a 1 in 4 billion
chance), an added or removed one changes the list, and the small records (data.pkl: step, losses,
config) are covered like the rest. The timestamps and offsets in the directory are left out, so two
copies of one checkpoint (best_model.pth and best_model_240.pth, a promoted copy, ready/'s
unoptimize_model.pth) hash the same and share their samples.

A file without its end-of-directory record was cut off or is still being written (torch.save
writes the directory last): that is the check that stops a synthesis job before it starts. This
module imports no torch: the dashboard computes cache keys with it.
"""
from __future__ import annotations

import functools
import hashlib
import os
import struct
from pathlib import Path

from core.base.errors import ConfigInvalid, FieldError

_LOCAL_SIG = b"PK\x03\x04"
_EOCD_SIG = b"PK\x05\x06"
_EOCD64_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64_SIG = b"PK\x06\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_EOCD_BYTES = 22
_MAX_COMMENT_BYTES = 0xFFFF
_CENTRAL_HEADER_BYTES = 46
_FINGERPRINT_CACHE = 1024  # (path, size, mtime, inode) entries; a page lists a few dozen model files


class CheckpointUnusable(ConfigInvalid):
    """A model file that cannot be synthesised from; the message says why and what to pick instead."""


def _unusable(path: Path, why: str) -> CheckpointUnusable:
    return CheckpointUnusable([FieldError("checkpoint", f"{path.name} {why}")])


def checkpoint_fingerprint(path: str | os.PathLike) -> str:
    """The content hash of a torch.save checkpoint, from its zip directory (CheckpointUnusable if it is not whole)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _unusable(path, "does not exist (the trainer may have pruned it); refresh the list and pick another "
                              "model file") from None
    return _fingerprint(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a small file's bytes (a reference clip, a vocab.json), cached by size, mtime and inode."""
    path = Path(path)
    st = path.stat()
    return _file_hash(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=_FINGERPRINT_CACHE)
def _file_hash(path: str, size: int, mtime_ns: int, inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=_FINGERPRINT_CACHE)
def _fingerprint(path_str: str, size: int, mtime_ns: int, inode: int) -> str:
    # Keyed by what changes when the trainer replaces a file (a new inode) or rewrites it in place
    # (size, mtime): a stale hash is never served. Errors are not cached (lru_cache skips raises).
    path = Path(path_str)
    with open(path, "rb") as handle:
        if handle.read(4) != _LOCAL_SIG:
            raise _unusable(path, "is not a torch checkpoint (not a zip-format torch.save file); pick a .pth "
                                  "written by the trainer, the Checkpoints page or coqui")
        count, directory = _central_directory(handle, size, path)
    digest = hashlib.sha256(b"torch-zip-v1 %d " % size)
    pos, has_pickle = 0, False
    for _ in range(count):
        if directory[pos:pos + 4] != _CENTRAL_SIG:
            raise _unusable(path, "has a damaged zip directory; pick another checkpoint")
        crc_and_sizes = directory[pos + 16:pos + 28]
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", directory, pos + 28)
        start = pos + _CENTRAL_HEADER_BYTES
        name = directory[start:start + name_len]
        extra = directory[start + name_len:start + name_len + extra_len]
        has_pickle = has_pickle or name.endswith(b"data.pkl")
        digest.update(struct.pack("<H", name_len) + name + crc_and_sizes + struct.pack("<H", extra_len) + extra)
        pos = start + name_len + extra_len + comment_len
    if not has_pickle:
        raise _unusable(path, "is a zip file but not a torch.save checkpoint (no data.pkl record)")
    return digest.hexdigest()


def _central_directory(handle, size: int, path: Path) -> tuple[int, bytes]:
    """(record count, directory bytes), following zip64 records past 4 GB as torch writes them."""
    cut = _unusable(path, "is cut off (it ends before its zip directory): the save was interrupted or is still "
                          "running; wait for the save to finish, or pick an earlier checkpoint or best_model.pth")
    tail_len = min(size, _EOCD_BYTES + _MAX_COMMENT_BYTES)
    handle.seek(size - tail_len)
    tail = handle.read(tail_len)
    pos = tail.rfind(_EOCD_SIG)
    while pos >= 0 and pos + _EOCD_BYTES + struct.unpack_from("<H", tail, pos + 20)[0] != len(tail):
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    if pos < 0 or pos + _EOCD_BYTES > len(tail):
        raise cut
    count, dir_size, dir_offset = struct.unpack_from("<HII", tail, pos + 10)
    if 0xFFFF in (count,) or 0xFFFFFFFF in (dir_size, dir_offset):
        locator = tail[pos - 20:pos] if pos >= 20 else b""
        if locator[:4] != _EOCD64_LOCATOR_SIG:
            raise cut
        (eocd64_offset,) = struct.unpack_from("<Q", locator, 8)
        handle.seek(eocd64_offset)
        record = handle.read(56)
        if len(record) < 56 or record[:4] != _EOCD64_SIG:
            raise cut
        count, dir_size, dir_offset = struct.unpack_from("<QQQ", record, 32)
    if dir_offset + dir_size > size:
        raise cut
    handle.seek(dir_offset)
    directory = handle.read(dir_size)
    if len(directory) != dir_size:
        raise cut
    return count, directory
