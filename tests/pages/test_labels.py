"""Every label on every page is words, never a config key; the setting widgets' labels come from config.FIELDS."""
from __future__ import annotations

import re

import pytest

from core.base.config import FIELD_BY_NAME, FIELDS

# A bare snake_case identifier (save_n_checkpoints), not part of a file name or path (best_model_120.pth, ready/).
CONFIG_KEY = re.compile(r"(?<![\w./<-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w./>-])")
# The labels the form may show for settings, generated from the same table that drives it.
ALLOWED_SETTING_LABELS = {spec.name: spec.form_label for spec in FIELDS}
PAGES = ("streamlit_app.py", "pages/train.py", "pages/monitor.py", "pages/disk.py", "pages/checkpoints.py",
         "pages/runs.py", "pages/dataset.py")


def labelled_nodes(at) -> list[tuple[str | None, str]]:
    """(key, label) of every element and block on the page, sidebar included, that has a label."""
    return [(getattr(node, "key", None), node.label) for node in at._tree
            if isinstance(getattr(node, "label", None), str) and node.label]


def test_the_allowed_labels_are_words_with_no_config_key():
    for name, label in ALLOWED_SETTING_LABELS.items():
        assert label and label != name and not CONFIG_KEY.search(label), (name, label)
        assert label[0].isupper(), label
    assert ALLOWED_SETTING_LABELS["save_step"] == "Checkpoint save frequency (steps)"
    assert ALLOWED_SETTING_LABELS["save_n_checkpoints"] == "Checkpoints kept"
    assert ALLOWED_SETTING_LABELS["epochs"] == "Epochs"
    # The key and the guide's advice are in the help instead.
    assert "save_step" in FIELD_BY_NAME["save_step"].tooltip and "guide" in FIELD_BY_NAME["save_step"].tooltip


@pytest.mark.parametrize("name", PAGES)
def test_no_label_on_any_page_is_a_config_key(page, demo_run, name):
    at = page(name, root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    assert not at.exception, at.exception
    nodes = labelled_nodes(at)
    assert nodes
    for key, label in nodes:
        bare = label.split(" (")[0]
        assert bare not in FIELD_BY_NAME, f"{name}: a widget is labelled with the config key {label!r}"
        assert not CONFIG_KEY.search(label), f"{name}: label {label!r} contains a config key"
        if key and key.startswith(("cfg_", "disk_")) and key.split("_", 1)[1] in FIELD_BY_NAME:
            assert label == ALLOWED_SETTING_LABELS[key.split("_", 1)[1]], (key, label)


def test_every_setting_of_the_form_has_its_label(page):
    at = page("pages/train.py")
    at.session_state["cfg_base_choice"] = "Local folder"  # shows the base model folder too
    at.run()
    assert not at.exception, at.exception
    by_key = {key: label for key, label in labelled_nodes(at) if key}
    for spec in FIELDS:
        widget_key = "cfg_local_base" if spec.name == "base_model_dir" else f"cfg_{spec.name}"
        assert by_key.get(widget_key) == spec.form_label, spec.name


def test_the_disk_page_uses_the_same_labels(page):
    at = page("pages/disk.py").run()
    by_key = {key: label for key, label in labelled_nodes(at) if key}
    for name in ("save_step", "save_n_checkpoints", "epochs", "batch_size", "keep_best_k", "milestone_every_steps",
                 "train_csv", "output_path"):
        assert by_key[f"disk_{name}"] == FIELD_BY_NAME[name].form_label
    table = next(df.value for df in at.dataframe if "configuration" in df.value.columns)
    assert {FIELD_BY_NAME["save_step"].form_label, FIELD_BY_NAME["save_n_checkpoints"].form_label} <= set(table.columns)
    at.radio(key="disk_base_choice").set_value("Local folder").run()
    by_key = {key: label for key, label in labelled_nodes(at) if key}
    assert by_key["disk_local_base"] == FIELD_BY_NAME["base_model_dir"].form_label
