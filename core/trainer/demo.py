"""The built-in demo: a tiny randomly initialised XTTS and a synthetic dataset, made locally.

It trains the real coqui Trainer + GPTTrainer end to end on a CPU in about a minute. It
produces noise, and the UI says so; its purpose is to show the whole workflow without a GPU
or a 2 GB download.
"""
from __future__ import annotations

import fcntl
import json
import math
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.config import RunConfig
from core.trainer.base_model import DEMO_MARKER
from core.base.workspace import Workspace

SAMPLE_RATE_HZ = 22050
DEMO_CHARS = "abcdefghijklmnopqrstuvwxyz'.,?!-"
SPECIAL_TOKENS = ("[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]")
# GPT sizes from docs/trainer-facts.md: small enough for a CPU, same code paths as XTTS v2.
DEMO_MODEL_ARGS = {
    "gpt_layers": 2,
    "gpt_n_model_channels": 64,
    "gpt_n_heads": 2,
    "gpt_num_audio_tokens": 1026,
    "gpt_start_audio_token": 1024,
    "gpt_stop_audio_token": 1025,
    "gpt_max_audio_tokens": 605,
    "gpt_max_text_tokens": 402,
    "gpt_max_prompt_tokens": 70,
    "gpt_use_masking_gt_prompt_approach": True,
    "gpt_use_perceiver_resampler": True,
    # Synthesis feeds the GPT's latents to the HiFi-GAN decoder: same width, or inference fails.
    "decoder_input_dim": 64,
}
WORDS = ("the quick brown fox jumps over a lazy dog while seven small birds sing softly "
         "near old river stones and bright yellow flowers").split()
DEMO_TRAIN_CLIPS = 120
DEMO_EVAL_CLIPS = 4
NOISE_NOTICE = ("Demo model: a tiny randomly initialised XTTS trained on synthetic tones. "
                "It produces noise; it is here to show the workflow. Use XTTS v2 files for real voices.")


@dataclass(frozen=True)
class DemoAssets:
    base_dir: Path
    train_csv: Path
    eval_csv: Path


def demo_assets(demo_dir: Path) -> DemoAssets:
    return DemoAssets(demo_dir / "base", demo_dir / "dataset" / "metadata_train.csv",
                      demo_dir / "dataset" / "metadata_eval.csv")


def ensure_demo(demo_dir: Path) -> DemoAssets:
    """Create the demo base model and dataset once; safe when several sessions call it at once."""
    assets = demo_assets(demo_dir)
    if (demo_dir / "READY").is_file():
        return assets
    demo_dir.mkdir(parents=True, exist_ok=True)
    with open(demo_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (demo_dir / "READY").is_file():
            return assets
        for sub in ("base", "dataset"):
            shutil.rmtree(demo_dir / sub, ignore_errors=True)
        _write_base_model(assets.base_dir)
        _write_dataset(demo_dir / "dataset")
        (demo_dir / "READY").write_text("ok\n")
    return assets


def _write_base_model(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from TTS.tts.layers.xtts.dvae import DiscreteVAE

    folder.mkdir(parents=True)
    vocab = {tok: i for i, tok in enumerate(list(SPECIAL_TOKENS) + list(DEMO_CHARS))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer.save(str(folder / "vocab.json"))
    model_args = dict(DEMO_MODEL_ARGS, gpt_number_text_tokens=len(vocab))
    config = {"model": "xtts", "model_args": model_args, "languages": ["en"],
              "audio": {"sample_rate": SAMPLE_RATE_HZ, "output_sample_rate": 24000}}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    torch.manual_seed(0)
    # Same fixed sizes GPTTrainer builds (docs/trainer-facts.md); random weights load like real ones.
    dvae = DiscreteVAE(channels=80, normalization=None, positional_dims=1,
                       num_tokens=DEMO_MODEL_ARGS["gpt_num_audio_tokens"] - 2, codebook_dim=512,
                       hidden_dim=512, num_resnet_blocks=3, kernel_size=3, num_layers=2,
                       use_transposed_convs=False)
    torch.save(dvae.state_dict(), folder / "dvae.pth")
    torch.save(torch.ones(80), folder / "mel_stats.pth")
    (folder / DEMO_MARKER).write_text(NOISE_NOTICE + "\n")


def _sentence(rng: np.random.Generator) -> str:
    words = rng.choice(WORDS, size=int(rng.integers(3, 8)))
    return " ".join(words).capitalize() + "."


def _write_tone(path: Path, seconds: float, rng: np.random.Generator) -> None:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    pitch = rng.uniform(110, 260)
    signal = 0.3 * np.sin(2 * math.pi * pitch * t) + 0.15 * np.sin(2 * math.pi * 2 * pitch * t)
    signal *= 0.5 + 0.5 * np.sin(2 * math.pi * rng.uniform(2, 5) * t) ** 2  # syllable-like envelope
    signal += 0.01 * rng.standard_normal(t.size)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        out.writeframes(pcm.tobytes())


def _write_dataset(folder: Path) -> None:
    rng = np.random.default_rng(7)
    (folder / "wavs").mkdir(parents=True)
    for csv_name, count, prefix in (("metadata_train.csv", DEMO_TRAIN_CLIPS, "train"),
                                    ("metadata_eval.csv", DEMO_EVAL_CLIPS, "eval")):
        lines = ["audio_file|text|speaker_name"]
        for i in range(count):
            rel = f"wavs/{prefix}_{i:03d}.wav"
            _write_tone(folder / rel, float(rng.uniform(1.5, 3.0)), rng)
            lines.append(f"{rel}|{_sentence(rng)}|demo_speaker")
        (folder / csv_name).write_text("\n".join(lines) + "\n", encoding="utf-8")


# The Train form's defaults: small enough to finish in about a minute on a CPU, large enough to
# save two checkpoints.
DEMO_OVERRIDES = dict(save_step=100, save_n_checkpoints=2, epochs=4, batch_size=2, print_step=10,
                      plot_step=5, log_model_step=100, learning_rate=5e-6)


def demo_config(ws: Workspace, demo: DemoAssets) -> RunConfig:
    """The configuration the Train page opens with: the built-in demo."""
    return RunConfig(**DEMO_OVERRIDES, train_csv=str(demo.train_csv), eval_csv=str(demo.eval_csv),
                     base_model_dir=str(demo.base_dir), output_path=str(ws.outputs_dir / "demo"))
