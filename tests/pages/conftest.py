from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page(demo_workspace):
    """An AppTest for one page file, already pointed at the session's demo workspace."""
    ws, _demo = demo_workspace

    def make(name: str, root: Path | None = None) -> AppTest:
        at = AppTest.from_file(str(PROJECT / name), default_timeout=120)
        at.session_state["workspace_root"] = str(root or ws.root)
        return at

    return make
