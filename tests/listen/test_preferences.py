"""Blind-test preferences: recorded per run in one workspace file, tallied per checkpoint."""
from __future__ import annotations

import json

from core.listen.preferences import preferences_file, record_preference, tally
from core.base.workspace import Workspace


def test_preferences_are_tallied_per_run_and_survive_a_reread(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    assert tally(ws, "run-a") == {}
    record_preference(ws, "run-a", "/m/200.pth", "/m/100.pth", now_s=1.0)
    record_preference(ws, "run-a", "/m/200.pth", "/m/300.pth", now_s=2.0)
    record_preference(ws, "run-b", "/n/1.pth", "/n/2.pth")
    assert tally(ws, "run-a") == {"/m/200.pth": 2, "/m/100.pth": 0, "/m/300.pth": 0}
    assert tally(ws, "run-b") == {"/n/1.pth": 1, "/n/2.pth": 0}
    saved = json.loads(preferences_file(ws).read_text())
    assert saved["run-a"][0] == {"winner": "/m/200.pth", "loser": "/m/100.pth", "at_s": 1.0}


def test_a_damaged_preferences_file_reads_as_no_preferences_and_is_rewritten(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    preferences_file(ws).write_text('{"run-a": [{"winner": 3}], "run-b": "x"')  # cut off
    assert tally(ws, "run-a") == {}
    preferences_file(ws).write_text('{"run-a": [{"winner": 3}, {"winner": "/a", "loser": "/b"}], "run-b": "x"}')
    assert tally(ws, "run-a") == {"/a": 1, "/b": 0} and tally(ws, "run-b") == {}
    record_preference(ws, "run-a", "/b", "/a")
    assert tally(ws, "run-a") == {"/a": 1, "/b": 1}
