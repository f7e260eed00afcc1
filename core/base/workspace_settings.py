"""What the dashboard remembers for a workspace across sessions and restarts (the "Start here" panel, dismissed).

One small JSON file in the workspace, written atomically, so every browser session and every dashboard
process reads the same answer. A missing or damaged file reads as the defaults: nothing here is worth
failing a page for.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from core.base.atomic_io import read_json, write_json_atomic
from core.base.workspace import Workspace

SETTINGS_NAME = "settings.json"


@dataclass(frozen=True)
class WorkspaceSettings:
    start_here_dismissed: bool = False  # the Train page's three-step demo panel was closed


def settings_path(ws: Workspace) -> Path:
    return ws.root / SETTINGS_NAME


def read_settings(ws: Workspace) -> WorkspaceSettings:
    """The workspace's settings; unknown keys and values of the wrong type fall back to the defaults."""
    data = read_json(settings_path(ws))
    if not isinstance(data, dict):
        return WorkspaceSettings()
    defaults = WorkspaceSettings()
    known = {f.name: data[f.name] for f in fields(WorkspaceSettings)
             if f.name in data and type(data[f.name]) is type(getattr(defaults, f.name))}
    return replace(defaults, **known)


def update_settings(ws: Workspace, **changes) -> WorkspaceSettings:
    """Write the settings with `changes` applied (atomically) and return them."""
    settings = replace(read_settings(ws), **changes)
    write_json_atomic(settings_path(ws), asdict(settings))
    return settings
