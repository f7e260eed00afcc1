"""RunStatus parsed once at the edge: defaults for anything missing or malformed, old names, ETA and progress."""
from __future__ import annotations

import json
import math
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.base.atomic_io import read_json, write_json_atomic
from core.registry.records import read_status, run_files
from core.registry.status import ReadyExport, RunStatus, SavedModel

DEFAULTS = RunStatus()
NUMBER_FIELDS = ("started_at_s", "updated_at_s", "s_per_step", "train_loss", "train_loss_text_ce",
                 "train_loss_mel_ce", "eval_loss")
COUNT_FIELDS = ("step", "epoch", "world_size", "total_epochs", "steps_per_epoch", "total_steps")


@pytest.mark.parametrize("data", [None, [], [1, 2], "status", 42, 1.5, True])
def test_not_a_dict_reads_as_defaults(data):
    assert RunStatus.from_json(data) == DEFAULTS


def test_missing_or_broken_file_reads_as_defaults(workspace):
    assert read_status(workspace, "no-such-run") == DEFAULTS
    files = run_files(workspace, "r1")
    files.folder.mkdir(parents=True)
    files.status.write_text('{"phase": "train')  # cut off
    assert read_status(workspace, "r1") == DEFAULTS


def test_defaults():
    assert (DEFAULTS.phase, DEFAULTS.step, DEFAULTS.epoch, DEFAULTS.world_size) == ("unknown", 0, 0, 1)
    assert DEFAULTS.total_steps is None and DEFAULTS.run_folder is None
    assert (DEFAULTS.eta_s, DEFAULTS.progress_fraction, DEFAULTS.steps_left) == (None, None, None)


def test_old_key_names_read_into_the_new_fields():
    old = {"phase": "training", "started_at": 100.0, "updated_at": 160, "sec_per_step": 0.5, "step": 20,
           "total_steps": 240}
    status = RunStatus.from_json(old)
    assert (status.started_at_s, status.updated_at_s, status.s_per_step) == (100.0, 160.0, 0.5)
    assert isinstance(status.updated_at_s, float)
    assert status.eta_s == pytest.approx(110.0)


@pytest.mark.parametrize("name", NUMBER_FIELDS)
@pytest.mark.parametrize("bad", ["1.5", "fast", True, False, float("nan"), float("inf"), float("-inf"), [1.0], {"v": 1}])
def test_wrong_types_for_numbers_read_as_defaults(name, bad):
    assert getattr(RunStatus.from_json({name: bad}), name) == getattr(DEFAULTS, name)


@pytest.mark.parametrize("name", COUNT_FIELDS)
@pytest.mark.parametrize("bad", ["12", True, False, 12.0, 12.5, float("nan"), None, [12]])
def test_wrong_types_for_counts_read_as_defaults(name, bad):
    assert getattr(RunStatus.from_json({name: bad}), name) == getattr(DEFAULTS, name)


def test_null_clears_an_optional_field_but_not_a_required_count():
    status = RunStatus.from_json({"total_steps": None, "s_per_step": None, "step": None, "world_size": None})
    assert (status.total_steps, status.s_per_step, status.step, status.world_size) == (None, None, 0, 1)


def test_wrong_types_for_text_and_lists_read_as_defaults():
    status = RunStatus.from_json({"phase": 3, "trainer_run_folder": None, "device": ["cpu"], "backend": {},
                                  "adjustments": "one", "warnings": 5, "trainer_settings": [1, 2]})
    assert status == DEFAULTS


def test_unknown_keys_are_ignored():
    status = RunStatus.from_json({"phase": "training", "step": 3, "from_the_future": {"x": 1}, "": 0, "7": None})
    assert status == DEFAULTS.with_changes(phase="training", step=3)


def test_nested_records_parse():
    status = RunStatus.from_json({
        "last_checkpoint": {"step": 200, "path": "/o/checkpoint_200.pth"},
        "best_model": {"step": 240, "path": "/o/best_model.pth", "loss": 0.75, "extra": "ignored"},
        "ready": {"folder": "/o/ready", "source": "/o/best_model.pth"},
        "adjustments": ["a", 2], "trainer_settings": {"grad_accum_steps": 2},
    })
    assert status.last_checkpoint == SavedModel(200, "/o/checkpoint_200.pth", None)
    assert status.best_model == SavedModel(240, "/o/best_model.pth", 0.75)
    assert status.ready == ReadyExport("/o/ready", "/o/best_model.pth")
    assert status.adjustments == ("a", "2")
    assert status.trainer_settings == {"grad_accum_steps": 2}


@pytest.mark.parametrize("bad", [
    {"path": "/o/c.pth"},                  # no step
    {"step": "200", "path": "/o/c.pth"},   # step as text
    {"step": True, "path": "/o/c.pth"},
    {"step": 200},                         # no path
    {"step": 200, "path": 7},
    "checkpoint_200.pth", [200, "/o/c.pth"],
])
def test_malformed_saved_model_reads_as_none(bad):
    status = RunStatus.from_json({"last_checkpoint": bad, "best_model": bad})
    assert status.last_checkpoint is None and status.best_model is None


