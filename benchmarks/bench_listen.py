"""Listening to a full-size XTTS v2 checkpoint: memory and time of loading it, cached replay, real-time factor.

    .venv/bin/python benchmarks/bench_listen.py [--checkpoint PATH] [--no-naive] [--audio-tokens N]

(1) Makes, in a child process, into a temp folder deleted at the end, a training checkpoint of the
    real XTTS v2 architecture with random weights and the trainer's layout (GPT + HiFi-GAN, DVAE,
    mel front-ends, AdamW state: about 5.6 GB), with a 6681-token vocab.json beside it
    (`--checkpoint` uses an existing one of that architecture instead; nothing is written then).
(2) load: a fresh child imports torch and coqui, notes its RSS, loads the file with
    core.listen.loader and then reads every inference weight once (as the first synthesis does:
    until then the mapped weights are not even resident). load_rss_ratio = (peak RSS - RSS before
    the load) / bytes of the inference weights. The naive way, for comparison in another child:
    coqui's Xtts.load_checkpoint, which builds the model with random weights and then torch.loads
    the whole file, optimizer state and DVAE included, into memory (skipped below 10 GB available).
(3) cached_ms: a fresh process (no torch) asks request_samples for a sample of that checkpoint that
    is in the cache and reads the WAV's bytes, as the page does to play it (first call in the process).
(4) sample_rtf: seconds of synthesis per second of audio for one sentence from the demo model's
    architecture (random weights, like the untrained demo) through the real synthesis job, on this
    machine's CPU; the demo never stops talking, so the sample is capped at --audio-tokens.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
GB = 1e9
CHECKPOINT_BYTES = 5.7 * GB
NAIVE_NEEDS_BYTES = 10 * GB  # the whole file plus a randomly initialised model, plus slack
XTTS_V2_TEXT_TOKENS = 6681
SENTENCE = "The old lighthouse keeper climbed the winding stairs every evening."


def write_vocab(path: Path, tokens: int) -> None:
    """A character vocabulary padded to `tokens` ids (what sizes the GPT's text embedding), as XTTS loads it."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]"]
    vocab = {tok: i for i, tok in enumerate(specials + list("abcdefghijklmnopqrstuvwxyz'.,?!-"))}
    vocab.update({f"<pad{i}>": i for i in range(len(vocab), tokens)})
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(specials)
    tokenizer.save(str(path))


def generate(path: Path) -> None:
    """The full-size training checkpoint (child process): bench_checkpoints' layout, vocab beside it."""
    from bench_checkpoints import generate as generate_checkpoint  # this script's folder is on sys.path

    generate_checkpoint(path, small=False)
    write_vocab(path.with_name(f"{path.stem}.vocab.json"), XTTS_V2_TEXT_TOKENS)


def status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _distinct(model) -> list:
    """The model's tensors once each: after Xtts.eval() its GPT is also reachable through gpt_inference."""
    return list({t.untyped_storage().data_ptr(): t for t in model.state_dict().values()}.values())


def child_load(way: str, path: Path) -> None:
    """One load in this fresh process, measured from after the imports; prints a JSON line."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts  # noqa: F401  (imported before the baseline, as in the job)

    from core.listen.loader import load_for_inference
    from core.listen.model_files import model_files
    from core.base.workspace import Workspace

    base = status_bytes("VmRSS")
    started = time.perf_counter()
    if way == "ours":
        loaded = load_for_inference(model_files(Workspace(root=path.parent), path), "en")
        model, weights_bytes = loaded.model, loaded.inference_bytes
    else:
        # What coqui's docs do: Xtts.init_from_config, then load_checkpoint (torch.load of the whole file).
        config = XttsConfig()
        config.from_dict(torch.load(path, mmap=True, weights_only=True, map_location="cpu")["config"])
        model = Xtts.init_from_config(config)
        vocab = path.with_name(f"{path.stem}.vocab.json")
        model.load_checkpoint(config, checkpoint_path=str(path), vocab_path=str(vocab), eval=True, strict=True)
        weights_bytes = sum(t.untyped_storage().nbytes() for t in _distinct(model))
    load_s = time.perf_counter() - started
    with torch.inference_mode():  # every inference weight read once, as a first synthesis does
        touched = sum(float(t.sum()) for t in _distinct(model) if t.is_floating_point())
    print(json.dumps({"load_s": load_s, "rss_base": base, "rss_peak": status_bytes("VmHWM"),
                      "weights_bytes": weights_bytes, "touched": touched}), flush=True)


def child_cached(ws_root: str, request_json: str) -> None:
    from core.listen.synthesis import SampleRequest, request_samples
    from core.base.workspace import Workspace

    ws, request = Workspace(root=Path(ws_root)), SampleRequest.from_json(json.loads(request_json))
    times = []
    for _ in range(2):
        started = time.perf_counter()
        samples = request_samples(ws, request)
        assert isinstance(samples, list), f"expected a cache hit, got job {samples}"
        played = samples[0].wav_path.read_bytes()
        times.append(time.perf_counter() - started)
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "TTS", "transformers"})
    print(json.dumps({"first_s": times[0], "again_s": times[1], "bytes": len(played), "heavy": heavy}), flush=True)


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def demo_checkpoint(ws, folder: Path) -> tuple[Path, Path]:
    """A demo-architecture model file (random weights, its config stored inside) and a demo clip."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    from core.trainer.demo import ensure_demo

    demo = ensure_demo(ws.demo_dir)
    config = XttsConfig()
    config.load_json(str(demo.base_dir / "config.json"))
    torch.manual_seed(0)
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(str(demo.base_dir / "vocab.json"))
    model.init_models()
    path = folder / "demo.pth"
    torch.save({"config": config.to_dict(), "model": {f"xtts.{k}": v for k, v in model.state_dict().items()}}, path)
    shutil.copyfile(demo.base_dir / "vocab.json", folder / "demo.vocab.json")
    return path, demo.train_csv.parent / "wavs" / "train_000.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path,
                        help="an existing full-size checkpoint, with its <stem>.vocab.json beside it")
    parser.add_argument("--no-naive", action="store_true", help="skip coqui's own load_checkpoint")
    parser.add_argument("--audio-tokens", type=int, default=100, help="cap of the demo sample (~21.5 a second)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        return {"generate": lambda: generate(Path(rest[0])), "load": lambda: child_load(rest[0], Path(rest[1])),
                "cached": lambda: child_cached(*rest)}[kind]()

    import numpy as np
    import psutil

    from core.jobs.launcher import wait_for_job
    from core.listen.samples import save_sample
    from core.listen.sampling import SamplingSettings
    from core.listen.synthesis import SampleRequest, job_samples, plan_samples, request_samples
    from core.base.workspace import Workspace

    temp = Path(tempfile.mkdtemp(prefix="bench-listen-"))
    try:
        ws = Workspace.at(temp / "ws")
        models = temp / "models"
        models.mkdir()
        path = args.checkpoint
        if path is None:
            free = shutil.disk_usage(temp).free
            if free < CHECKPOINT_BYTES + 2 * GB:
                sys.exit(f"Need {(CHECKPOINT_BYTES + 2 * GB) / GB:.1f} GB free in {temp}, have {free / GB:.1f} GB "
                         "(df); or pass --checkpoint.")
            path = models / "xtts_v2_training_checkpoint.pth"
            started = time.perf_counter()
            run_child("generate", str(path))
            print(f"generated {path.name}: {path.stat().st_size / GB:.2f} GB in {time.perf_counter() - started:.0f} s")
        size = path.stat().st_size

        ours = run_child("load", "ours", str(path))
        grew = ours["rss_peak"] - ours["rss_base"]
        ratio = grew / ours["weights_bytes"]
        print(f"(2) ours: {ours['load_s']:.1f} s to load, peak RSS +{grew / GB:.2f} GB "
              f"for {ours['weights_bytes'] / GB:.2f} GB of inference weights (file {size / GB:.2f} GB; "
              f"RSS after imports {ours['rss_base'] / GB:.2f} GB)")
        available = psutil.virtual_memory().available
        if args.no_naive or available < NAIVE_NEEDS_BYTES:
            print(f"    naive load skipped ({'--no-naive' if args.no_naive else f'{available / GB:.1f} GB available'})")
        else:
            naive = run_child("load", "naive", str(path))
            print(f"    naive (coqui's load_checkpoint: whole file in memory): {naive['load_s']:.1f} s, peak RSS "
                  f"+{(naive['rss_peak'] - naive['rss_base']) / GB:.2f} GB, ratio "
                  f"{(naive['rss_peak'] - naive['rss_base']) / naive['weights_bytes']:.2f}; ours uses "
                  f"{grew / (naive['rss_peak'] - naive['rss_base']):.2f}x its memory")

        # (3) a cached sample of the big checkpoint, looked up by a fresh process as a page would.
        demo_path, clip = demo_checkpoint(ws, models)
        big = SampleRequest(checkpoints=(str(path),), sentences=(SENTENCE,), language="en", references=(str(clip),))
        _, planned = plan_samples(ws, big)
        tone = 0.1 * np.sin(np.arange(48000) * 2 * np.pi * 220 / 24000)
        save_sample(ws, planned[0].key, tone, references=(str(clip),), synthesis_s=1.0, device="cpu")
        cached = run_child("cached", str(ws.root), json.dumps(big.to_json()))
        assert cached["heavy"] == [], cached
        print(f"(3) cached replay (fresh process, no torch): {cached['first_s'] * 1e3:.1f} ms first, "
              f"{cached['again_s'] * 1e3:.1f} ms again ({cached['bytes'] / 1e3:.0f} kB WAV read)")

        # (4) one sentence from the demo architecture through the real synthesis job, on the CPU.
        request = SampleRequest(checkpoints=(str(demo_path),), sentences=(SENTENCE,), language="en",
                                references=(str(clip),), device="cpu",
                                settings=SamplingSettings(max_audio_tokens=args.audio_tokens))
        record = request_samples(ws, request)
        phase = wait_for_job(ws, record.job_id, timeout_s=1800)
        samples = job_samples(ws, record.job_id)
        if not samples:
            log = (ws.root / "jobs" / record.job_id / "job.log").read_text()
            sys.exit(f"synthesis job {phase.value}: {log[-3000:]}")
        sample = samples[0]
        print(f"(4) demo sample: {sample.duration_s:.2f} s of audio in {sample.synthesis_s:.2f} s on "
              f"{os.cpu_count()} CPU cores (model load and conditioning not counted)")
        print(f"listen: load_rss_ratio={ratio:.3f} load_s={ours['load_s']:.2f} cached_ms={cached['first_s'] * 1e3:.1f} "
              f"sample_rtf={sample.real_time_factor:.2f}")
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
