import pytest

from core.workspace import Workspace


def test_train_page_renders_the_demo_form(page):
    at = page("pages/train.py").run()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert "Start" in labels
    assert at.number_input(key="cfg_save_step").value == 100
    assert any("produces noise" in i.value for i in at.info)


def test_preset_sets_save_settings(page):
    at = page("pages/train.py").run()
    at.selectbox(key="cfg_preset").select("Production").run()
    assert at.number_input(key="cfg_save_step").value == 500
    assert at.number_input(key="cfg_save_n_checkpoints").value == 10


def test_invalid_input_names_the_field_and_launches_nothing(page, tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    at = page("pages/train.py", root=ws.root).run()
    at.text_input(key="cfg_train_csv").input(str(ws.root / "missing.csv")).run()
    at.button(key=None) if False else None
    next(b for b in at.button if b.label == "Start").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "train_csv" in errors and "does not exist" in errors and "Nothing was launched" in errors
    assert list(ws.runs_dir.iterdir()) == []
    assert not at.exception


def test_router_renders(page):
    at = page("streamlit_app.py").run()
    assert not at.exception


def test_train_page_shows_the_disk_forecast(page):
    at = page("pages/train.py").run()
    texts = [e.value for e in (*at.success, *at.warning, *at.error)]
    assert any(t.startswith("Disk forecast: peak") for t in texts), texts


def test_cpu_ranks_reach_the_disk_forecast(page):
    from core.devices import list_gpus

    if list_gpus():
        pytest.skip("with GPUs the page offers a GPU multiselect instead")
    at = page("pages/train.py").run()
    forecast = lambda: next(t for t in (e.value for e in (*at.success, *at.warning, *at.error))  # noqa: E731
                            if t.startswith("Disk forecast"))
    one_rank = forecast()
    at.number_input(key="cfg_cpu_ranks").set_value(2).run()
    assert not at.exception
    assert forecast() != one_rank  # half the steps per epoch on each of 2 ranks


def test_paths_outside_the_workspace_roots_are_refused(page, tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    at = page("pages/train.py", root=ws.root).run()
    at.text_input(key="cfg_output_path").input(str(tmp_path / "elsewhere")).run()
    next(b for b in at.button if b.label == "Start").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "output_path" in errors and "outside the workspace roots" in errors
    assert list(ws.runs_dir.iterdir()) == [] and not (tmp_path / "elsewhere").exists()


def test_password_gate_when_remote_access_is_enabled(page, monkeypatch):
    monkeypatch.setenv("XTTS_DASHBOARD_PASSWORD", "s3cret")
    at = page("streamlit_app.py").run()
    assert [t.label for t in at.text_input] == ["Password"] and not at.button
    at.text_input[0].input("wrong").run()
    assert "Wrong password." in [e.value for e in at.error]
    at.text_input[0].input("s3cret").run()
    assert at.session_state["auth_ok"] and not at.error