def test_saved_model_with_a_broken_loss_keeps_step_and_path():
    status = RunStatus.from_json({"best_model": {"step": 5, "path": "p", "loss": "low"}})
    assert status.best_model == SavedModel(5, "p", None)
    status = RunStatus.from_json({"best_model": {"step": 5, "path": "p", "loss": float("nan")}})
    assert status.best_model == SavedModel(5, "p", None)


def test_ready_without_a_folder_reads_as_none_and_a_missing_source_as_empty():
    assert RunStatus.from_json({"ready": {"source": "x"}}).ready is None
    assert RunStatus.from_json({"ready": {"folder": "/o/ready"}}).ready == ReadyExport("/o/ready", "")


def full_status() -> RunStatus:
    return RunStatus(
        phase="training", started_at_s=1000.0, updated_at_s=1060.5, step=120, epoch=2, total_epochs=4,
        steps_per_epoch=60, total_steps=240, s_per_step=0.25, train_loss=1.5, train_loss_text_ce=0.1,
        train_loss_mel_ce=1.4, eval_loss=1.6, trainer_run_folder="/o/run/training/GPT-x", device="CPU",
        world_size=2, backend="gloo", last_checkpoint=SavedModel(100, "/o/checkpoint_100.pth"),
        best_model=SavedModel(60, "/o/best_model.pth", 1.7), ready=ReadyExport("/o/ready", "/o/best_model.pth"),
        adjustments=("batch size lowered",), warnings=("w1", "w2"),
        trainer_settings={"grad_accum_steps": 2, "continue_run": False})


def test_round_trip_through_a_real_file(tmp_path):
    status = full_status()
    path = tmp_path / "status.json"
    write_json_atomic(path, status.to_json())
    assert RunStatus.from_json(read_json(path)) == status
    assert RunStatus.from_json(json.loads(json.dumps(DEFAULTS.to_json()))) == DEFAULTS


def test_to_json_writes_the_new_names():
    data = full_status().to_json()
    assert {"started_at_s", "updated_at_s", "s_per_step"} <= set(data)
    assert not {"started_at", "updated_at", "sec_per_step"} & set(data)


@pytest.mark.parametrize("step, total, s_per_step, eta", [
    (0, 240, 0.5, 120.0),
    (100, 240, 0.5, 70.0),
    (240, 240, 0.5, 0.0),
    (300, 240, 0.5, 0.0),      # a continue ran past the plan: nothing left, never negative
    (100, 240, None, None),    # speed not measured yet
    (100, None, 0.5, None),    # plan unknown
    (100, 0, 0.5, None),
])
def test_eta(step, total, s_per_step, eta):
    status = RunStatus(step=step, total_steps=total, s_per_step=s_per_step)
    assert status.eta_s == (pytest.approx(eta) if eta is not None else None)


@pytest.mark.parametrize("step, total, fraction", [
    (0, 240, 0.0), (60, 240, 0.25), (240, 240, 1.0), (300, 240, 1.0), (5, None, None), (5, 0, None),
])
def test_progress_fraction_is_capped_at_one(step, total, fraction):
    assert RunStatus(step=step, total_steps=total).progress_fraction == fraction


def test_huge_integer_for_a_number_reads_as_default():
    data = json.loads('{"s_per_step": 1' + "0" * 400 + "}")
    assert RunStatus.from_json(data).s_per_step is None


def test_huge_step_does_not_break_progress_fraction():
    status = RunStatus.from_json(json.loads('{"step": 1' + "0" * 400 + ', "total_steps": 240}'))
    assert status.step == 0 and status.progress_fraction == 0.0  # an impossible step reads as its default


KEYS = [f.name for f in fields(RunStatus)] + ["started_at", "updated_at", "sec_per_step"]
SCALARS = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
JSON_LIKE = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.sampled_from(["step", "path", "loss", "folder", "source"]) | st.text(max_size=4),
                                           inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), JSON_LIKE, max_size=12))
def test_from_json_never_raises_and_always_gives_well_typed_fields(data):
    status = RunStatus.from_json(data)
    assert isinstance(status.phase, str) and isinstance(status.trainer_run_folder, str)
    for name in ("step", "epoch", "world_size"):
        value = getattr(status, name)
        assert isinstance(value, int) and not isinstance(value, bool)
    for name in ("total_epochs", "steps_per_epoch", "total_steps"):
        value = getattr(status, name)
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
    for name in NUMBER_FIELDS:
        value = getattr(status, name)
        assert value is None or (isinstance(value, float) and math.isfinite(value))
    assert all(isinstance(a, str) for a in status.adjustments + status.warnings)
    for saved in (status.last_checkpoint, status.best_model):
        assert saved is None or (isinstance(saved.step, int) and isinstance(saved.path, str))
    assert status.ready is None or isinstance(status.ready.folder, str)
    # What the pages compute from it never raises either.
    fraction = status.progress_fraction
    assert fraction is None or 0.0 <= fraction <= 1.0
    eta = status.eta_s
    assert eta is None or isinstance(eta, float)
    status.to_json()
