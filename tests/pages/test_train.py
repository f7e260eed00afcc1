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
    at.text_input(key="cfg_train_csv").input(str(tmp_path / "missing.csv")).run()
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
