"""The Disk page with AppTest: plan, verdict, presets, field errors, and a selected run's measured bytes."""
from __future__ import annotations

import json
import os

from core.base.atomic_io import write_json_atomic
from core.base.config import PRESETS
from core.disk.tracking import read_samples, sample_run_disk, samples_path
from core.registry.process_identity import identify
from core.registry.records import RunRecord, save_record, status_path
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from pages.common import human_bytes

VERDICT_WORDS = ("Fits with margin", "Tight", "Does not fit")


def alerts(at) -> str:
    return " ".join(e.value for group in (at.success, at.warning, at.error, at.info) for e in group)


def presets_table(at):
    return next(df.value for df in at.dataframe if "configuration" in df.value.columns)


def test_renders_the_plan_verdict_and_the_presets_table(page):
    at = page("pages/disk.py").run()
    assert not at.exception, at.exception
    assert any(word in alerts(at) for word in VERDICT_WORDS)
    assert at.number_input(key="disk_save_step").value == 100
    labels = [m.label for m in at.metric]
    assert {"Checkpoint", "Best-model copy", "Peak", "At the end", "Needed free (total)"} <= set(labels)
    table = presets_table(at)
    assert list(table["configuration"]) == ["Your settings", *(p.name for p in PRESETS)]
    assert "~3-6 GB" in list(table["guide claims"])
    assert all(table["peak"].str.endswith("B"))
    assert len(at.get("plotly_chart")) >= 1


def test_xtts_v2_architecture_plans_without_the_files(page):
    at = page("pages/disk.py").run()
    at.radio(key="disk_base_choice").set_value("XTTS v2 architecture").run()
    assert not at.exception, at.exception
    checkpoint = next(m for m in at.metric if m.label == "Checkpoint")
    assert checkpoint.value.endswith("GB")
    assert any(word in alerts(at) for word in VERDICT_WORDS)


def test_bad_csv_names_the_field_without_a_traceback(page, tmp_path):
    at = page("pages/disk.py").run()
    at.text_input(key="disk_train_csv").input(str(tmp_path / "missing.csv")).run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "train_csv" in errors and "does not exist" in errors
    assert not any("configuration" in df.value.columns for df in at.dataframe)


def test_selected_finished_run_shows_measured_bytes_without_recording(page, demo_run):
    history = samples_path(demo_run.ws, demo_run.record.run_id)
    before = history.read_bytes() if history.exists() else b""
    at = page("pages/disk.py", root=demo_run.ws.root)
    at.session_state["selected_run_id"] = demo_run.record.run_id
    at.run()
    assert not at.exception, at.exception
    measured = next(m for m in at.metric if m.label == "Measured now")
    expected = sample_run_disk(demo_run.ws, demo_run.record.run_id).bytes_on_disk
    assert expected > 0 and measured.value == human_bytes(expected)
    assert any(m.label == "Forecast peak" for m in at.metric)
    assert any("not live: no refresh" in c.value for c in at.caption)
    (run_chart,) = at.get("image")  # the run's chart is an SVG; only the plan's (above) is plotly
    assert run_chart.proto.imgs[0].url.startswith("data:image/svg+xml;base64,")
    after = history.read_bytes() if history.exists() else b""
    assert after == before  # viewing a finished run writes nothing


def test_live_run_is_measured_but_only_the_training_process_writes_history(page, demo_workspace, tmp_path):
    ws0, demo = demo_workspace
    ws = Workspace.at(tmp_path / "ws")
    output = tmp_path / "out"
    folder = output / "run" / "training" / "GPT-live"
    folder.mkdir(parents=True)
    (folder / "checkpoint_100.pth").write_bytes(b"x" * 12_345)
    me = identify(os.getpid())  # this test process stands in for a live trainer
    config = demo_config(ws0, demo).with_changes(output_path=str(output))
    run_id = "20260101-000000-live00"
    save_record(ws, RunRecord(run_id=run_id, output_path=str(output), config=config.to_dict(), command=[],
                              pid=me.pid, process_start_time=me.start_time, started_at=me.start_time))
    write_json_atomic(status_path(ws, run_id), {"step": 100, "total_steps": 240, "trainer_run_folder": str(folder)})
    at = page("pages/disk.py", root=ws.root)
    at.session_state["selected_run_id"] = run_id
    at.run()
    assert not at.exception, at.exception
    assert next(m for m in at.metric if m.label == "Measured now").value == human_bytes(12_345)
    # The page is a reader: the history is the training process's (core.runs.status_reporter).
    assert read_samples(samples_path(ws, run_id)) == []
    assert not samples_path(ws, run_id).exists()


def test_the_chart_draws_disk_use_as_steps_not_slopes(page):
    """Files appear at saves: between two points the bytes hold, then jump."""
    at = page("pages/disk.py").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    forecast = next(trace for trace in spec["data"] if trace.get("name") == "forecast")
    assert forecast["line"]["shape"] == "hv"


def test_a_runs_chart_is_an_svg_of_forecast_and_measured_steps():
    """The live panel's chart (redrawn every few seconds) is an SVG: forecast and measured as steps, the peak."""
    import xml.etree.ElementTree as ET

    from core.disk.tracking import DiskSample
    from pages.disk_charts import run_timeline_svg

    class Point:  # the timeline fields run_timeline_svg reads (a real plan is drawn in the test above)
        def __init__(self, step, size):
            self.step, self.bytes_on_disk, self.event = step, size, ""

    class Plan:
        timeline = [Point(0, 0), Point(100, 2e9), Point(200, 4e9), Point(240, 3e9)]
        peak_step, peak_bytes = 200, 4e9

    plan = Plan()
    measured = [DiskSample(time_s=1.0, step=50, bytes_on_disk=int(1e9), trainer_bytes=int(1e9), ready_bytes=0, files=1),
                DiskSample(time_s=2.0, step=150, bytes_on_disk=int(2.1e9), trainer_bytes=int(2.1e9), ready_bytes=0,
                           files=2)]
    svg = run_timeline_svg(plan, measured, free_bytes=int(10e9))
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"forecast", "measured"} <= set(texts) and any(t.startswith("free space") for t in texts)
    assert any(t.startswith("peak ") and "(step 200)" in t for t in texts)
    assert any(t.endswith("GB") for t in texts)  # y labels in bytes
    forecast = [tuple(map(float, p.split(","))) for p in next(root.iter(f"{ns}polyline")).get("points").split()]
    assert len(forecast) == 7  # 4 points as steps: each value holds until the next step, then jumps
    assert forecast[1][0] == forecast[2][0] and forecast[0][1] == forecast[1][1]
    far = run_timeline_svg(plan, [], free_bytes=int(100e9))
    assert "far above" in far
