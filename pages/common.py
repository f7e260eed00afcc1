"""Shared page helpers: the workspace every page works in and the selected run."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core import offload
from core.base.config import field_error_text
from core.trainer.demo import DemoAssets, demo_assets as demo_paths, ensure_demo
from core.monitor.events import RunEventReader
from core.monitor.live_curves import BUCKETS_PER_SERIES, RunCurves
from core.registry.state import RunState, read_run_state
from core.base.workspace import Workspace
from pages.live_refresh import visible_fragment

WORKSPACE_KEY = "workspace_root"
ROUTED_KEY = "routed"  # set by the router before it runs a page
PENDING_PAGE_KEY = "pending_page"  # the page a URL asked for before the router had run
SELECTED_RUN_KEY = "selected_run_id"
RUN_PICKER_KEY = "run_picker"  # the router's sidebar selectbox: it would overwrite the selection
PREPARING_DEMO = ("Preparing the demo: a tiny XTTS model and a synthetic dataset are being created in the workspace. "
                  "This happens once, on the first start, and takes about half a minute.")
LOADING_LIBRARIES = ("Starting the background worker that reads checkpoints and plans disk (it loads torch and coqui "
                     "TTS, which the dashboard itself never loads): a few seconds, once after each dashboard start.")
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
    # The first heavy answer waits for a worker to import torch and coqui (core.offload).
    cold = (root, page) not in _warm_pages and not offload.answered_once()
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


def heavy(target: str, *args, working: str | None = "Working...", timeout_s: float = offload.pool.DEFAULT_TIMEOUT_S,
          **kwargs):
    """`target` ("core.module:function") run in a worker process, with a "working..." spinner meanwhile.

    The UI process never imports torch, coqui-tts or trainer (README "Architecture"): whatever needs
    them runs here. The function's own exceptions come back as themselves; a worker that dies or
    hangs raises offload.OffloadError, which the page shows like any other error. `working=None`
    shows no spinner (inside st.cache_data functions, whose callers show their own).
    """
    cache_root = workspace().root / "cache"
    if working is None:
        return offload.call(target, *args, cache_root=cache_root, timeout_s=timeout_s, **kwargs)
    with st.spinner(working, show_time=True):
        return offload.call(target, *args, cache_root=cache_root, timeout_s=timeout_s, **kwargs)


def heavy_with_progress(target: str, *args, bar, label: Callable[[int, int], str], **kwargs):
    """`heavy` for a call that reports progress (`progress=` callback): `bar` (an st.progress) follows it."""
    import tempfile
    import threading

    from core.offload.progress import ProgressFile

    cache_root = workspace().root / "cache"
    cache_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_root, prefix="progress-") as folder:
        progress = ProgressFile(Path(folder) / "progress")
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["value"] = offload.call(target, *args, progress=progress, cache_root=cache_root,
                                                timeout_s=6 * 3600, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - raised again below, in the script thread
                outcome["error"] = exc

        thread = threading.Thread(target=work, name="offload-progress", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
            seen = progress.read()
            if seen:
                bar.progress(seen[0] / max(seen[1], 1), text=label(*seen))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


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


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-!|~"})


def markdown_table(rows: list[dict]) -> str:
    """Rows as a markdown table, every cell taken literally.

    For small read-only tables on live pages: st.dataframe and st.table make a new browser session
    load Streamlit's Arrow and data-grid scripts first (1.0-1.7 MB), a markdown table nothing."""
    if not rows:
        return ""
    columns = list(rows[0])

    def cell(value) -> str:
        return "" if value is None else str(value).replace("\n", " ").translate(_MARKDOWN_SPECIALS)

    return "\n".join(["| " + " | ".join(cell(c) for c in columns) + " |", "|" + " --- |" * len(columns),
                      *("| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows)])


def log_box(lines: list[str], *, height: int | None = None, empty: str = "(no lines yet)") -> None:
    """Log lines as plain monospace text, in a scrolling box of `height` pixels when given.

    Not st.code: its syntax highlighter is a 1.6 MB script a new browser session must load first."""
    with st.container(height=height) if height else st.container():
        st.text("\n".join(lines) or empty)


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


@st.cache_resource(show_spinner=False, max_entries=128)
def run_curves(run_folder: str, buckets_per_series: int = BUCKETS_PER_SERIES) -> RunCurves:
    """The chart curves of a run folder, kept up to date incrementally, shared like its reader."""
    return RunCurves(event_reader(run_folder), buckets_per_series)


# Pages whose live_run_panel follows the sidebar's run (and so carries the toasts while it is live).
LIVE_PANEL_PAGES = frozenset({"Train", "Monitor", "Disk"})


def live_panel_shows_toasts(page_title: str) -> bool:
    """Whether this page's live panel will toast new notifications itself on this rerun."""
    run_id = selected_run_id()
    return page_title in LIVE_PANEL_PAGES and run_id is not None and read_run_state(workspace(), run_id).phase.is_live


def live_run_panel(name: str, run_id: str, render: Callable[[RunState], None], refresh_s: float) -> None:
    """`render(state)` in a fragment that refreshes every `refresh_s` while the run is live and the
    tab is visible (pages.live_refresh; `name` is unique on the page).

    When the run ends, one full rerun switches the refresh off (a fragment cannot change its own
    timer); a run that is not live is rendered once, with no timer. Each refresh also shows new
    notifications as toasts (pages.toasts), so the page needs no second timer for them: the router
    leaves its own off on LIVE_PANEL_PAGES while their run is live.
    """
    ws = workspace()
    interval = refresh_s if read_run_state(ws, run_id).phase.is_live else None

    @visible_fragment(name, interval)
    def panel() -> None:
        current = read_run_state(ws, run_id)
        if interval and not current.phase.is_live:
            st.rerun()
        render(current)
        if interval:
            from pages.toasts import show_new_toasts  # here: pages.toasts is for live panels and the router

            show_new_toasts(ws)  # this refresh carries the toasts: the router's own timer is off on this page

    panel()
