"""Shared page helpers: the workspace every page works in and the selected run."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.demo import DemoAssets, ensure_demo
from core.events import RunEventReader
from core.workspace import Workspace

WORKSPACE_KEY = "workspace_root"
SELECTED_RUN_KEY = "selected_run_id"


def default_workspace_root() -> Path:
    return Path(os.environ.get("XTTS_WORKSPACE") or Path.cwd() / "workspace")


def extra_roots() -> tuple[Path, ...]:
    """Folders besides the workspace that the UI may read and write (XTTS_EXTRA_ROOTS=a:b)."""
    return tuple(Path(p) for p in os.environ.get("XTTS_EXTRA_ROOTS", "").split(os.pathsep) if p.strip())


@st.cache_resource(show_spinner=False)
def _open_workspace(root: str, roots: tuple[Path, ...]) -> Workspace:
    return Workspace.at(root, extra_roots=roots)


@st.cache_resource(show_spinner="Creating the demo model and dataset (first start only)...")
def _demo(root: str) -> DemoAssets:
    return ensure_demo(Path(root) / "demo")


def workspace() -> Workspace:
    """The workspace of this session (the router sets it; tests set it in session_state)."""
    root = st.session_state.setdefault(WORKSPACE_KEY, str(default_workspace_root()))
    return _open_workspace(root, extra_roots())


def demo_assets() -> DemoAssets:
    return _demo(str(workspace().root))


def selected_run_id() -> str | None:
    return st.session_state.get(SELECTED_RUN_KEY)


def show_field_errors(exc) -> None:
    """One st.error per invalid field, naming it and what is allowed."""
    for error in getattr(exc, "errors", []) or [exc]:
        st.error(str(error))


def human_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.2f} {unit}"
        value /= 1000
    return f"{value} B"


@st.cache_resource(show_spinner=False, max_entries=64)
def event_reader(run_folder: str) -> RunEventReader:
    """One incremental reader per run folder, shared by every browser session (it is thread-safe)."""
    return RunEventReader(run_folder)
