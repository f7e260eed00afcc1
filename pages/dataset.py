"""Dataset: make a coqui-format dataset from recordings, check any dataset, fix its rows in place."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from core.base.config import LANGUAGES
from core.base.languages import describe
from core.dataset.audio import SUPPORTED_SUFFIXES
from core.dataset.create import CreateRequest, save_uploads
from core.dataset.job import KIND, start_make_dataset
from core.dataset.segment import ClipLimits
from core.dataset.transcribe import WHISPER_SIZES, whisper_models_dir
from core.base.errors import ConfigInvalid, LaunchRefused
from core.jobs.launcher import live_job_for, stop_job
from core.jobs.files import list_job_ids
from core.jobs.state import JobState, job_log_tail, read_job_state
from core.base.path_guard import outside_roots_errors
from pages.common import demo_assets, log_box, show_field_errors, workspace
from pages.dataset_report import CHECK_CSV_KEY, render_check
from pages.live_refresh import visible_fragment

JOB_KEY = "ds_job_id"
ws = workspace()
demo = demo_assets()


def uploads_folder() -> Path:
    return ws.root / "uploads" / time.strftime("%Y%m%d-%H%M%S")


def sources_from_form() -> tuple[str, ...]:
    typed = [line.strip() for line in st.session_state.get("ds_sources", "").splitlines() if line.strip()]
    uploaded = st.session_state.get("ds_uploads") or []
    if uploaded:
        typed.append(str(save_uploads(uploads_folder(), [(item.name, bytes(item.getbuffer())) for item in uploaded])))
    return tuple(typed)


def on_make() -> None:
    sources = sources_from_form()
    request = CreateRequest(
        sources=sources, output_dir=st.session_state["ds_output"], speaker_name=st.session_state["ds_speaker"],
        language=st.session_state["ds_language"], min_clip_s=st.session_state["ds_min_s"],
        max_clip_s=st.session_state["ds_max_s"], eval_share=st.session_state["ds_eval_pct"] / 100,
        transcribe=st.session_state["ds_transcribe"], whisper_size=st.session_state["ds_whisper_size"],
        whisper_local_dir=st.session_state["ds_whisper_dir"].strip(), replace_existing=st.session_state["ds_replace"])
    guarded = outside_roots_errors(ws, [("output_dir", request.output_dir), ("whisper_local_dir", request.whisper_local_dir),
                                        *(("sources", s) for s in sources)])
    try:
        if guarded:
            raise ConfigInvalid(guarded)
        job = start_make_dataset(ws, request)
    except (ConfigInvalid, LaunchRefused) as exc:
        st.session_state["ds_flash"] = exc
        return
    st.session_state[JOB_KEY] = job.job_id


def render_job(state: JobState) -> None:
    record = state.record
    target = record.target if record else "?"
    progress = state.progress
    if state.phase.is_live:
        eta = f", about {progress.eta_s:.0f} s left" if progress.eta_s else ""
        st.progress(progress.fraction, text=f"Making {Path(target).name}: recording {progress.done} of "
                                            f"{progress.total or '?'}{eta}. {progress.message}")
        st.button("Stop making the dataset", key="ds_stop", on_click=stop_job, args=(ws, state.job_id),
                  icon=":material/stop_circle:")
    elif state.phase.value == "finished":
        result = state.result
        st.success(f"Dataset ready in `{result.get('output_dir')}`: {result.get('clips')} clips "
                   f"({result.get('eval_clips')} for evaluation), {result.get('total_s', 0) / 60:.1f} minutes.")
        for skipped in result.get("skipped", []):
            st.warning(f"Not used: {Path(skipped['recording']).name}: {skipped['reason']}")
        if result.get("dropped"):
            st.caption(f"{len(result['dropped'])} stretches of speech were left out (too short, or no pause to cut at); "
                       "see create_report.json in the dataset folder.")
        if result.get("clipped"):
            st.warning(f"{len(result['clipped'])} clips come from clipped (distorted) audio; the check below lists them.")
        if result.get("previous_moved_to"):
            st.info(f"The folder's earlier content was kept in `{result['previous_moved_to']}`.")
        if st.session_state.get(CHECK_CSV_KEY) != result.get("train_csv"):
            # A button in a fragment reruns only the fragment; the check tab is outside it.
            if st.button("Check this dataset", key="ds_check_new"):
                st.session_state[CHECK_CSV_KEY] = result.get("train_csv")
                st.rerun(scope="app")
    else:
        st.error(f"Making {Path(target).name} {state.phase.value}: {state.message}")
    with st.expander("Log of the job", expanded=state.phase.is_live):
        log_box(job_log_tail(ws, state.job_id, count=40), height=320, empty="(empty)")


def job_panel(job_id: str) -> None:
    interval = 1.0 if read_job_state(ws, job_id).phase.is_live else None

    @visible_fragment("dataset-job", interval)
    def panel() -> None:
        state = read_job_state(ws, job_id)
        if interval and not state.phase.is_live:
            st.rerun()  # one full rerun switches the timer off
        render_job(state)

    panel()


st.title("Dataset")
st.caption("Make a dataset from your recordings, or check one you have before training on it. XTTS hides bad clips "
           "(it swaps a clip it cannot load for another, and drops clips that are too long), so check first.")

make_tab, check_tab = st.tabs(["Make from recordings", "Check and fix"])
with make_tab:
    st.text_area("Recordings: a folder, or audio files, one per line", key="ds_sources",
                 placeholder=str(ws.root / "recordings"),
                 help=f"Accepted: {', '.join(SUPPORTED_SUFFIXES)} (m4a through PyAV, which brings its own FFmpeg "
                      "libraries: no FFmpeg install needed). A transcript beside a recording with the same name is used "
                      "instead of Whisper: `.srt` (timed cues become clips) or `.txt` (one text for a short recording).")
    st.file_uploader("Or upload recordings", type=[s.strip(".") for s in SUPPORTED_SUFFIXES] + ["srt", "txt"],
                     accept_multiple_files=True, key="ds_uploads",
                     help="Uploaded files are saved in the workspace's uploads folder and used from there.")
    left, right = st.columns(2)
    left.text_input("Dataset folder (new)", value=str(ws.root / "datasets" / "my-voice"), key="ds_output",
                    help="Gets metadata_train.csv, metadata_eval.csv and wavs/. An existing folder is never overwritten "
                         "unless you tick the box below; its content is then kept as <name>.previous-<time>.")
    left.checkbox("Replace the folder if it already holds a dataset", key="ds_replace", value=False)
    right.text_input("Speaker name", value="speaker", key="ds_speaker", help="Written in the speaker_name column.")
    right.selectbox("Language", LANGUAGES, key="ds_language", accept_new_options=True, format_func=describe,
                    help="Language of the recordings (and of Whisper): one of XTTS's 17, or type any ISO 639 code "
                         "(e.g. am) for a language XTTS does not know.")
    limits = ClipLimits()
    a, b, c = st.columns(3)
    a.number_input("Shortest clip (s)", 0.5, 10.0, limits.min_s, 0.5, key="ds_min_s",
                   help="Speech shorter than this is merged with a neighbour, or left out.")
    b.number_input("Longest clip (s)", 2.0, 30.0, limits.max_s, 0.5, key="ds_max_s",
                   help="Keep it at or under the Train page's longest training clip (11 s for XTTS v2): the trainer "
                        "drops longer clips.")
    c.number_input("Evaluation share (%)", 1, 40, 10, key="ds_eval_pct",
                   help="Clips set aside for evaluation, per speaker (at least one each); the same recordings always "
                        "give the same split.")
    st.checkbox("Transcribe recordings that have no transcript (Whisper)", value=True, key="ds_transcribe")
    w1, w2 = st.columns(2)
    w1.selectbox("Whisper model size", WHISPER_SIZES, index=2, key="ds_whisper_size",
                 help=f"Downloaded on first use into {whisper_models_dir(ws.models_dir)} where there is internet. "
                      "Larger is more accurate and slower; a GPU is used when there is one.")
    w2.text_input("Or a local Whisper model folder (CTranslate2)", value="", key="ds_whisper_dir",
                  help="A folder with model.bin, config.json and tokenizer.json, e.g. made with ct2-transformers-converter.")
    st.button("Make dataset", type="primary", key="ds_make", on_click=on_make, icon=":material/graphic_eq:")
    flash = st.session_state.pop("ds_flash", None)
    if flash is not None:
        show_field_errors(flash)
    job_id = st.session_state.get(JOB_KEY) or live_job_for(ws, KIND) or next(iter(list_job_ids(ws, KIND)), None)
    if job_id:
        job_panel(job_id)

with check_tab:
    render_check(ws, demo)
