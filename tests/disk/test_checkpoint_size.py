"""Checkpoint sizes from the architecture vs real torch.save files of the same model + AdamW state."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from core.trainer.base_model import resolve_base_model
from core.disk.checkpoint_size import (XTTS_V2_SPEC, _trainer_config, _write_standins, estimate_checkpoint_sizes,
                                  saved_file_bytes, spec_from_base)
from core.base.config import RunConfig
from core.trainer.gpt_config import build_gpt_trainer_config


def test_saved_file_bytes_is_the_torch_save_length():
    obj = {"a": torch.randn(300, 7), "shared": [torch.zeros(5)] * 2, "view": torch.arange(10)[2:5], "text": "x" * 99}
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    assert saved_file_bytes(obj) == len(buffer.getvalue())


def _trainer_parts(gpt_config):
    from trainer.trainer_utils import get_scheduler
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    model = GPTTrainer(gpt_config)
    optimizer = model.get_optimizer()
    scheduler = get_scheduler(gpt_config.lr_scheduler, gpt_config.lr_scheduler_params, optimizer)
    return model, optimizer, scheduler


def _save_like_the_trainer(gpt_config, model, optimizer, scheduler, folder: Path, step: int) -> Path:
    from trainer.io import save_checkpoint

    save_checkpoint(gpt_config, model, folder, current_step=step, epoch=3, optimizer=[optimizer], scheduler=[scheduler],
                    scaler=None, model_loss={"train_loss": 7.1, "eval_loss": None}, save_n_checkpoints=1)
    return folder / f"checkpoint_{step}.pth"


def test_demo_estimate_matches_a_real_trainer_save(demo_workspace, tmp_path):
    ws, demo = demo_workspace
    base = resolve_base_model(demo.base_dir)
    config = RunConfig(base_model_dir=str(demo.base_dir), output_path=str(tmp_path / "out"), save_step=100,
                       save_n_checkpoints=2, epochs=4, batch_size=2, print_step=10, plot_step=5)
    gpt_config = build_gpt_trainer_config(config, base, "GPT_XTTS_FT-x")
    model, optimizer, scheduler = _trainer_parts(gpt_config)
    for group in optimizer.param_groups:  # a real AdamW step creates the state the trainer saves
        for p in group["params"]:
            p.grad = torch.zeros_like(p)
    optimizer.step()
    real = _save_like_the_trainer(gpt_config, model, optimizer, scheduler, tmp_path, 200).stat().st_size

    sizes = estimate_checkpoint_sizes(spec_from_base(base), config, base=base, step=200)
    assert sizes.checkpoint_bytes == pytest.approx(real, rel=0.01)
    assert abs(sizes.checkpoint_bytes - real) < 2_000  # in practice: a few bytes of pickled floats and paths
    assert sizes.trainable_params == sum(p.numel() for p in model.xtts.gpt.parameters())
    assert sizes.optimizer_state_bytes == sum(8 * p.numel() + 4 for p in model.xtts.gpt.parameters())
    assert 200e6 < sizes.dvae_state_bytes < 215e6


def test_xtts_v2_estimate_needs_no_files_and_is_fast():
    sizes = estimate_checkpoint_sizes(XTTS_V2_SPEC, RunConfig())
    assert 5.5e9 < sizes.checkpoint_bytes < 5.7e9
    # exp_avg + exp_avg_sq in fp32, plus one 4-byte `step` per parameter tensor
    assert 8 * sizes.trainable_params < sizes.optimizer_state_bytes < 8 * sizes.trainable_params + 4 * sizes.tensor_records
    assert sizes.optimized_model_bytes < sizes.model_state_bytes  # no dvae, no optimizer


@pytest.mark.slow
def test_xtts_v2_estimate_matches_a_real_full_size_save(tmp_path):
    """Builds the full-size XTTS v2 GPTTrainer on the CPU (random init) and saves it with AdamW state.

    Needs about 6 GB of RAM and 6 GB of disk under tmp_path (deleted afterwards).
    """
    config = RunConfig(output_path=str(tmp_path / "out"))
    standin_dir = tmp_path / "standin"
    standin_dir.mkdir()
    gpt_config = _trainer_config(config, _write_standins(standin_dir, XTTS_V2_SPEC))
    model, optimizer, scheduler = _trainer_parts(gpt_config)
    for group in optimizer.param_groups:  # the tensors a first AdamW step creates, without the step's memory
        for p in group["params"]:
            optimizer.state[p] = {"step": torch.tensor(1000.0), "exp_avg": torch.zeros_like(p),
                                  "exp_avg_sq": torch.zeros_like(p)}
    path = _save_like_the_trainer(gpt_config, model, optimizer, scheduler, tmp_path, 1000)
    try:
        real = path.stat().st_size
        sizes = estimate_checkpoint_sizes(XTTS_V2_SPEC, config, step=1000)
        assert sizes.checkpoint_bytes == pytest.approx(real, rel=0.01)
        assert abs(sizes.checkpoint_bytes - real) < 10_000
    finally:
        path.unlink(missing_ok=True)


def test_an_extended_vocabulary_grows_the_planned_checkpoint(demo_workspace, tmp_path):
    """A new language's extended vocab.json adds text-embedding and text-head rows, with their AdamW state."""
    from core.language.normalise import TextRules
    from core.language.vocab_extension import extend_vocab
    from tests.integration.test_new_language import ethiopic_sentences

    _ws, demo = demo_workspace
    base = resolve_base_model(demo.base_dir)
    extension = extend_vocab(base.vocab_json, ethiopic_sentences(100), TextRules("am"), tmp_path / "am.json")
    config = RunConfig(base_model_dir=str(demo.base_dir), output_path=str(tmp_path / "out"))
    plain = estimate_checkpoint_sizes(spec_from_base(base), config, base=base, step=200)
    extended_config = config.with_changes(vocab_path=str(extension.out_path))
    extended = estimate_checkpoint_sizes(spec_from_base(base, str(extension.out_path)), extended_config, base=base,
                                         step=200)
    added = extension.new_size - extension.base_size
    width = 64  # the demo GPT's model channels: one embedding row, one head row and one head bias per token
    assert extended.trainable_params - plain.trainable_params == added * (2 * width + 1)
    assert extended.checkpoint_bytes > plain.checkpoint_bytes + 3 * 4 * added * (2 * width + 1) * 0.99
