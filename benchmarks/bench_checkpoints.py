"""Checkpoint file operations against the obvious alternatives, on a full-size XTTS v2 checkpoint.

    .venv/bin/python benchmarks/bench_checkpoints.py [--small] [--clean]

Generates once (into benchmarks/.cache/) a training checkpoint with the real key layout and
sizes: the full Xtts model (GPT + HiFi-GAN decoder, random init), the trainer's DVAE, its two
mel front-ends and AdamW state for the GPT, about 5.6 GB (--small: 4 GPT layers, about 1.7 GB).
Then, side by side:
  (a) read_checkpoint_info vs torch.load of the whole file;
  (b) optimize (mmap) vs load all, drop optimizer and dvae keys, save; each in its own child
      process, peak RssAnon sampled from /proc;
  (c) promote vs `cp` (cp followed by an fsync, since promote fsyncs; plain cp is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
CACHE_DIR = REPO_ROOT / "benchmarks" / ".cache"
GB = 1e9


def generate(path: Path, small: bool) -> None:
    """Build the training-checkpoint dict at full size and torch.save it (runs in a child)."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.tortoise.arch_utils import TorchMelSpectrogram
    from TTS.tts.layers.xtts.dvae import DiscreteVAE
    from TTS.tts.models.xtts import Xtts

    config = XttsConfig()
    config.model_args.gpt_number_text_tokens = 6681  # the released XTTS v2 vocab.json
    if small:
        config.model_args.gpt_layers = 4
    xtts = Xtts(config)
    xtts.init_models()
    # The DVAE GPTTrainer builds (docs/trainer-facts.md); num_tokens = gpt_num_audio_tokens - 2.
    dvae = DiscreteVAE(channels=80, num_tokens=1024, codebook_dim=512, hidden_dim=512, num_resnet_blocks=3,
                       kernel_size=3, num_layers=2, positional_dims=1, normalization=None, use_transposed_convs=False)
    model = {f"xtts.{k}": v for k, v in xtts.state_dict().items()}
    model.update({f"dvae.{k}": v for k, v in dvae.state_dict().items()})
    for name, sample_rate in (("style_encoder", 22050), ("dvae", 22050)):
        mel = TorchMelSpectrogram(mel_norm_file=None, sampling_rate=sample_rate)
        model.update({f"torch_mel_spectrogram_{name}.{k}": v for k, v in mel.state_dict().items()})
    # AdamW state after some steps: step, exp_avg, exp_avg_sq per GPT parameter. Filled from one
    # random block rather than randn per tensor: the bytes only need to be there, not be random.
    block = torch.randn(16 * 1024 * 1024)
    def filled(shape: torch.Size) -> torch.Tensor:
        flat = torch.empty(shape).view(-1)
        for start in range(0, flat.numel(), block.numel()):
            n = min(block.numel(), flat.numel() - start)
            flat[start:start + n] = block[:n]
        return flat.view(shape)
    params = [p for p in xtts.gpt.parameters() if p.requires_grad]
    state = {i: {"step": torch.tensor(1000.0), "exp_avg": filled(p.shape), "exp_avg_sq": filled(p.shape).abs_()}
             for i, p in enumerate(params)}
    group = {"lr": 5e-6, "betas": (0.9, 0.96), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False,
             "foreach": None, "maximize": False, "capturable": False, "differentiable": False, "fused": None,
             "params": list(range(len(params)))}
    checkpoint = {
        "config": config.to_dict(), "model": model,
        "optimizer": [{"state": state, "param_groups": [group]}], "scheduler": None, "scaler": None,
        "step": 12345, "epoch": 6, "date": "May 01, 2025",
        "model_loss": {"train_loss": 0.0421, "eval_loss": 2.718},
    }
    temp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    torch.save(checkpoint, temp)
    os.replace(temp, path)


def child_main(op: str, src: Path, dst: Path) -> None:
    """One measured operation, timed from after the imports; prints a JSON line."""
    import torch
    from core.checkpoints.ops import optimize

    out: dict[str, float] = {}
    started = time.perf_counter()
    if op == "full_load":
        torch.load(src, weights_only=True, map_location="cpu")
    elif op == "mmap_load":
        torch.load(src, mmap=True, weights_only=True, map_location="cpu")
    elif op == "optimize_ours":
        optimize(src, dst)
    elif op == "optimize_theirs":
        # What the original Step 2.5 does: the whole checkpoint in memory, two deletions, save.
        checkpoint = torch.load(src, weights_only=True, map_location="cpu")
        del checkpoint["optimizer"]
        for key in list(checkpoint["model"]):
            if "dvae" in key:
                del checkpoint["model"][key]
        torch.save(checkpoint, dst)
        out["time_s"] = time.perf_counter() - started
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        out["time_with_fsync_s"] = time.perf_counter() - started
    out.setdefault("time_s", time.perf_counter() - started)
    print(json.dumps(out), flush=True)


def rss_anon_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def run_child(op: str, src: Path, dst: Path, log_dir: Path) -> dict[str, float]:
    """Run one op in a fresh interpreter, sampling its anonymous RSS every 10 ms."""
    log = log_dir / f"{op}.log"
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, __file__, "--child", op, str(src), str(dst)],
                                 stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, rss_anon_bytes(child.pid))
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
    if child.returncode != 0:
        raise RuntimeError(f"{op} failed:\n{log.read_text()}")
    result = json.loads(log.read_text().strip().splitlines()[-1])
    result["peak_rss_anon_bytes"] = peak
    return result


