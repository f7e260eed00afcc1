"""Runs: every run of the workspace in one table; compare settings and curves; open, continue or delete a run."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.config import PATH_FIELDS, field_error_text
from core.base.errors import ConfigInvalid, LaunchRefused
from core.monitor.curves import CHART_TAGS, chart_curves
from core.overview.deletion import RunActionRefused, delete_run, plan_run_deletion
from core.overview.reader import OverviewReader
from core.overview.rows import RunRow
from core.overview.table import SORT_KEYS, RunFilter, SettingDifference, differing_settings, filter_rows, setting_text, sort_rows
from core.base.path_guard import outside_roots_errors
from core.offload import OffloadError
from core.base.text import format_clock, format_local_time
from pages.common import RUN_PICKER_KEY, SELECTED_RUN_KEY, event_reader, heavy, human_bytes, select_run, workspace
from pages.live_refresh import visible_fragment
from pages.notifications_panel import render_notifications_panel

FLASH_KEY = "runs_flash"
GOTO_KEY = "runs_goto"  # a page to open, set by a callback: st.switch_page works in the script, not in callbacks
CONFIRM_KEY = "runs_confirm_delete"  # the run whose deletion waits for "Yes, delete"
MONITOR_PAGE, CHECKPOINTS_PAGE = "pages/monitor.py", "pages/checkpoints.py"
HIGHLIGHT = "background-color: rgba(255, 196, 0, 0.25)"
LIVE_REFRESH_S = 5.0

ws = workspace()


@st.cache_resource(show_spinner=False, max_entries=8)
def overview_reader(root: str) -> OverviewReader:
    """One cached reader per workspace, shared by every browser session (it is thread-safe)."""
    return OverviewReader(workspace())


def flash(level: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((level, text))


def on_open(run_id: str, page: str) -> None:
    select_run(run_id)
    st.session_state[GOTO_KEY] = page


def on_open_checkpoints(run_id: str) -> None:
    st.session_state["gal_runs"] = [run_id]  # the Checkpoints page's run filter
    on_open(run_id, CHECKPOINTS_PAGE)


def on_continue(run_id: str) -> None:
    try:
        request = heavy("core.overview.continue_request:continue_request", ws, run_id,
                        working="Looking for the run's newest intact checkpoint...")
        outside = outside_roots_errors(ws, [(name, getattr(request.config, name)) for name in PATH_FIELDS])
        if outside:
            raise ConfigInvalid(outside)
        record = heavy("core.runs.launcher:start_run", ws, request.config, mode="continue",
                       resume_from=request.resume_from, world_size=request.world_size, gpus=request.gpus,
                       working="Checking the run and starting it...", timeout_s=3600)
    except RunActionRefused as exc:
        flash("error", f"Not continued: {exc}")
        return
    except ConfigInvalid as exc:
        for error in exc.errors:
            flash("error", field_error_text(error))
        flash("error", "Not continued: fix the settings named above on the Train page and continue from there.")
        return
    except (LaunchRefused, OffloadError) as exc:
        flash("error", f"Not continued: {str(exc).rstrip('.')}.")
        return
    select_run(record.run_id)
    flash("success", f"Continuing run {run_id} as run {record.run_id}, from {request.newest_checkpoint.name} "
                     "with its step, optimizer and scheduler state. Open it in Monitor to watch it.")


def on_ask_delete(run_id: str) -> None:
    st.session_state[CONFIRM_KEY] = run_id


def on_cancel_delete() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def on_delete(run_id: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        deleted = delete_run(ws, run_id)
    except RunActionRefused as exc:
        flash("error", str(exc))
        return
    if st.session_state.get(SELECTED_RUN_KEY) == run_id:
        st.session_state.pop(SELECTED_RUN_KEY, None)
        st.session_state.pop(RUN_PICKER_KEY, None)
    flash("success", f"Deleted run {run_id}: {human_bytes(deleted.bytes_freed)} freed.")
    for sentence in deleted.kept:
        flash("info", sentence)


def run_label(row: RunRow) -> str:
    output = row.output_path.rstrip("/").rsplit("/", 1)[-1] if row.output_path else "?"
    return f"{row.run_id} · {output} · {row.phase.value}"


def table_frame(rows: list[RunRow], differences: list[SettingDifference]) -> pd.DataFrame:
    records = []
    for r in rows:
        dataset = r.dataset
        records.append({
            "run": r.run_id, "state": r.phase.value, "base model": r.base_model, "language": r.language,
            "dataset": dataset.name if dataset else None, "clips": dataset.clips if dataset else None,
            "hours": round(dataset.hours, 2) if dataset else None,
            **{d.label: setting_text(d.values[r.run_id]) if r.run_id in d.values else "" for d in differences},
            "steps done": r.step, "steps planned": r.total_steps, "duration": format_clock(r.duration_s),
            "best loss": r.best_loss, "best at step": r.best_step, "disk used": human_bytes(r.disk_bytes),
            "ready/ bundle": r.ready_bundle.label if r.ready_bundle else "-",
            "started": format_local_time(r.started_at_s) if r.started_at_s else None,
        })
    frame = pd.DataFrame.from_records(records)
    for column in ("clips", "steps planned", "best at step"):  # whole numbers, with gaps where unknown
        frame[column] = frame[column].astype("Int64")
    return frame


def render_table(rows: list[RunRow], compared: list[str], differences: list[SettingDifference]) -> None:
    frame = table_frame(rows, differences)
    labels = [d.label for d in differences]
    chosen = frame.index[frame["run"].isin(compared)]
    styled = frame.style.map(lambda _: HIGHLIGHT, subset=pd.IndexSlice[chosen, labels]) if labels else frame
    st.dataframe(styled, hide_index=True, width="stretch", column_config={
        "best loss": st.column_config.NumberColumn(format="%.4f"),
        "hours": st.column_config.NumberColumn(format="%.2f")})
    if labels:
        st.caption("Highlighted: the settings that differ between the compared runs.")
    else:
        st.caption("Compare two or more runs (below the filters) to add the settings that differ between them.")
    st.caption("Disk used: the run's trainer folder plus its output's ready/, now. The recommended checkpoint and "
               "its listening scores: not scored yet.")


def render_actions(rows: list[RunRow]) -> None:
    st.subheader("Act on a run")
    by_id = {r.run_id: r for r in rows}
    selected = st.session_state.get(SELECTED_RUN_KEY)
    if st.session_state.get("runs_action_run") not in by_id:
        st.session_state["runs_action_run"] = selected if selected in by_id else rows[0].run_id
    run_id = st.selectbox("Run", list(by_id), key="runs_action_run", format_func=lambda r: run_label(by_id[r]))
    row = by_id[run_id]
    cols = st.columns(4)
    cols[0].button("Open in Monitor", on_click=on_open, args=(run_id, MONITOR_PAGE), width="stretch")
    cols[1].button("Open its checkpoints", on_click=on_open_checkpoints, args=(run_id,), width="stretch")
    cols[2].button("Continue this run", on_click=on_continue, args=(run_id,), width="stretch",
                   disabled=row.is_live or not row.trainer_run_folder,
                   help="Resumes this run's own trainer folder from its newest intact checkpoint, with its recorded "
                        "settings, step, optimizer and scheduler state. The continuation is listed as a new run.")
    cols[3].button("Delete this run...", on_click=on_ask_delete, args=(run_id,), width="stretch",
                   disabled=row.is_live, help="Asks first, and says what it frees.")
    if row.is_live:
        st.caption(f"Run {run_id} is {row.phase.value}: stop it (Train or Monitor page) before deleting or "
                   "continuing it.")
    if st.session_state.get(CONFIRM_KEY) == run_id:
        render_delete_confirmation(run_id)


def render_delete_confirmation(run_id: str) -> None:
    try:
        plan = plan_run_deletion(ws, run_id)
    except RunActionRefused as exc:
        st.error(str(exc))
        st.button("Close", on_click=on_cancel_delete)
        return
    with st.container(border=True, key="runs_confirm_box"):
        removed = "\n".join(f"- `{folder}`" for folder in plan.folders)
        st.warning(f"Delete run {run_id}? This removes, for good:\n{removed}\n\n"
                   f"It frees about {human_bytes(plan.bytes_freed)}.")
        for sentence in plan.kept:
            st.caption(sentence)
        cols = st.columns(2)
        cols[0].button(f"Yes, delete run {run_id}", on_click=on_delete, args=(run_id,), type="primary", width="stretch")
        cols[1].button("Cancel", on_click=on_cancel_delete, width="stretch")


def render_comparison(rows: list[RunRow], differences: list[SettingDifference]) -> None:
    st.subheader("Settings that differ")
    if differences:
        st.dataframe(pd.DataFrame({r.run_id: [setting_text(d.values[r.run_id]) for d in differences] for r in rows},
                                  index=[d.label for d in differences]), width="stretch")
    else:
        st.info("The compared runs were launched with the same settings.")
    st.subheader("Loss curves")
    readers = {}
    for row in rows:
        if row.trainer_run_folder:
            reader = event_reader(row.trainer_run_folder)  # the Monitor's cached reader: reads only new records
            reader.refresh()
            readers[row.run_id] = reader
    if not readers:
        st.info("None of the compared runs has TensorBoard event files yet.")
        return
    ema = st.slider("Smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="runs_ema")
    drawn = 0
    for title, tags in CHART_TAGS.items():
        curves = chart_curves(readers, tags[:1], ema_weight=ema)  # the main tag only: one curve per run
        if not curves:
            continue
        figure = go.Figure()
        for curve in curves:
            figure.add_scatter(x=curve.x, y=curve.smoothed, mode="lines", name=curve.label)
        figure.update_layout(title=title, height=280, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step")
        st.plotly_chart(figure, width="stretch", key=f"runs_chart_{title}")
        drawn += 1
    if not drawn:
        st.info("The compared runs' event files hold no loss points yet.")


goto = st.session_state.pop(GOTO_KEY, None)
if goto:
    st.switch_page(goto)
st.title("Runs")
for level, text in st.session_state.pop(FLASH_KEY, []):
    getattr(st, level)(text)
all_rows = list(overview_reader(str(ws.root)).rows())
if not all_rows:
    st.info("No runs yet: start one on the Train page.")
    st.divider()
    render_notifications_panel()  # services can be set up before the first run
    st.stop()
cols = st.columns(4)
phases = cols[0].multiselect("States", sorted({r.phase.value for r in all_rows}), key="runs_phases")
bases = cols[1].multiselect("Base models", sorted({r.base_model for r in all_rows}), key="runs_bases")
languages = cols[2].multiselect("Languages", sorted({r.language for r in all_rows if r.language}), key="runs_languages")
text = cols[3].text_input("Search run, dataset or output folder", key="runs_search")
cols = st.columns([2, 1, 5])
sort_by = cols[0].selectbox("Sort by", list(SORT_KEYS), key="runs_sort")
descending = cols[1].toggle("Highest first", value=True, key="runs_descending")
shown = sort_rows(filter_rows(all_rows, RunFilter(frozenset(phases), frozenset(bases), frozenset(languages), text)),
                  sort_by, descending=descending)
compared_ids = cols[2].multiselect("Compare runs (two or more)", [r.run_id for r in shown], key="runs_compare",
                                   format_func=lambda r: run_label(next(x for x in shown if x.run_id == r)))
compared = [r for r in shown if r.run_id in compared_ids]
differences = differing_settings(compared)
st.caption(f"{len(shown)} of {len(all_rows)} runs.")
live = any(r.is_live for r in shown)


@visible_fragment("runs-table", LIVE_REFRESH_S if live else None)
def live_table() -> None:
    """The table, re-read every few seconds while a run trains (only changed runs are read again)."""
    fresh = {r.run_id: r for r in overview_reader(str(ws.root)).rows()}
    if live and not any(r.is_live for r in fresh.values()):
        st.rerun()  # the last live run ended: one full rerun switches the refresh off
    render_table([fresh[r.run_id] for r in shown if r.run_id in fresh], compared_ids, differences)


if shown:
    live_table()
    render_actions(shown)
else:
    st.info("No run matches these filters.")
if len(compared) >= 2:
    render_comparison(compared, differences)
st.divider()
render_notifications_panel()
