"""Shared page helpers: the workspace every page works in and the selected run."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core.config import field_error_text
from core.trainer.demo import DemoAssets, demo_assets as demo_paths, ensure_demo
from core.monitor.events import RunEventReader
from core.registry.state import RunState, read_run_state
from core.workspace import Workspace

WORKSPACE_KEY = "workspace_root"
ROUTED_KEY = "routed"  # set by the router before it runs a page
PENDING_PAGE_KEY = "pending_page"  # the page a URL asked for before the router had run
SELECTED_RUN_KEY = "selected_run_id"
RUN_PICKER_KEY = "run_picker"  # the router's sidebar selectbox: it would overwrite the selection
PREPARING_DEMO = ("Preparing the demo: a tiny XTTS model and a synthetic dataset are being created in the workspace. "
                  "This happens once, on the first start, and takes about half a minute.")
LOADING_LIBRARIES = "Loading the training libraries (torch, coqui TTS): a few seconds, once after each dashboard start."
# (workspace root, page) pairs this server process has rendered: their slow first open is behind them.
_warm_pages: set[tuple[str, str]] = set()


def default_workspace_root() -> Path:
    return Path(os.environ.get("XTTS_WORKSPACE") or Path.cwd() / "workspace")


def extra_roots() -> tuple[Path, ...]:
    """Folders besides the workspace that the UI may read and write (XTTS_EXTRA_ROOTS=a:b)."""
    return tuple(Path(p) for p in os.environ.get("XTTS_EXTRA_ROOTS", "").split(os.pathsep) if p.strip())


@st.cache_resource(show_spinner=False)
def _open_workspace(root: str, roots: tuple[Path, ...]) -> Workspace:
    return Workspace.at(root, extra_roots=roots)


@st.cache_resource(show_spinner=False)
def _demo(root: str) -> DemoAssets:
    return ensure_demo(Path(root) / "demo")


def require_router() -> None:
    """Send a page that runs without the router to it, remembering the page the URL asked for.

    Right after a server start, before any session has run the router's st.navigation, Streamlit
    resolves a page URL (a bookmark, a tab reconnecting) against the pages/ folder and runs that file
    alone: no navigation, no run picker, helper modules listed as pages. Tests that run one page
    with AppTest set the workspace themselves and are left alone.
    """
    if st.session_state.get(ROUTED_KEY) or WORKSPACE_KEY in st.session_state:
        return
    url = st.context.url or ""
    st.session_state[PENDING_PAGE_KEY] = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    st.switch_page("streamlit_app.py")


def workspace() -> Workspace:
    """The workspace of this session (the router sets it; tests set it in session_state)."""
    require_router()
    root = st.session_state.setdefault(WORKSPACE_KEY, str(default_workspace_root()))
    return _open_workspace(root, extra_roots())


def demo_assets() -> DemoAssets:
    return _demo(str(workspace().root))


@contextmanager
def first_open_progress(page: str) -> Iterator[None]:
    """Around the router's page run: on a page's first open after a start, say what the wait is for.

    The first open creates the demo (once per workspace) and imports torch and coqui (once per process),
    which left the page blank for many seconds. The message is written before any of that, at the top
    of the page, and removed when the page has rendered. Later slow steps have their own spinners.
    """
    root = str(workspace().root)
    demo = demo_paths(Path(root) / "demo")
    needs_demo = not all(p.exists() for p in (demo.base_dir, demo.train_csv, demo.eval_csv))
    # coqui's TTS package (and torch under it) is what makes a page's first import slow.
    cold = (root, page) not in _warm_pages and "TTS" not in sys.modules
    # The placeholder is there on every run, shown or not: an element that comes and goes above the
    # page would shift every widget's position, and Streamlit would rebuild them with their typed values lost.
    notice = st.empty()
    if not (needs_demo or cold):
        yield
        return
    if needs_demo:
        notice.info(PREPARING_DEMO, icon=":material/hourglass_top:")
        demo_assets()
    if cold:
        notice.info(LOADING_LIBRARIES, icon=":material/hourglass_top:")
    else:
        notice.empty()
    try:
        yield
    finally:
        notice.empty()
        _warm_pages.add((root, page))


def select_run(run_id: str) -> None:
    """Make `run_id` the run every page shows (the router's sidebar picker included)."""
    st.session_state[SELECTED_RUN_KEY] = run_id
    st.session_state[RUN_PICKER_KEY] = run_id


def selected_run_id() -> str | None:
    return st.session_state.get(SELECTED_RUN_KEY)


def show_field_errors(exc) -> None:
    """One st.error per invalid field, naming it by its label (and key) and saying what is allowed."""
    for error in getattr(exc, "errors", []) or [exc]:
        st.error(field_error_text(error) if hasattr(error, "field") else str(error))


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


def live_run_panel(run_id: str, render: Callable[[RunState], None], refresh_s: float) -> None:
    """`render(state)` in a fragment that refreshes every `refresh_s` while the run is live.

    When the run ends, one full rerun switches the refresh off (a fragment cannot change its own
    run_every); a run that is not live is rendered once, with no timer.
    """
    ws = workspace()
    interval = refresh_s if read_run_state(ws, run_id).phase.is_live else None

    @st.fragment(run_every=interval)
    def panel() -> None:
        current = read_run_state(ws, run_id)
        if interval and not current.phase.is_live:
            st.rerun()
        render(current)

    panel()
