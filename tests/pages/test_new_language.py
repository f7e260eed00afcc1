"""The Train page for a language XTTS does not know: marked new, its coverage shown, its vocabulary extended."""
from __future__ import annotations

import shutil

from core.base.workspace import Workspace
from tests.integration.test_new_language import amharic_dataset


def test_a_new_language_gets_its_panel_and_an_extended_vocabulary(page, demo_workspace, tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(demo_workspace[1].base_dir.parent, ws.demo_dir)
    train_csv, eval_csv = amharic_dataset(demo_workspace[1], ws.root / "am-data")
    at = page("pages/train.py", root=ws.root)
    at.session_state["cfg_language"] = "am"
    at.session_state["cfg_train_csv"] = str(train_csv)
    at.session_state["cfg_eval_csv"] = str(eval_csv)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cfg_language").format_func("am") == "am · Amharic (new language)"
    assert any(h.value.startswith("New language: am · Amharic") for h in at.subheader)
    coverage = at.dataframe[0].value
    assert list(coverage["[am] token"]) == ["missing"]
    # Start is refused until the vocabulary knows the language.
    next(b for b in at.button if b.label == "Start").click().run()
    assert any("has no [am] token" in e.value for e in at.error), [e.value for e in at.error]
    assert not (ws.runs_dir.exists() and any(ws.runs_dir.iterdir()))
    next(b for b in at.button if b.label == "Extend the vocabulary from the training data").click().run()
    assert not at.exception, at.exception
    vocab = at.session_state["cfg_vocab_path"]
    assert vocab.startswith(str(ws.root / "vocabularies" / "am-")) and vocab.endswith(".json")
    assert any("Extended vocabulary written to" in s.value for s in at.success)
    coverage = at.dataframe[0].value
    assert list(coverage["[am] token"]) == ["missing", "present"]
    assert coverage["Characters encoded"].iloc[-1] == "100.0%"


def test_an_invalid_language_code_is_named(page, demo_workspace):
    at = page("pages/train.py")
    at.session_state["cfg_language"] = "xx1"
    at.run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert any("Language (language)" in e.value and "ISO 639" in e.value for e in at.error), [e.value for e in at.error]
