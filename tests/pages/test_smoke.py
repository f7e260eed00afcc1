"""Every page opens on a fresh workspace (the demo, no runs yet) and shows what a new user needs there."""
import shutil

import pytest

EMPTY_WORKSPACE_TEXT = {
    "pages/monitor.py": "No runs yet: start one on the Train page.",
    "pages/checkpoints.py": "No checkpoints yet: start a run on the Train page.",
    "pages/runs.py": "No runs yet: start one on the Train page.",
}


@pytest.fixture
def fresh_root(tmp_path, demo_workspace):
    ws, _demo = demo_workspace
    shutil.copytree(ws.demo_dir, tmp_path / "ws" / "demo")
    return tmp_path / "ws"


def texts(at) -> str:
    return " ".join(e.value for group in (at.info, at.success, at.warning, at.error, at.caption, at.markdown)
                    for e in group)


@pytest.mark.parametrize("name", ["pages/train.py", "pages/monitor.py", "pages/disk.py", "pages/checkpoints.py",
                                  "pages/runs.py"])
def test_page_renders_what_a_new_user_needs(page, fresh_root, name):
    at = page(name, root=fresh_root).run()
    assert not at.exception, at.exception
    title = {"pages/train.py": "Train", "pages/monitor.py": "Monitor", "pages/disk.py": "Disk",
             "pages/checkpoints.py": "Checkpoints", "pages/runs.py": "Runs"}[name]
    assert [t.value for t in at.title] == [title]
    if name in EMPTY_WORKSPACE_TEXT:
        assert EMPTY_WORKSPACE_TEXT[name] in texts(at)
    if name == "pages/train.py":
        # The demo configuration is filled in, and Start is there.
        assert at.number_input(key="cfg_save_step").value == 100
        assert any(b.label == "Start" for b in at.button)
        assert "Disk forecast: peak" in texts(at)
        assert "no run with an intact checkpoint yet" in texts(at)
    if name == "pages/disk.py":
        assert any(m.label == "Peak" for m in at.metric)
        assert "No runs yet: start one on the Train page" in texts(at)
