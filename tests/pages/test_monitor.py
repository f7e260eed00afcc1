"""The Monitor page on the finished shared demo run: curves from its event file and its events list."""


def test_monitor_shows_curves_events_and_progress(demo_run, page):
    at = page("pages/monitor.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # train loss, eval loss, learning rate (+ grad norm)
    events = at.dataframe[0].value
    assert "Checkpoint saved at step 200" in set(events["event"])
    assert any(e.startswith("Best model updated at step 240") for e in events["event"])
    assert "step 240 / 240" in at.get("progress")[0].proto.text
    log = at.code[0].value
    assert "> CHECKPOINT" in log and "\x1b[" not in log


def test_monitor_filters_the_log_to_checkpoint_events(demo_run, page):
    at = page("pages/monitor.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    at.radio(key="mon_log_filter").set_value("checkpoint events").run()
    lines = at.code[0].value.splitlines()
    assert lines and all("CHECKPOINT" in l or "BEST MODEL" in l for l in lines)


def test_monitor_without_runs(page, tmp_path):
    at = page("pages/monitor.py", root=tmp_path / "empty").run()
    assert not at.exception and "No runs yet" in at.info[0].value
