
import pytest

from core.base.config import RunConfig
from core.base.errors import ConfigInvalid
from core.runs.launcher import start_run
from core.trainer.preflight import preflight
from core.trainer.demo import demo_config


def errors_of(config, **kwargs):
    with pytest.raises(ConfigInvalid) as info:
        preflight(config, **kwargs)
    return {e.field: e.message for e in info.value.errors}


@pytest.fixture
def config(workspace, demo_workspace) -> RunConfig:
    return demo_config(workspace, demo_workspace[1])


def test_demo_config_passes(config):
    checked = preflight(config)
    assert checked.base.is_demo and len(checked.train.clips) == 120
    assert checked.steps_per_epoch == 60 and checked.total_steps == 240


def test_missing_base_files_are_named(tmp_path, config):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    errors = errors_of(config.with_changes(base_model_dir=str(base)))
    for name in ("model.pth", "vocab.json", "dvae.pth", "mel_stats.pth"):
        assert name in errors["base_model_dir"]
    assert "config.json" not in errors["base_model_dir"].split("missing")[1]


def test_csv_without_coqui_columns(tmp_path, config):
    csv = tmp_path / "meta.csv"
    csv.write_text("path,transcript\nwavs/a.wav,hello\n")
    errors = errors_of(config.with_changes(train_csv=str(csv)))
    assert "audio_file|text|speaker_name" in errors["train_csv"]


def test_listed_audio_missing(tmp_path, config):
    csv = tmp_path / "meta.csv"
    csv.write_text("audio_file|text|speaker_name\nwavs/gone.wav|hello|me\n")
    errors = errors_of(config.with_changes(eval_csv=str(csv)))
    assert "missing" in errors["eval_csv"] and "wavs/gone.wav" in errors["eval_csv"]


def test_folder_where_a_file_is_expected(tmp_path, config):
    errors = errors_of(config.with_changes(train_csv=str(tmp_path), custom_model_path=str(tmp_path)))
    assert "folder" in errors["train_csv"]
    assert "custom_model_path" in errors


def test_pth_that_is_not_a_checkpoint(tmp_path, config):
    fake = tmp_path / "model.pth"
    fake.write_bytes(b"not a checkpoint")
    assert "not a complete PyTorch checkpoint" in errors_of(config.with_changes(custom_model_path=str(fake)))["custom_model_path"]


def test_output_path_that_is_a_file(tmp_path, config):
    target = tmp_path / "file"
    target.write_text("x")
    assert "is a file" in errors_of(config.with_changes(output_path=str(target)))["output_path"]


def test_invalid_launch_writes_nothing(workspace, config, tmp_path):
    output = tmp_path / "out"
    bad = config.with_changes(train_csv=str(tmp_path / "nope.csv"), output_path=str(output))
    with pytest.raises(ConfigInvalid):
        start_run(workspace, bad)
    assert not output.exists()
    assert list(workspace.runs_dir.iterdir()) == []


def test_warns_when_save_step_is_never_reached(config):
    checked = preflight(config.with_changes(save_step=1000))
    assert any("never reaches save_step=1000" in w for w in checked.warnings)


def test_mixed_precision_without_gpu_is_adjusted_and_said(config):
    checked = preflight(config.with_changes(mixed_precision=True))
    assert checked.config.mixed_precision is False
    assert any("mixed_precision" in a for a in checked.adjustments)


def test_continue_needs_an_intact_checkpoint(tmp_path, config):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "checkpoint_100.pth").write_bytes(b"PK\x03\x04truncated")
    assert "no intact checkpoint" in errors_of(config, mode="continue", resume_from=str(folder))["resume_from"]
