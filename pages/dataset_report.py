"""The "Check and fix" part of the Dataset page: the report of a metadata CSV and a row fixer."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.base.config import LANGUAGES
from core.base.languages import describe, is_new_language
from core.dataset.edit import exclude_rows, set_text
from core.dataset.metadata_csv import read_metadata_csv
from core.dataset.report import DatasetReport
from core.dataset.report_charts import plotly_figures
from core.base.errors import ConfigInvalid
from core.offload import OffloadError
from core.base.path_guard import outside_roots_errors
from core.trainer.demo import DemoAssets
from core.base.workspace import Workspace
from pages.common import heavy, show_field_errors

CHECK_CSV_KEY = "ds_check_csv"
SEVERITY_ICON = {"error": ":material/error:", "warning": ":material/warning:", "info": ":material/info:"}


def check_cache_dir(ws: Workspace) -> Path:
    return ws.root / "cache" / "dataset-checks"


def default_vocab(demo: DemoAssets) -> str:
    """The vocabulary the Train form would use: its extended vocab, else its base model's, else the demo's."""
    extended = st.session_state.get("cfg_vocab_path", "")
    if extended:
        return extended
    base = st.session_state.get("cfg_base_model_dir") or str(demo.base_dir)
    return str(Path(base) / "vocab.json")


def on_save_text(csv_path: str, line_no: int, widget: str) -> None:
    try:
        set_text(csv_path, line_no, st.session_state[widget])
        st.session_state["ds_fix_flash"] = ("success", f"Line {line_no} saved (the previous CSV is in .backups/).")
    except (ValueError, ConfigInvalid) as exc:
        st.session_state["ds_fix_flash"] = ("error", str(exc))


def on_exclude(csv_path: str, line_no: int) -> None:
    try:
        exclude_rows(csv_path, [line_no])
        st.session_state["ds_fix_flash"] = ("success", f"Line {line_no} moved to {Path(csv_path).stem}.excluded.csv.")
    except (ValueError, ConfigInvalid) as exc:
        st.session_state["ds_fix_flash"] = ("error", str(exc))


def on_use_for_training(csv_path: str) -> None:
    st.session_state["cfg_train_csv"] = csv_path
    sibling = Path(csv_path).with_name("metadata_eval.csv")
    if sibling.is_file() and sibling != Path(csv_path):
        st.session_state["cfg_eval_csv"] = str(sibling)
    st.session_state["ds_go_train"] = True


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def render_summary(report: DatasetReport) -> None:
    cols = st.columns(5)
    cols[0].metric("Clips", report.clips)
    cols[1].metric("Kept by the trainer", report.kept_clips, help="After its own filters: clips too long, too short, "
                   "with too many text tokens or unreadable are dropped or swapped for others.")
    cols[2].metric("Hours kept", f"{report.kept_s / 3600:.2f}")
    cols[3].metric("Errors", len(report.errors))
    cols[4].metric("Warnings", len(report.warnings))
    if report.errors:
        st.error(f"{plural(len(report.errors), 'error')}: training would fail on these rows or silently use other clips. "
                 "Fix or exclude them below; Start on the Train page is refused until they are gone.")
    elif report.warnings:
        st.warning(f"{plural(len(report.warnings), 'warning')}: the trainer drops these clips or they may hurt the voice.")
    else:
        st.success("No problems found.")
    if report.per_speaker_s:
        st.dataframe([{"Speaker": k, "Minutes": round(v / 60, 1)} for k, v in sorted(report.per_speaker_s.items())],
                     hide_index=True)
    if report.unknown_chars:
        st.write("Characters the vocabulary cannot encode (each clip with one is swapped for another in training):")
        st.dataframe([{"Character": repr(c), "Occurrences": n} for c, n in
                      sorted(report.unknown_chars.items(), key=lambda kv: -kv[1])], hide_index=True)
    if report.durations_s:
        histogram, scatter = plotly_figures(report)
        left, right = st.columns(2)
        left.plotly_chart(histogram, key="ds_hist")
        right.plotly_chart(scatter, key="ds_scatter")


def render_fixer(csv_path: str, report: DatasetReport) -> None:
    flagged = [i for i in report.issues if i.line_no is not None and i.severity != "info"]
    if not flagged:
        return
    st.subheader("Rows to look at")
    st.dataframe([{"Line": i.line_no, "Audio": i.audio_file, "Severity": i.severity.value, "Problem": i.message}
                  for i in flagged], hide_index=True, key="ds_issue_table")
    lines = sorted({i.line_no for i in flagged})
    line_no = st.selectbox("Row to fix (CSV line)", lines, key="ds_fix_line",
                           format_func=lambda n: f"line {n}: " + "; ".join(i.kind.value.replace("_", " ")
                                                                            for i in report.issues_at(n)))
    metadata = read_metadata_csv(csv_path)
    row = metadata.row_at(line_no)
    if row is None:
        return
    audio = metadata.audio_path(row)
    for issue in report.issues_at(line_no):
        st.markdown(f"{SEVERITY_ICON.get(issue.severity.value, '')} {issue.message}")
    if audio.is_file() and audio.stat().st_size:
        st.audio(str(audio))
    widget = f"ds_fix_text_{line_no}"
    st.text_input("Transcript", value=row.text, key=widget)
    left, right = st.columns(2)
    left.button("Save transcript", key="ds_fix_save", on_click=on_save_text, args=(csv_path, line_no, widget),
                icon=":material/save:")
    right.button("Exclude this row", key="ds_fix_exclude", on_click=on_exclude, args=(csv_path, line_no),
                 icon=":material/block:")


def render_check(ws: Workspace, demo: DemoAssets) -> None:
    st.session_state.setdefault(CHECK_CSV_KEY, str(demo.train_csv))
    st.text_input("Metadata CSV to check", key=CHECK_CSV_KEY,
                  help="A coqui-format CSV (audio_file|text|speaker_name), audio paths relative to it.")
    left, mid, right = st.columns(3)
    left.text_input("Vocabulary (vocab.json)", value=default_vocab(demo), key="ds_check_vocab",
                    help="Texts are tokenised with this vocabulary, as the trainer will: by default the Train page's "
                         "(its extended vocabulary, else its base model's).")
    mid.selectbox("Language", LANGUAGES, key="ds_check_language", accept_new_options=True, format_func=describe,
                  help="As on the Train page; a new language (any ISO 639 code) is checked with its text rules and "
                       "the Train page's romanisation.")
    right.number_input("Longest training clip (s)", 1.0, 60.0, float(st.session_state.get("cfg_max_audio_length_s", 11.0)),
                       0.5, key="ds_check_max_s", help="The Train page's setting of the same name: longer clips are dropped.")
    flash = st.session_state.pop("ds_fix_flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    csv_path = st.session_state[CHECK_CSV_KEY].strip()
    guarded = outside_roots_errors(ws, [("csv_path", csv_path), ("vocab_path", st.session_state["ds_check_vocab"])])
    if guarded:
        show_field_errors(ConfigInvalid(guarded))
        return
    eval_csv = Path(csv_path).with_name("metadata_eval.csv")
    try:
        with st.spinner("Checking every clip (decoding audio, tokenising text)..."):
            report = heavy("core.dataset.check:check_dataset", csv_path, vocab_path=st.session_state["ds_check_vocab"],
                           language=st.session_state["ds_check_language"],
                           max_audio_length_s=st.session_state["ds_check_max_s"],
                           cache_dir=check_cache_dir(ws),
                           other_csv=eval_csv if eval_csv.is_file() and eval_csv != Path(csv_path) else None,
                           romanize=st.session_state.get("cfg_romanize", "")
                           if is_new_language(st.session_state["ds_check_language"]) else "",
                           working=None, timeout_s=3600)
    except (ConfigInvalid, OffloadError) as exc:
        show_field_errors(exc)
        return
    render_summary(report)
    render_fixer(csv_path, report)
    st.button("Use this dataset on the Train page", key="ds_use", on_click=on_use_for_training, args=(csv_path,),
              icon=":material/rocket_launch:")
    if st.session_state.pop("ds_go_train", False):
        st.switch_page("pages/train.py")
