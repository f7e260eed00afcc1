"""Safe defaults: localhost only, no shell, UI file operations inside the workspace roots."""
import re
import tomllib
from pathlib import Path

from core.base.path_guard import is_inside_roots, outside_roots_errors
from core.base.workspace import Workspace

PROJECT = Path(__file__).resolve().parents[2]


def test_streamlit_binds_to_localhost_by_default():
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    run_recipe = (PROJECT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "--server.address 127.0.0.1" in run_recipe


def test_remote_access_needs_a_password():
    remote = (PROJECT / "Makefile").read_text().split("\nrun-remote:")[1].split("\n\n")[0]
    assert "XTTS_DASHBOARD_PASSWORD" in remote and "exit 2" in remote


def test_no_shell_anywhere_and_subprocess_arguments_are_lists():
    sources = [*PROJECT.glob("core/*.py"), *PROJECT.glob("pages/*.py"), PROJECT / "streamlit_app.py"]
    for path in sources:
        text = path.read_text()
        assert "shell=True" not in text, path
        assert "os.system(" not in text, path
        for call in re.findall(r"subprocess\.(?:Popen|run|call|check_output)\(\s*([^,\n]+)", text):
            assert call.strip().startswith(("[", "command", "cmd")), (path, call)


def test_paths_inside_and_outside_the_roots(tmp_path):
    ws = Workspace.at(tmp_path / "ws", extra_roots=(tmp_path / "data",))
    (tmp_path / "data").mkdir()
    assert is_inside_roots(ws, ws.root / "outputs" / "x")
    assert is_inside_roots(ws, tmp_path / "data" / "meta.csv")
    assert not is_inside_roots(ws, ws.root / ".." / "elsewhere")
    assert not is_inside_roots(ws, "/etc/passwd")
    escape = ws.root / "escape"
    escape.symlink_to("/etc")
    assert not is_inside_roots(ws, escape / "passwd"), "a symlink out of the workspace is outside"
    errors = outside_roots_errors(ws, [("output_path", "/tmp/other"), ("vocab_path", "")])
    assert [e.field for e in errors] == ["output_path"] and "XTTS_EXTRA_ROOTS" in errors[0].message
