"""XTTS fine-tuning dashboard: the router. Pages live in pages/, all logic in core/."""
import hmac
import os
from pathlib import Path

import streamlit as st

from core import offload
from core.checkpoints.leftovers import clean_leftovers
from core.registry.records import list_run_ids
from core.registry.run_summary import run_summary
from pages.common import (PENDING_PAGE_KEY, ROUTED_KEY, SELECTED_RUN_KEY, first_open_progress, live_panel_shows_toasts,
                          workspace)
from pages.live_refresh import install_refresh_driver
from pages.notifications_panel import toast_new_notifications

st.set_page_config(page_title="XTTS fine-tuning", page_icon=":material/graphic_eq:", layout="wide")

PAGES = [
    st.Page("pages/dataset.py", title="Dataset", icon=":material/library_music:"),
    st.Page("pages/train.py", title="Train", icon=":material/rocket_launch:", default=True),
    st.Page("pages/monitor.py", title="Monitor", icon=":material/monitoring:"),
    st.Page("pages/disk.py", title="Disk", icon=":material/hard_drive:"),
    st.Page("pages/checkpoints.py", title="Checkpoints", icon=":material/inventory_2:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/table_rows:"),
]


def run_picker() -> None:
    """The run every page works on, chosen once in the sidebar."""
    ws = workspace()
    run_ids = list_run_ids(ws)
    st.sidebar.caption(f"Workspace: `{ws.root}`")
    if not run_ids:
        st.sidebar.info("No runs yet: start one on the Train page.")
        return

    def label(run_id: str) -> str:
        return run_summary(ws, run_id).label  # cached per run by its files' mtimes

    current = st.session_state.get(SELECTED_RUN_KEY)
    index = run_ids.index(current) if current in run_ids else 0
    st.sidebar.selectbox("Run", run_ids, index=index, format_func=label, key="run_picker")
    st.session_state[SELECTED_RUN_KEY] = st.session_state["run_picker"]


def keep_form_state() -> None:
    """Streamlit drops a widget's state when a page without that widget runs; re-assigning the
    values makes them plain session state, so the Train form survives a visit to another page."""
    for key in [k for k in st.session_state if str(k).startswith(("cfg_", "gal_", "mon_", "disk_", "runs_"))]:
        st.session_state[key] = st.session_state[key]


@st.cache_resource(show_spinner=False)
def started_once(root: str) -> int:
    """Once per dashboard start: a worker process starts importing torch and coqui (the pages' heavy
    answers come from it, core.offload), and temp files of promotes/optimizes killed midway go."""
    offload.warm_up(Path(root) / "cache")
    return len(clean_leftovers(workspace()))


def password_gate() -> None:
    """Remote access is opt-in (`make run-remote`) and then needs XTTS_DASHBOARD_PASSWORD."""
    expected = os.environ.get("XTTS_DASHBOARD_PASSWORD", "")
    if not expected or st.session_state.get("auth_ok"):
        return
    st.title("XTTS fine-tuning")
    given = st.text_input("Password", type="password", key="auth_password")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state["auth_ok"] = True
        st.rerun()
    if given:
        st.error("Wrong password.")
    st.stop()


def open_pending_page() -> None:
    """The page a URL asked for before the router first ran (see pages.common.require_router)."""
    wanted = st.session_state.pop(PENDING_PAGE_KEY, "")
    page = next((p for p in PAGES if wanted and p.url_path == wanted), None)
    if page is not None:
        st.switch_page(page)


st.session_state[ROUTED_KEY] = True
password_gate()
keep_form_state()
navigation = st.navigation(PAGES)
open_pending_page()
run_picker()
install_refresh_driver()  # live panels refresh only while their tab is visible (pages.live_refresh)
# In every open tab: runs that finished, failed, stopped or will fill the disk. A page refreshing for its live
# run toasts on that refresh; a second timer would double the browser's re-renders.
toast_new_notifications(poll=not live_panel_shows_toasts(navigation.title))
with first_open_progress(navigation.title):
    started_once(str(workspace().root))
    try:
        navigation.run()
    except offload.OffloadError as exc:  # a worker died or hung: said in words, the rest of the app goes on
        st.error(f"{exc} Reload the page to try again.")
