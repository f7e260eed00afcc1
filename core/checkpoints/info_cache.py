"""Checkpoint metadata kept on disk by content stamp (path, size, mtime in ns), as small JSON files.

Reading a checkpoint's metadata needs torch's weights-only unpickler, which lives in worker
processes (core.offload); a worker that was shut down for idleness or died takes its memory cache
with it, and this cache lets the next one answer from disk. A file that changes gets a new stamp,
so an entry is never stale; entries of deleted files are small and left for the folder's owner.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from enum import Enum
from pathlib import Path
from typing import Any

from core.base.atomic_io import write_json_atomic

_FORMAT = 1


class InfoDiskCache:
    """JSON files named by a hash of the stamp; the info class and its enums are passed in (no import cycle)."""

    def __init__(self, folder: Path, info_type: type, kind_type: type[Enum], integrity_type: type[Enum]) -> None:
        self.folder = folder
        self._info_type, self._kind_type, self._integrity_type = info_type, kind_type, integrity_type

    def _file(self, key: tuple[str, int, int]) -> Path:
        return self.folder / (hashlib.sha1(repr(key).encode()).hexdigest() + ".json")

    def get(self, key: tuple[str, int, int], path: Path) -> Any | None:
        try:
            data = json.loads(self._file(key).read_text())
        except (OSError, ValueError):
            return None
        if data.pop("format", None) != _FORMAT or data.pop("stamp", None) != list(key):
            return None
        try:
            data.update(path=path, kind=self._kind_type(data["kind"]), integrity=self._integrity_type(data["integrity"]))
            return self._info_type(**data)
        except (TypeError, ValueError, KeyError):
            return None  # written by another version of the dashboard

    def put(self, key: tuple[str, int, int], info: Any) -> None:
        data = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
        data.update(path=str(info.path), kind=info.kind.value, integrity=info.integrity.value, format=_FORMAT,
                    stamp=list(key))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self._file(key), data)
        except OSError:
            pass  # a cache: a full or read-only disk only costs a re-read
