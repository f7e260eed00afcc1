"""Progress of a call running in a worker, passed back through a small file.

A callback cannot cross a process line, but this one can: it is a path. The worker calls it as
`progress(done, total)` (the shape core's copy functions take) and it writes the two numbers,
at most every `every_s`; the dashboard reads them while it waits and moves its progress bar.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ProgressFile:
    path: Path
    every_s: float = 0.2
    _last_s: float = field(default=0.0, repr=False, compare=False)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_s < self.every_s and done < total:
            return
        self._last_s = now
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(f"{int(done)} {int(total)}")
        os.replace(temp, self.path)

    def read(self) -> tuple[int, int] | None:
        """(done, total) as last written, or None before the first write."""
        try:
            done, total = self.path.read_text().split()
            return int(done), int(total)
        except (OSError, ValueError):
            return None
