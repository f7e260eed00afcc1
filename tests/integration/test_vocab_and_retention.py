"""Extended vocabularies and retention policies, each proven with a real trainer run."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.checkpoints.files import read_checkpoint_info
from core.runs.launcher import start_run, wait_until_ended
from core.registry.state import RunPhase, read_run_state
from core.trainer.start_weights import load_resized, tokenizer_size
from core.trainer.demo import demo_config
from core.base.workspace import Workspace

EXTRA_TOKENS = ["ሀ", "ሁ", "ሂ", "ሃ", "ሄ"]


def extended_vocab(base_vocab: Path, target: Path) -> Path:
    data = json.loads(base_vocab.read_text())
    vocab = data["model"]["vocab"]
    for token in EXTRA_TOKENS:
        vocab[token] = len(vocab)
    target.write_text(json.dumps(data))
    return target


@pytest.fixture(scope="module")
def extended_run(demo_run, tmp_path_factory):
    """Fine-tune the demo's checkpoint (37 text tokens) with a vocab.json of 42 tokens."""
    ws = Workspace.at(tmp_path_factory.mktemp("vocabws"))
    vocab = extended_vocab(demo_run.demo.base_dir / "vocab.json", ws.root / "vocab_extended.json")
    start = demo_run.run_folder / "checkpoint_200.pth"
    config = demo_config(ws, demo_run.demo).with_changes(epochs=1, custom_model_path=str(start), vocab_path=str(vocab))
    record = start_run(ws, config)
    phase = wait_until_ended(ws, record.run_id, 300)
    return ws, config, record, phase


def test_a_checkpoint_with_a_smaller_vocabulary_is_grown_and_trains(extended_run):
    ws, config, record, phase = extended_run
    state = read_run_state(ws, record.run_id)
    assert phase is RunPhase.FINISHED, state.last_lines
    assert any("grown from 37 to 42" in note for note in state.status.adjustments)
    folder = Path(state.status.trainer_run_folder)
    assert read_checkpoint_info(folder / "best_model.pth").text_vocab_size == 42
    written = json.loads((folder / "config.json").read_text())["model_args"]
    assert written["xtts_checkpoint"] == config.custom_model_path and written["tokenizer_file"] == config.vocab_path


def test_a_checkpoint_with_a_larger_vocabulary_loads_after_resize(extended_run, demo_run):
    ws, _config, record, _phase = extended_run
    bigger = Path(read_run_state(ws, record.run_id).status.trainer_run_folder) / "best_model.pth"
    from core.trainer.base_model import resolve_base_model
    from core.trainer.gpt_config import build_gpt_trainer_config
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    base = resolve_base_model(demo_run.demo.base_dir)
    model = GPTTrainer.init_from_config(build_gpt_trainer_config(demo_run.config, base, "t"))
    assert tokenizer_size(base.vocab_json) == 37
    report = load_resized(model, bigger)
    assert "shrunk from 42 to 37" in report
    assert model.xtts.gpt.text_embedding.weight.shape[0] == 37


def test_retention_keeps_milestones_and_best_k_during_a_real_run(demo_run, tmp_path):
    ws = Workspace.at(tmp_path / "retws")
    config = demo_config(ws, demo_run.demo).with_changes(save_step=100, save_n_checkpoints=1, keep_best_k=2,
                                                         milestone_every_steps=100)
    record = start_run(ws, config)
    seen_kept: set[str] = set()
    while read_run_state(ws, record.run_id).phase.is_live:
        folder = read_run_state(ws, record.run_id).status.trainer_run_folder
        if folder and (Path(folder) / "kept").is_dir():
            names = {p.name for p in (Path(folder) / "kept").glob("*.pth")}
            assert len([n for n in names if n.startswith("best_model_")]) <= 2
            seen_kept |= names
        time.sleep(0.05)
    state = read_run_state(ws, record.run_id)
    assert state.phase is RunPhase.FINISHED, state.last_lines
    folder = Path(state.status.trainer_run_folder)
    # The trainer itself kept only checkpoint_200 (N=1); kept/ holds the milestones it pruned.
    assert sorted(p.name for p in folder.glob("checkpoint_*.pth")) == ["checkpoint_200.pth"]
    kept = sorted(p.name for p in (folder / "kept").glob("*.pth"))
    index = json.loads((folder / "kept" / "index.json").read_text())
    best_kept = sorted(index, key=index.get)
    assert len(best_kept) == 2
    assert kept == sorted(["checkpoint_100.pth", "checkpoint_200.pth", *best_kept])
    assert all(read_checkpoint_info(folder / "kept" / name).is_complete for name in kept)
    assert read_checkpoint_info(folder / "kept" / "checkpoint_100.pth").step == 100
    # The disk planner forecasts what retention keeps (hard links counted once, as the disk does).
    from core.disk.planner import plan_run
    from core.trainer.preflight import preflight

    checked = preflight(config)
    plan = plan_run(config, base=checked.base, steps_per_epoch=checked.steps_per_epoch, train=checked.train,
                        use_measured=False)
    inodes = {}
    for path in Path(config.output_path).rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            stat = path.stat()
            inodes[(stat.st_dev, stat.st_ino)] = stat.st_size
    measured = sum(inodes.values())
    assert abs(plan.final_bytes - measured) / measured < 0.01, (plan.final_bytes, measured)