def time_cp(src: Path, dst: Path) -> tuple[float, float]:
    started = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    plain = time.perf_counter() - started
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return plain, time.perf_counter() - started


def warm_page_cache(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(64 * 1024 * 1024):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="4 GPT layers (~1.7 GB) instead of 30 (~5.6 GB)")
    parser.add_argument("--clean", action="store_true", help="delete the generated checkpoint afterwards")
    parser.add_argument("--child", nargs=3, metavar=("OP", "SRC", "DST"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child[0], Path(args.child[1]), Path(args.child[2]))
    if args.generate:
        return generate(Path(args.generate), args.small)

    from core.checkpoints.files import clear_info_cache, read_checkpoint_info
    from core.checkpoints.ops import promote

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    src = CACHE_DIR / ("xtts_v2_training_checkpoint_small.pth" if args.small else "xtts_v2_training_checkpoint.pth")
    expected_bytes = 1.8 * GB if args.small else 5.7 * GB
    need = (0 if src.exists() else expected_bytes) + 2 * expected_bytes  # the file, one copy, slack
    free = shutil.disk_usage(CACHE_DIR).free
    if free < need:
        sys.exit(f"Need {need / GB:.1f} GB free in {CACHE_DIR}, have {free / GB:.1f} GB; try --small.")
    if not src.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate", str(src)] + (["--small"] if args.small else []), check=True)
        print(f"generated {src.name}: {src.stat().st_size / GB:.2f} GB in {time.perf_counter() - started:.0f} s")
    size = src.stat().st_size
    print(f"checkpoint {src.name}: {size / GB:.2f} GB")
    work = CACHE_DIR / "work"
    work.mkdir(exist_ok=True)
    warm_page_cache(src)  # every contender reads a cached file

    # (a) metadata
    meta_times = []
    for _ in range(3):
        clear_info_cache()
        started = time.perf_counter()
        info = read_checkpoint_info(src)
        meta_times.append(time.perf_counter() - started)
    assert info.integrity.value == "complete", info
    t_meta = min(meta_times)
    full = run_child("full_load", src, work / "unused", work)
    mmap = run_child("mmap_load", src, work / "unused", work)
    print(f"(a) read_checkpoint_info {t_meta * 1e3:.1f} ms; torch.load whole {full['time_s']:.2f} s; "
          f"torch.load mmap {mmap['time_s'] * 1e3:.0f} ms (info: step={info.step}, vocab={info.text_vocab_size}, "
          f"optimizer {info.optimizer_bytes / GB:.2f} GB, dvae {info.dvae_bytes / GB:.2f} GB)")

    # (b) optimize, each side in its own process, with the disk flushed in between
    results = {}
    for op in ("optimize_ours", "optimize_theirs"):
        os.sync()
        results[op] = run_child(op, src, work / f"{op}.pth", work)
        results[op]["bytes_out"] = (work / f"{op}.pth").stat().st_size
        (work / f"{op}.pth").unlink()
    ours, theirs = results["optimize_ours"], results["optimize_theirs"]
    print(f"(b) optimize ours {ours['time_s']:.2f} s (incl. fsync + verify), peak RssAnon "
          f"{ours['peak_rss_anon_bytes'] / GB:.2f} GB -> {ours['bytes_out'] / GB:.2f} GB; full-load "
          f"{theirs['time_s']:.2f} s without fsync, {theirs['time_with_fsync_s']:.2f} s with, peak RssAnon "
          f"{theirs['peak_rss_anon_bytes'] / GB:.2f} GB -> {theirs['bytes_out'] / GB:.2f} GB")

    # (c) promote vs cp, in ABBA order so drift in the shared disk hits both sides alike
    cp_plain, cp_synced, promote_s = [], [], []
    for order in (("cp", "promote"), ("promote", "cp")):
        for who in order:
            os.sync()
            dst = work / f"{who}.pth"
            if who == "cp":
                plain, synced = time_cp(src, dst)
                cp_plain.append(plain)
                cp_synced.append(synced)
            else:
                promote_s.append(promote(src, dst).duration_s)
            dst.unlink()
    t_cp, t_cp_sync, t_promote = min(cp_plain), min(cp_synced), min(promote_s)
    print(f"(c) promote {t_promote:.2f} s ({size / t_promote / GB:.2f} GB/s); cp+fsync {t_cp_sync:.2f} s; "
          f"plain cp (data still in page cache) {t_cp:.2f} s; promote vs plain cp {t_cp / t_promote:.2f}x")

    if args.clean:
        src.unlink()
    shutil.rmtree(work)
    print(f"checkpoints: meta_speedup={full['time_s'] / t_meta:.0f} "
          f"optimize_time_ratio={ours['time_s'] / theirs['time_s']:.2f} "
          f"optimize_rss_ratio={ours['peak_rss_anon_bytes'] / theirs['peak_rss_anon_bytes']:.3f} "
          f"promote_vs_cp={t_cp_sync / t_promote:.2f}")


if __name__ == "__main__":
    main()
