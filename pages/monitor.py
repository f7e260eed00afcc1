"""Monitor: live log, checkpoint events, loss curves from TensorBoard event files, progress, system load."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.monitor.chart_svg import Marker, monitor_charts_svg
from core.monitor.curves import CHART_TAGS, X_MODES
from core.monitor.live_curves import live_chart_curves
from core.monitor.listening import sentence_clips, sentence_steps
from core.monitor.log_tail import EventKind, LogFilter, LogTail
from core.registry.records import list_run_ids, log_path
from core.registry.state import RunState, read_run_state
from core.monitor.event_times import saved_at
from core.base.text import format_clock, format_local_time
from core.monitor.system_load import system_load
from core.monitor.tensorboard import (TensorBoardFailed, TensorBoardLaunched, TensorBoardReused, TensorBoardTimedOut,
                                      ensure_tensorboard, remote_access_hint)
from pages.common import (SELECTED_RUN_KEY, event_reader, human_bytes, live_run_panel, log_box, markdown_table,
                          run_curves, workspace)

ws = workspace()
LIVE_REFRESH_S = 2.0
CHART_REFRESH_S = 10.0  # TensorBoard reloads every 30 s
PLOTLY_BUCKETS = 500  # 1,500 points a series in the interactive charts
LOG_FILTERS = {"all": LogFilter.ALL, "warnings and errors": LogFilter.WARNINGS, "checkpoint events": LogFilter.CHECKPOINTS}


@st.cache_resource(show_spinner=False, max_entries=64)
def log_tail(path: str) -> LogTail:
    return LogTail(path)


def run_folder(state: RunState) -> str | None:
    return state.status.trainer_run_folder or None


def render_progress(state: RunState) -> None:
    status = state.status
    st.markdown(f"**{state.run_id}** — {state.phase.value}. {state.detail}")
    if status.progress_fraction is not None:
        st.progress(status.progress_fraction,
                    text=f"step {status.step} / {status.total_steps} · epoch {status.epoch} / {status.total_epochs}")
    started = status.started_at_s
    end = status.updated_at_s if not state.phase.is_live else time.time()
    cols = st.columns(4)
    cols[0].metric("steps / s", f"{1 / status.s_per_step:.2f}" if status.s_per_step else "-")
    cols[1].metric("elapsed", format_clock(end - started if started and end else None))
    cols[2].metric("ETA", format_clock(status.eta_s if state.phase.is_live else None))
    cols[3].metric("device", status.device or "-")


def render_system(state: RunState) -> None:
    load = system_load(state.record.output_path if state.record else None)
    per_row = 4
    cols = st.columns(per_row)
    cols[0].metric("CPU", f"{load.cpu_pct:.0f}%")
    cols[1].metric("RAM used", human_bytes(load.ram_used_bytes))
    cols[1].caption(f"of {human_bytes(load.ram_total_bytes)}")
    cols[2].metric("free disk (output)", human_bytes(load.disk_free_bytes))
    if not load.gpus:
        cols[3].metric("GPU", "no GPU")
    for first in range(0, len(load.gpus), per_row):  # every GPU: a rank group may use all of them
        for col, gpu in zip(st.columns(per_row), load.gpus[first:first + per_row]):
            col.metric(f"GPU {gpu.index} ({gpu.name})",
                       "-" if gpu.utilisation_pct is None else f"{gpu.utilisation_pct:.0f}%")
            col.caption(f"memory {human_bytes(gpu.used_bytes)} / {human_bytes(gpu.total_bytes)}")


def render_log(state: RunState) -> list:
    world = state.record.world_size if state.record else 1
    rank = st.selectbox("Rank", range(world), key="mon_rank", format_func=lambda r: f"rank {r}" + (
        " (saves checkpoints, writes curves)" if r == 0 else "")) if world > 1 else 0
    path = log_path(ws, state.run_id, rank)
    tail = log_tail(str(path))
    tail.refresh()
    which = st.radio("Log filter", list(LOG_FILTERS), horizontal=True, key="mon_log_filter")
    lines = tail.lines(LOG_FILTERS[which])[-200:]
    if tail.missing:
        st.warning("The log file is gone (deleted or rotated away).")
    st.caption("Newest line first.")
    log_box(list(reversed(lines)), height=320)
    if path.is_file():
        st.download_button("Download full log", data=lambda: path.read_bytes(), file_name=f"{state.run_id}.log",
                           key=f"mon_download_{state.run_id}")
    if rank:  # checkpoint events come from rank 0, whichever log is shown
        tail = log_tail(str(log_path(ws, state.run_id)))
        tail.refresh()
    return tail.events()


def render_events(state: RunState, events: list) -> None:
    if not events:
        st.caption("No checkpoint or best-model events yet.")
        return
    folder = run_folder(state)
    reader = event_reader(folder) if folder else None
    rows = []
    for event in reversed(events):
        saved = saved_at(event, reader)
        rows.append({"saved at": format_local_time(saved.time_s, seconds=True), "event": event.message
                     + (f" (loss: {event.loss:.4f})" if event.loss is not None and event.kind is EventKind.BEST_MODEL else ""),
                     "file": Path(event.path).name, "time from": saved.source})
    st.markdown(markdown_table(rows))


def render_curves(states: list[RunState], events: list) -> None:
    readers = {}
    for state in states:
        folder = run_folder(state)
        if folder:
            reader = event_reader(folder)
            reader.refresh()
            if reader.missing:
                st.warning(f"The run folder of {state.run_id} is gone; showing what was read before.")
            readers[state.run_id] = reader
    if not readers:
        st.info("No TensorBoard event file yet: the trainer writes one once training starts.")
        return
    cols = st.columns(4)
    ema = cols[0].slider("Smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="mon_ema")
    x_mode = cols[1].radio("x axis", X_MODES, horizontal=True, key="mon_x")
    log_y = cols[2].toggle("log scale", key="mon_log_y")
    interactive = cols[3].toggle("Interactive charts", key="mon_interactive",
                                 help="Zoom and hover (plotly). Heavier: the browser loads a large chart script "
                                      "and redraws every chart at each refresh while the run trains.")
    markers = (tuple(Marker(float(e.step), e.kind is not EventKind.CHECKPOINT) for e in events)
               if x_mode == "step" and len(states) == 1 else ())
    if interactive:
        render_plotly_charts(readers, ema, x_mode, log_y, markers)
    else:
        stamp = tuple((run_id, reader.status().bytes_read) for run_id, reader in readers.items())
        folders = tuple((run_id, str(reader.run_dir)) for run_id, reader in readers.items())
        for svg in svg_charts(folders, stamp, ema, x_mode, log_y, markers):
            st.image(svg, width="stretch")
    st.caption("Dotted grey: checkpoint saved · dashed green: best model updated.")


@st.cache_data(show_spinner=False, max_entries=32)
def svg_charts(folders: tuple[tuple[str, str], ...], stamp: tuple, ema: float, x_mode: str, log_y: bool,
               markers: tuple[Marker, ...]) -> list[str]:
    """The charts as SVG, made again only when `stamp` (bytes read per event reader) or a setting changed."""
    del stamp  # part of the cache key only: new bytes read, new points
    return monitor_charts_svg({run_id: run_curves(folder) for run_id, folder in folders}, ema=ema, x_mode=x_mode,
                              log_y=log_y, markers=markers)


def render_plotly_charts(readers: dict, ema: float, x_mode: str, log_y: bool, markers: tuple[Marker, ...]) -> None:
    import plotly.graph_objects as go  # only here: the default charts are SVG

    for title, tags in CHART_TAGS.items():
        # Zoom shows detail: more points per series than the SVG's 600.
        runs = {run_id: run_curves(str(reader.run_dir), PLOTLY_BUCKETS) for run_id, reader in readers.items()}
        curves = live_chart_curves(runs, tags, ema_weight=ema, x_mode=x_mode)
        if not curves:
            continue
        figure = go.Figure()
        for curve in curves:
            figure.add_scatter(x=curve.x, y=curve.raw, mode="lines", name=f"{curve.label} (raw)", opacity=0.25,
                               showlegend=False)
            figure.add_scatter(x=curve.x, y=curve.smoothed, mode="lines", name=curve.label)
        for marker in markers:
            figure.add_vline(x=marker.x, line_dash="dash" if marker.best else "dot", line_width=1,
                             line_color="green" if marker.best else "grey")
        figure.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10),
                             yaxis_type="log" if log_y else "linear")
        st.plotly_chart(figure, width="stretch", key=f"mon_chart_{title}")


def on_open_tensorboard(folder: str) -> None:
    st.session_state["mon_tb"] = ensure_tensorboard(Path(folder), ws.root / "tensorboard")  # a frozen dataclass


def render_tensorboard(state: RunState) -> None:
    folder = run_folder(state)
    if not folder:
        return
    st.button("Open in TensorBoard", on_click=on_open_tensorboard, args=(folder,))
    outcome = st.session_state.get("mon_tb")
    match outcome:
        case TensorBoardLaunched(url=url) | TensorBoardReused(url=url):
            how = "launched" if isinstance(outcome, TensorBoardLaunched) else "reused"
            hint = remote_access_hint(url, st.context.headers.get("Host"))
            if hint:
                st.info(hint)
            else:
                st.markdown(f"TensorBoard ({how}): [{url}]({url})")
        case TensorBoardFailed(message=message):
            st.error(f"TensorBoard failed: {message}")
        case TensorBoardTimedOut(message=message):
            st.error(f"TensorBoard timed out: {message}")


st.title("Monitor")
run_ids = list_run_ids(ws)
if not run_ids:
    st.info("No runs yet: start one on the Train page.")
    st.stop()
selected = st.session_state.get(SELECTED_RUN_KEY) or run_ids[0]
compare = st.multiselect("Overlay other runs' curves", [r for r in run_ids if r != selected], key="mon_compare")


def render_overfit_warning(state: RunState) -> None:
    warning = state.status.overfit_warning
    if warning:
        stopped = (f" The run was stopped for it at step {state.status.overfit_stop_step}."
                   if state.status.overfit_stop_step else "")
        st.warning(f"Overfitting watch: {warning.reason} The checkpoint worth going back to is the one nearest step "
                   f"{warning.started_step}.{stopped}", icon=":material/trending_up:")


def render_test_sentences(state: RunState) -> None:
    """The test sentences the trainer spoke after each epoch (TensorBoard audio), newest first."""
    folder = run_folder(state)
    if not folder:
        return
    reader = event_reader(folder)
    steps = sentence_steps(reader)
    if not steps:
        if state.record and state.record.config.get("test_sentences_each_epoch"):
            st.caption("Test sentences: none yet; the trainer speaks them after each epoch's evaluation.")
        return
    st.subheader("Test sentences")
    step = steps[0]
    if len(steps) > 1:
        step = st.select_slider("Epoch end (step), newest first", options=steps, value=steps[0], key="mon_audio_step")
    clips = sentence_clips(reader, step)
    if clips is None:
        return
    st.caption(f"Spoken at step {clips.step}, {format_local_time(clips.wall_time_s)}.")
    for column, clip in zip(st.columns(max(len(clips.clips), 1)), clips.clips):
        with column:
            st.caption(clip.tag)
            st.audio(clip.wav_bytes, format=clip.content_type or "audio/wav")


def render_live(state: RunState) -> None:
    """What changes every step: the numbers, the log and its events."""
    render_overfit_warning(state)
    render_progress(state)
    render_system(state)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Log")
        events = render_log(state)
    with right:
        st.subheader("Events")
        render_events(state, events)
        render_tensorboard(state)


def render_charts(state: RunState) -> None:
    """The curves and test sentences, on a slower timer: redrawing four charts every two seconds cost
    the browser more CPU than anything else on the page, on the machine that trains."""
    st.subheader("Loss curves")
    if state.phase.is_live:
        st.caption(f"Refreshed every {CHART_REFRESH_S:g} s while the run trains (the numbers and the log above "
                   f"every {LIVE_REFRESH_S:g} s).")
    tail = log_tail(str(log_path(ws, state.run_id)))  # rank 0's: checkpoint and best-model markers
    tail.refresh()
    render_curves([state, *[read_run_state(ws, r) for r in compare]], tail.events())
    render_test_sentences(state)


live_run_panel("monitor-live", selected, render_live, refresh_s=LIVE_REFRESH_S)
live_run_panel("monitor-charts", selected, render_charts, refresh_s=CHART_REFRESH_S)
