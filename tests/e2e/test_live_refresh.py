"""A live panel in a real browser: it refreshes on its interval while its tab is visible, not at all
behind another tab, and at once when brought back to the front (pages.live_refresh)."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.base.machine import free_port

from .conftest import PROJECT, screenshot

# By path: an unrelated `benchmarks` package in site-packages shadows the project's folder.
_SPEC = importlib.util.spec_from_file_location("dashboard_harness", PROJECT / "benchmarks" / "dashboard_harness.py")
harness = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(harness)

APP = '''
import streamlit as st

from pages.live_refresh import install_refresh_driver, visible_fragment

install_refresh_driver()
st.session_state.setdefault("panel_runs", 0)
st.session_state.setdefault("page_runs", 0)
st.session_state["page_runs"] += 1


@visible_fragment("counter", 0.5)
def counter() -> None:
    st.session_state["panel_runs"] += 1
    st.markdown(f"panel runs: {st.session_state['panel_runs']}")


@visible_fragment("still", None)
def still() -> None:
    st.markdown("no timer here")


counter()
still()
st.markdown(f"page runs: {st.session_state['page_runs']}")
'''


@pytest.fixture
def panel_app(tmp_path):
    script = tmp_path / "panel_app.py"
    script.write_text(APP)
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                                   "--server.address", "127.0.0.1", "--server.port", str(port)],
                                  cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        pytest.fail("the test app did not answer: " + log.read_text()[-2000:])
    yield url
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def count(tab, label: str) -> int:
    text = tab.get_by_text(label).first.inner_text()
    return int(text.rsplit(" ", 1)[1])


def test_a_panel_refreshes_only_while_its_tab_is_visible(browser, panel_app):
    context = browser.new_context(viewport={"width": 900, "height": 700})
    harness.emulate_tabs(context)
    try:
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(panel_app)
        tab.get_by_text("panel runs: 1", exact=True).wait_for()
        tab.wait_for_function("() => document.body.innerText.includes('panel runs: 4')")  # 0.5 s apart, visible

        assert tab.get_by_role("button", name="Refresh").count() == 0, "the refresh buttons are not shown"
        assert tab.locator(".st-key-live-refresh-counter-500ms button").count() == 1
        assert tab.locator("[class*='st-key-live-refresh-still']").count() == 0, "a panel with no timer has no button"

        harness.show_only(None, [tab])  # another tab in front of it
        time.sleep(0.6)  # a refresh already pressed may still land
        hidden_at = count(tab, "panel runs:")
        time.sleep(3)
        assert count(tab, "panel runs:") == hidden_at, "a hidden tab does not refresh"

        harness.show_only(tab, [tab])
        tab.get_by_text(f"panel runs: {hidden_at + 1}", exact=True).wait_for(timeout=10_000)
        tab.wait_for_function(f"() => document.body.innerText.includes('panel runs: {hidden_at + 3}')")
        assert count(tab, "page runs:") == 1, "only the panel reruns, not the page"
        screenshot(tab, "live-refresh-panel")
    finally:
        context.close()
