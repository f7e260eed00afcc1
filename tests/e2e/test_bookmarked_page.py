"""A page URL opened first after the server starts (a bookmark, a tab reconnecting) gets the whole dashboard."""
from __future__ import annotations

import shutil

import pytest

from tests.e2e.conftest import serve, stop

pytestmark = pytest.mark.e2e


def test_a_bookmarked_page_opens_with_the_router(browser, demo_workspace, tmp_path):
    ws, _demo = demo_workspace
    shutil.copytree(ws.demo_dir, tmp_path / "workspace" / "demo")
    server, url = serve(tmp_path / "workspace", tmp_path / "streamlit.log")
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(f"{url}/monitor")  # the very first request this server answers
        tab.get_by_role("heading", name="Monitor", exact=True).first.wait_for()
        sidebar = tab.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Workspace:").wait_for()  # the router's run picker ran
        links = [link.inner_text().split()[-1] for link in sidebar.locator("[data-testid='stSidebarNavLink']").all()]
        assert links == ["Dataset", "Train", "Monitor", "Disk", "Checkpoints", "Runs"], links
        context.close()
    finally:
        stop(server)
