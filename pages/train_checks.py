"""Two panels of the Train page that check the data before Start: the dataset check and, for a
language XTTS does not know, the vocabulary's coverage with the button that extends it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from core.base.config import field_error_text, validate_config
from core.base.errors import ConfigInvalid
from core.base.languages import describe, is_new_language
from core.base.workspace import Workspace
from pages.common import heavy


@st.cache_data(show_spinner=False, ttl=10)
def dataset_check_lines(raw: tuple, checks_dir: str) -> tuple[str, str, tuple[str, ...]]:
    """(level, summary, details) of the dataset check on the form's CSVs (cached by file stamps in core)."""
    try:
        verdict = heavy("core.trainer.dataset_check:check_form_datasets", dict(raw), Path(checks_dir),
                        working=None, timeout_s=3600)
    except ConfigInvalid:
        return "caption", "Dataset check: fix the settings above first.", ()
    reports = verdict.reports.values()
    kept = sum(r.kept_clips for r in reports)
    total = sum(r.clips for r in reports)
    kept_s = sum(r.kept_s for r in reports)
    length = f"{kept_s / 3600:.2f} h" if kept_s >= 3600 else f"{kept_s / 60:.1f} min"
    if verdict.errors:
        return ("error", f"Dataset check: errors in {len(verdict.errors)} file(s). Start is refused until they are "
                         "fixed on the Dataset page.", tuple(field_error_text(e) for e in verdict.errors))
    summary = f"Dataset check: the trainer keeps {kept} of {total} clips ({length})."
    if verdict.warnings:
        return "warning", summary + " Warnings (details on the Dataset page):", tuple(verdict.warnings)
    return "success", summary + " No problems found.", ()


def render_dataset_check(ws: Workspace, raw: dict) -> None:
    with st.spinner("Checking the dataset (every clip decoded, every text tokenised; cached afterwards)..."):
        level, summary, details = dataset_check_lines(tuple(sorted(raw.items())), str(ws.dataset_checks_dir))
    getattr(st, level)(summary + "".join(f"\n- {line}" for line in details))


@st.cache_data(show_spinner=False, ttl=30)
def coverage_lines(raw: tuple) -> list[dict] | str:
    try:
        config = validate_config(dict(raw))
        report = heavy("core.trainer.new_language:coverage_for_run", config, working=None)
    except ConfigInvalid as exc:
        return " ".join(field_error_text(e) for e in exc.errors)
    return [{"Vocabulary": name, "Characters encoded": f"{cov.char_share:.1%}", "Words encoded": f"{cov.word_share:.1%}",
             f"[{config.language}] token": "missing" if cov.language_token_missing else "present",
             "Characters it cannot encode": "".join(sorted(cov.unknown_chars))[:40]}
            for name, cov in report]


def render_new_language(raw: dict, on_extend: Callable[[], None], show_messages: Callable[[], None]) -> None:
    """For a language XTTS does not know: the vocabulary's coverage of the data, and extending it."""
    language = raw.get("language", "en")
    if not is_new_language(language):
        return
    st.subheader(f"New language: {describe(language)}")
    st.caption("XTTS has no text rules and no vocabulary for this language. Texts are normalised by our rules "
               "(Unicode, punctuation, lower case, the romanisation below if any) the same way in training, the "
               "dataset check and inference, and the vocabulary is extended from your training texts: base tokens keep "
               "their ids, the new ones are appended, and the model's text embedding grows to match.")
    show_messages()
    with st.spinner("Measuring how much of the training text the vocabulary can encode..."):
        lines = coverage_lines(tuple(sorted(raw.items())))
    if isinstance(lines, str):
        st.warning(lines)
    else:
        st.dataframe(lines, hide_index=True)
    st.button("Extend the vocabulary from the training data", key="cfg_extend_vocab", on_click=on_extend,
              icon=":material/translate:")
