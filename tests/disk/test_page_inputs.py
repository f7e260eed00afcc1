"""Disk plans for the Disk page's form, the guide's presets and a launched run's record."""
from __future__ import annotations

from dataclasses import replace

import pytest

from core.base.atomic_io import write_json_atomic
from core.base.config import PRESETS
from core.disk.page_inputs import XTTS_V2_ARCHITECTURE, PlanInputs, plan_page_inputs, plan_recorded_run, preset_plans
from core.base.errors import ConfigInvalid
from core.registry.records import run_dir
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.disk.test_tracking import fake_run


def demo_inputs(ws, demo, **changes) -> PlanInputs:
    config = demo_config(ws, demo)
    inputs = PlanInputs(config.save_step, config.save_n_checkpoints, config.epochs, config.batch_size,
                        config.train_csv, config.output_path, config.base_model_dir)
    return replace(inputs, **changes)


def test_plan_inputs_names_every_bad_field(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    bad = demo_inputs(ws, demo, train_csv=str(tmp_path / "missing.csv"), base=str(tmp_path / "nothing"),
                      milestone_every_steps=150)
    with pytest.raises(ConfigInvalid) as exc:
        plan_page_inputs(ws, bad)
    fields = {e.field for e in exc.value.errors}
    assert fields == {"train_csv", "base_model_dir", "milestone_every_steps"}


def test_plan_inputs_demo_and_presets(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    inputs = demo_inputs(ws, demo, output_path=str(tmp_path / "out"))
    plan = plan_page_inputs(ws, inputs)
    assert plan.total_steps == 240 and plan.peak_bytes >= plan.final_bytes - plan.ready_bytes
    presets = preset_plans(ws, inputs)
    assert [p.name for p, _ in presets] == [p.name for p in PRESETS]
    assert all(plan.total_steps == 240 for _, plan in presets)


def test_plan_inputs_xtts_v2_architecture_without_files(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    plan = plan_page_inputs(ws, demo_inputs(ws, demo, base=XTTS_V2_ARCHITECTURE, output_path=str(tmp_path / "out")))
    assert plan.checkpoint_source == "architecture" and plan.checkpoint_bytes > 1e9
    assert plan.base_model_bytes > 1e9  # the published files, still to download


def test_plan_recorded_run_replans_from_the_record(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    run_ws = Workspace.at(tmp_path / "ws")
    config = demo_config(ws, demo).with_changes(output_path=str(tmp_path / "out"))
    run_id = fake_run(run_ws, tmp_path / "out", None, config=config.to_dict())
    plan = plan_recorded_run(run_ws, run_id)
    assert plan.total_steps == 240 and plan.timeline[-1].step == 240

    write_json_atomic(run_dir(run_ws, run_id) / "record.json", config.to_dict())  # not a run record
    with pytest.raises(ConfigInvalid):
        plan_recorded_run(run_ws, run_id)
