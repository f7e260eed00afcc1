"""What the dashboard benchmarks share: a workspace with a finished demo run, the dashboard and
TensorBoard as real servers, Debian's Chromium driven by Playwright, and process measurements.

Not a benchmark itself (no bench_ prefix: `make bench` does not run it).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
CACHE_DIR = REPO_ROOT / "benchmarks" / ".cache"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGES = ("Dataset", "Train", "Monitor", "Disk", "Checkpoints", "Runs")


def demo_workspace(name: str = "dashboard-workspace") -> tuple[Path, str]:
    """A workspace under benchmarks/.cache with one finished demo run (made once, about two minutes)."""
    from core.registry.records import list_run_ids
    from core.registry.state import read_run_state
    from core.runs.launcher import start_run, wait_until_ended
    from core.trainer.demo import demo_config, ensure_demo
    from core.base.workspace import Workspace

    root = CACHE_DIR / name
    ws = Workspace.at(root)
    finished = [r for r in list_run_ids(ws) if read_run_state(ws, r).phase.value == "finished"]
    if finished:
        return root, finished[0]
    demo = ensure_demo(ws.demo_dir)
    record = start_run(ws, demo_config(ws, demo))
    phase = wait_until_ended(ws, record.run_id, 900)
    if phase.value != "finished":
        raise SystemExit(f"the demo run ended {phase.value}: see {ws.runs_dir / record.run_id}")
    return root, record.run_id


def _free_port() -> int:
    from core.base.machine import free_port

    return free_port()


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url} within {timeout_s:.0f} s")


@contextmanager
def dashboard(root: Path, log: Path) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """The Streamlit server on `root` (as `make run` starts it); yields (process, url, start time)."""
    port = _free_port()
    env = dict(os.environ, XTTS_WORKSPACE=str(root))
    started = time.monotonic()
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless",
                                   "true", "--server.address", "127.0.0.1", "--server.port", str(port)],
                                  cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/_stcore/health", 120)
        yield server, url, started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@contextmanager
def tensorboard(logdir: Path, log: Path) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """TensorBoard on `logdir`, localhost; yields (process, url, start time)."""
    port = _free_port()
    started = time.monotonic()
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host",
                                   "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, 120)
        yield server, url, started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@contextmanager
def chromium() -> Iterator:
    """A headless Debian Chromium under Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_page(tab, title: str, timeout_ms: int = 120_000) -> None:
    """The dashboard page `title` has rendered its title, its script run has ended and no spinner
    ("working...") is left. The heading comes first: before it, the state seen may be the last page's."""
    tab.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=timeout_ms)
    tab.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
        " !== 'running' && document.querySelectorAll('[data-testid=\"stSpinner\"]').length === 0",
        timeout=timeout_ms)


def open_page(tab, title: str) -> None:
    """Click `title` in the dashboard's sidebar navigation and wait for it."""
    tab.get_by_role("link", name=title, exact=True).click()
    wait_for_page(tab, title)


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def children_rss_mb(pid: int) -> float:
    import psutil

    return sum(c.memory_info().rss for c in psutil.Process(pid).children(recursive=True)) / 1e6


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def start_live_run(root: Path, epochs: int = 3, **changes) -> str:
    """A demo run on its own output folder in the workspace at `root`, started detached; returns its id.
    `changes`: other settings of the run (RunConfig fields)."""
    from core.runs.launcher import start_run
    from core.trainer.demo import demo_config, ensure_demo
    from core.base.workspace import Workspace

    ws = Workspace.at(root)
    config = demo_config(ws, ensure_demo(ws.demo_dir))
    config = config.with_changes(output_path=str(ws.outputs_dir / f"live-{int(time.time())}"), epochs=epochs,
                                 **changes)
    return start_run(ws, config).run_id


def stop_run(root: Path, run_id: str) -> None:
    """Stop (SIGINT) and wait until the run has ended."""
    from core.runs.launcher import request_stop, wait_until_ended
    from core.base.workspace import Workspace

    ws = Workspace.at(root)
    request_stop(ws, run_id)
    wait_until_ended(ws, run_id, 300)


def delete_live_run(root: Path, run_id: str) -> None:
    """Remove a benchmark's live run, record and output folder, so the cached workspace does not grow."""
    from core.overview.deletion import RunActionRefused, delete_run
    from core.base.workspace import Workspace

    deadline = time.monotonic() + 60
    while True:
        try:
            os.waitpid(-1, os.WNOHANG)  # the run is our child (start_run here): reap it, its lock goes with it
        except ChildProcessError:
            pass
        try:
            delete_run(Workspace.at(root), run_id)
            return
        except RunActionRefused:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def pick_run(tab, run_id: str) -> None:
    """Choose `run_id` in the sidebar's run picker."""
    tab.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    tab.get_by_role("option", name=re.compile(re.escape(run_id))).click()


# Headless Chromium shows every page as visible: a window with five tabs, one in front, is emulated
# by overriding the Page Visibility API in each page (what the dashboard's refresh script reads).
# Chromium itself then still lays out and paints the "hidden" tabs, which a real browser skips, so
# the emulation costs at least what real background tabs cost.
TAB_VISIBILITY_SCRIPT = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(Document.prototype, "visibilityState", {configurable: true,
                                                                get: () => (hidden ? "hidden" : "visible")});
  window.__setTabHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


def emulate_tabs(context) -> None:
    """Pages of `context` opened after this can be put behind others with `show_only`."""
    context.add_init_script(TAB_VISIBILITY_SCRIPT)


def show_only(front, tabs) -> None:
    """`front` is the visible tab, the others are hidden behind it (as tabs of one browser window)."""
    for tab in tabs:
        tab.evaluate("(hidden) => window.__setTabHidden(hidden)", tab is not front)
