"""The Monitor page on the finished shared demo run: curves from its event file and its events list."""
from tests.pages.monitor_view import event_rows, log_text, metrics, progress_text, svg_of


def test_monitor_shows_curves_events_and_progress(demo_run, page):
    at = page("pages/monitor.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    assert not at.exception, at.exception
    charts = [svg_of(image) for image in at.get("image")]
    assert len(charts) >= 3  # train loss, eval loss, learning rate (+ grad norm)
    assert charts[0].startswith("<svg") and ">Train loss</text>" in charts[0] and "<polyline" in charts[0]
    assert 'stroke="grey" stroke-dasharray' in charts[0]  # the checkpoint saved at step 100 and 200
    assert not at.get("plotly_chart")  # plotly's front end only when asked for
    assert not at.dataframe and not at.code  # their scripts are 1.7 and 1.6 MB for a new browser session
    events = [row[1] for row in event_rows(at)]
    assert "Checkpoint saved at step 200" in events, events
    assert any(event.startswith("Best model updated at step 240 (loss: ") for event in events), events
    assert progress_text(at).startswith("step 240 / 240 · epoch ")
    shown = metrics(at)
    assert shown["device"] == "CPU" and shown["ETA"] == "-" and shown["GPU"] == "no GPU", shown
    assert float(shown["steps / s"]) > 0 and shown["CPU"].endswith("%")
    log = log_text(at)
    assert "\\> CHECKPOINT" not in log and "> CHECKPOINT" in log and "\x1b[" not in log and "&gt;" not in log


def test_interactive_charts_switch_to_plotly(demo_run, page):
    at = page("pages/monitor.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    at.toggle(key="mon_interactive").set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 3 and not at.get("image")


def test_monitor_filters_the_log_to_checkpoint_events(demo_run, page):
    at = page("pages/monitor.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    at.radio(key="mon_log_filter").set_value("checkpoint events").run()
    lines = log_text(at).splitlines()
    assert lines and all("CHECKPOINT" in l or "BEST MODEL" in l for l in lines)


def test_monitor_without_runs(page, tmp_path):
    at = page("pages/monitor.py", root=tmp_path / "empty").run()
    assert not at.exception and "No runs yet" in at.info[0].value
