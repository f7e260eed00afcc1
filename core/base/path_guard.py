"""File operations started from the UI stay inside the workspace roots the user configured."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from core.base.errors import FieldError
from core.base.workspace import Workspace

EXTRA_ROOTS_HINT = "add its folder to XTTS_EXTRA_ROOTS (colon-separated) when starting the dashboard"


def is_inside_roots(ws: Workspace, path: str | Path) -> bool:
    """True when `path`, symlinks resolved, lies under one of the workspace roots."""
    resolved = Path(path).expanduser().resolve()
    return any(resolved.is_relative_to(Path(root).expanduser().resolve()) for root in ws.roots)


def outside_roots_errors(ws: Workspace, paths: Iterable[tuple[str, str]]) -> list[FieldError]:
    """One FieldError per (field, path) that is set and points outside the roots."""
    roots = ", ".join(str(r) for r in ws.roots)
    return [FieldError(field, f"{value} is outside the workspace roots ({roots}); choose a path inside, or {EXTRA_ROOTS_HINT}")
            for field, value in paths if str(value).strip() and not is_inside_roots(ws, value)]
