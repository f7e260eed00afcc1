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
from pages.common import SELECTED_RUN_KEY, event_reader, human_bytes, live_run_panel, run_curves, workspace
from pages.status_html import Column, Metric, Progress, columns_html, numbers_html

ws = workspace()
LIVE_REFRESH_S = 5.0  # as the other pages' live panels; each refresh costs the browser ~0.1 s of CPU
CHART_REFRESH_S = 30.0  # as TensorBoard reloads
PLOTLY_BUCKETS = 500  # 1,500 points a series in the interactive charts
LOG_FILTERS = {"all": LogFilter.ALL, "warnings and errors": LogFilter.WARNINGS, "checkpoint events": LogFilter.CHECKPOINTS}


@st.cache_resource(show_spinner=False, max_entries=64)
def log_tail(path: str) -> LogTail:
    return LogTail(path)


def run_folder(state: RunState) -> str | None:
    return state.status.trainer_run_folder or None


def run_metrics(state: RunState) -> list[Metric]:
    status = state.status
    started = status.started_at_s
    end = status.updated_at_s if not state.phase.is_live else time.time()
    return [Metric("steps / s", f"{1 / status.s_per_step:.2f}" if status.s_per_step else "-"),
            Metric("elapsed", format_clock(end - started if started and end else None)),
            Metric("ETA", format_clock(status.eta_s if state.phase.is_live else None)),
            Metric("device", status.device or "-")]


def system_metrics(state: RunState) -> list[list[Metric]]:
    """CPU, RAM, free disk, then every GPU (a rank group may use all of them), four to a row."""
    load = system_load(state.record.output_path if state.record else None)
    first = [Metric("CPU", f"{load.cpu_pct:.0f}%"),
             Metric("RAM used", human_bytes(load.ram_used_bytes), f"of {human_bytes(load.ram_total_bytes)}"),
             Metric("free disk (output)", human_bytes(load.disk_free_bytes))]
    if not load.gpus:
        return [first + [Metric("GPU", "no GPU")]]
    gpus = [Metric(f"GPU {gpu.index} ({gpu.name})", "-" if gpu.utilisation_pct is None else f"{gpu.utilisation_pct:.0f}%",
                   f"memory {human_bytes(gpu.used_bytes)} / {human_bytes(gpu.total_bytes)}") for gpu in load.gpus]
    return [first, *(gpus[i:i + 4] for i in range(0, len(gpus), 4))]


def render_numbers(state: RunState) -> None:
    """The run's line, its progress and the run and system numbers, as one element (pages.status_html)."""
    status = state.status
    progress = None
    if status.progress_fraction is not None:
        progress = Progress(status.progress_fraction, f"step {status.step} / {status.total_steps} · "
                                                      f"epoch {status.epoch} / {status.total_epochs}")
    line = [(state.run_id, True), (f" — {state.phase.value}. {state.detail}", False)]
    st.html(numbers_html(line, progress, [run_metrics(state), *system_metrics(state)]))


def render_log_controls(state: RunState) -> tuple[int, LogFilter]:
    """Which rank's log and which lines; the log download and TensorBoard, in one row."""
    world = state.record.world_size if state.record else 1
    cols = st.columns([2, 3, 2, 2] if world > 1 else [3, 2, 2])
    rank = cols[0].selectbox("Rank", range(world), key="mon_rank", format_func=lambda r: f"rank {r}" + (
        " (saves checkpoints, writes curves)" if r == 0 else "")) if world > 1 else 0
    cols = cols[1:] if world > 1 else cols
    which = cols[0].radio("Log filter", list(LOG_FILTERS), horizontal=True, key="mon_log_filter")
    path = log_path(ws, state.run_id, rank)
    if path.is_file():
        cols[1].download_button("Download full log", data=lambda: path.read_bytes(), file_name=f"{state.run_id}.log",
                                key=f"mon_download_{state.run_id}")
    with cols[2]:
        render_tensorboard(state)
    return rank, LOG_FILTERS[which]


def log_column(state: RunState, rank: int, which: LogFilter) -> Column:
    tail = log_tail(str(log_path(ws, state.run_id, rank)))
    tail.refresh()
    lines = tail.lines(which)[-200:]
    notes = ("The log file is gone (deleted or rotated away).",) if tail.missing else ()
    return Column("Log", (*notes, "Newest line first."), log_lines=tuple(reversed(lines)), empty="(no lines yet)")


def checkpoint_events(state: RunState) -> list:
    """Checkpoint and best-model events, from rank 0's log whichever log is shown."""
    tail = log_tail(str(log_path(ws, state.run_id)))
    tail.refresh()
    return tail.events()


def events_column(state: RunState, events: list) -> Column:
    if not events:
        return Column("Events", empty="No checkpoint or best-model events yet.")
    folder = run_folder(state)
    reader = event_reader(folder) if folder else None
    rows = []
    for event in reversed(events):
        saved = saved_at(event, reader)
        rows.append({"saved at": format_local_time(saved.time_s, seconds=True), "event": event.message
                     + (f" (loss: {event.loss:.4f})" if event.loss is not None and event.kind is EventKind.BEST_MODEL else ""),
                     "file": Path(event.path).name, "time from": saved.source})
    return Column("Events", rows=tuple(rows))


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
    """What changes every step: the numbers, the log and its events (two elements: pages.status_html)."""
    render_overfit_warning(state)
    render_numbers(state)
    rank, which = render_log_controls(state)
    st.html(columns_html(log_column(state, rank, which), events_column(state, checkpoint_events(state))))


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
