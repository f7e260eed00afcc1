"""A real Streamlit server on a free localhost port and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from core.base.machine import free_port

PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, no sandbox (we run as root), and no background networking: this machine's network is closed.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def serve(workspace: Path, log_path: Path):
    """`make run PORT=...` on `workspace`, as a user starts the dashboard; returns (server, url) once it answers."""
    port = free_port()
    log = open(log_path, "wb")
    env = dict(os.environ, XTTS_WORKSPACE=str(workspace))
    server = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"],
                              cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail("the dashboard did not answer on " + url + ": " + log_path.read_text()[-2000:])
    return server, url


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # make and the Streamlit server it started
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory, demo_workspace):
    """The dashboard started the way a user starts it, `make run`, on a workspace that already has the demo files.

    No address is given here: what it listens on is what `make run` and the project's config choose.
    """
    ws, _demo = demo_workspace
    root = tmp_path_factory.mktemp("e2e")
    shutil.copytree(ws.demo_dir, root / "workspace" / "demo")
    server, url = serve(root / "workspace", root / "streamlit.log")
    yield url, root / "workspace"
    stop(server)


@pytest.fixture
def fresh_dashboard(tmp_path):
    """`make run` on an empty workspace, as after a clean clone: the first open has to make the demo."""
    server, url = serve(tmp_path / "workspace", tmp_path / "streamlit.log")
    yield url, tmp_path / "workspace"
    stop(server)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium and chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def tab(browser, dashboard):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def screenshot(tab, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
