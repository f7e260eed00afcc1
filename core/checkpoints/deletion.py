"""Deleting checkpoint files, and what that really frees.

A file can have several names: kept/ retention links (core.checkpoints.retention) share an inode
with the run folder's file, promote keeps a replaced file as a hard-linked backup. Deleting one
name of such a file frees nothing; deleting all of them frees its bytes once. So the freed figure
counts files by (st_dev, st_ino) and compares the names chosen with st_nlink.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from core.checkpoints.files import CheckpointError


class ProtectedCheckpointError(CheckpointError):
    pass


_FileKey = tuple[int, int]  # (st_dev, st_ino): one file, whatever its names


def _name_key(path: Path) -> str:
    # Two spellings of one name ("a/./x", a symlinked folder) must count as one name.
    return os.path.join(os.path.realpath(path.parent), path.name)


def _link_stats(paths: Iterable[Path]) -> dict[str, os.stat_result]:
    """lstat of each distinct name (missing ones left out)."""
    stats: dict[str, os.stat_result] = {}
    for path in paths:
        try:
            stats.setdefault(_name_key(path), path.lstat())
        except FileNotFoundError:
            continue  # already gone, e.g. pruned by the trainer
    return stats


def _freed(stats: dict[str, os.stat_result]) -> int:
    """Bytes freed by removing these names: each file once, and only when all its links go."""
    names: dict[_FileKey, int] = {}
    files: dict[_FileKey, os.stat_result] = {}
    for st in stats.values():
        key = (st.st_dev, st.st_ino)
        names[key] = names.get(key, 0) + 1
        files[key] = st
    # A kept/ retention link or a promote backup shares the inode: with a link left, nothing is freed.
    return sum(st.st_size for key, st in files.items() if names[key] >= st.st_nlink)


def bytes_freed_by_deleting(paths: Iterable[str | os.PathLike[str]]) -> int:
    """What deleting all of `paths` would really free, hard links counted once (st_ino/st_dev/st_nlink)."""
    return _freed(_link_stats(Path(p) for p in paths))


def delete_checkpoints(
    paths: Iterable[str | os.PathLike[str]], protected: Iterable[str | os.PathLike[str]] = ()
) -> int:
    """Delete files, refusing before deleting anything if one is protected; returns bytes freed
    (the rule of `bytes_freed_by_deleting`, over the files this call removed)."""
    targets = [Path(p) for p in paths]
    guarded = {Path(p).resolve() for p in protected}
    refused = [p for p in targets if p.resolve() in guarded]
    if refused:
        names = ", ".join(p.name for p in refused)
        raise ProtectedCheckpointError(
            f"Refusing to delete protected checkpoint(s): {names}.", "Unprotect them first, or leave them out."
        )
    stats = _link_stats(targets)
    removed: dict[str, os.stat_result] = {}
    for name, st in stats.items():
        try:
            os.unlink(name)
        except FileNotFoundError:
            continue  # pruned by the trainer between our look and now: not freed by us
        removed[name] = st
    return _freed(removed)
