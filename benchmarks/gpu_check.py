"""`make gpu-check`: what only a GPU can show, in under 8 minutes, with nothing downloaded.

    PYTHONPATH=. .venv/bin/python benchmarks/gpu_check.py [--cpu-smoke] [--keep]

Everything is made locally with random weights in a temp folder (deleted unless a part failed, or --keep):
(a) train: the full-size XTTS v2 GPT (a base folder of config.json, vocab.json with XTTS v2's 6681 tokens,
    dvae.pth, mel_stats.pth and a random model.pth) for 30 steps of batch 2 with fp16 mixed precision,
    through the real coqui Trainer + GPTTrainer with our GPTTrainerConfig (build_gpt_trainer_config), in a
    child process of its own: the peak GPU memory (torch.cuda.max_memory_allocated) is only known inside
    the training process, and the check must neither evaluate nor write 5.6 GB checkpoints, as a run
    through the launcher would. fp16 is ok when the trainer's GradScaler is on, the GPT's layers computed
    in float16 and every loss stayed finite;
(b) demo: the built-in demo through the dashboard's own launcher (start_run, wait_until_ended) on GPU 0:
    it must finish, the gallery must list its checkpoints complete, and ready/ must be written;
(c) ranks: with two GPUs or more, the demo as a 2-rank nccl run; both ranks must end with equal weights
    (their " > weights fingerprint (rank N)" log lines);
(d) synth: one sentence from the full-size model.pth through the Listen page's synthesis job on the GPU,
    and its real-time factor (seconds of synthesis per second of audio).

The last line is `gpu: s_per_step=... peak_gpu_gb=... fp16=ok|failed nccl=ok|skipped|failed synth_rtf=...`;
the exit status is 1 when any part failed, 2 when there is no CUDA GPU. `--cpu-smoke` (for developers without
a GPU) runs the same code on the CPU with the demo's sizes: 2 training steps with fp16 off (its GPU-only
settings are only checked for being built as the trainer reads them), the demo for 1 epoch, and the
2-rank run with gloo, which leaves nccl=skipped.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
GB = 1e9
SENTENCE = "The old lighthouse keeper climbed the winding stairs every evening."
XTTS_V2_TEXT_TOKENS = 6681
NO_SAVES_BEFORE_STEP = 10_000_000  # save_best_after: no best-model save in the training check
WARMUP_STEPS = 3  # not timed: CUDA kernels, cuBLAS handles and the allocator settle in the first steps


@dataclass(frozen=True)
class Mode:
    """Sizes and time limits: the GPU check, or the CPU smoke test of this script."""
    name: str
    gpt_sizes: dict  # model_args over the demo's (core.trainer.demo.DEMO_MODEL_ARGS)
    text_tokens: int
    train_steps: int
    mixed_precision: bool
    demo_epochs: int | None  # None: the demo's own 4
    rank_clips: int | None  # training clips of the 2-rank run; None: the demo's 120
    audio_tokens: int  # cap of the synthesised sentence: random weights never stop talking
    limits_s: dict  # per part
    total_s: float  # the whole check


GPU_MODE = Mode("gpu", dict(gpt_layers=30, gpt_n_model_channels=1024, gpt_n_heads=16, decoder_input_dim=1024),
                XTTS_V2_TEXT_TOKENS, train_steps=30, mixed_precision=True, demo_epochs=None, rank_clips=None,
                audio_tokens=200, limits_s=dict(base=90, train=150, demo=120, ranks=90, synth=75), total_s=450)
SMOKE_MODE = Mode("cpu-smoke", {}, 0, train_steps=2, mixed_precision=False, demo_epochs=1, rank_clips=8,
                  audio_tokens=40, limits_s=dict(base=180, train=300, demo=400, ranks=400, synth=300), total_s=1500)


class Clock:
    def __init__(self, total_s: float):
        self.started = time.monotonic()
        self.total_s = total_s

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def limit(self, cap_s: float) -> float:
        """A part's time limit: its own cap, or what is left of the whole check's."""
        return max(1.0, min(cap_s, self.total_s - self.elapsed()))


CLOCK = Clock(0)


def say(message: str) -> None:
    print(f"[{CLOCK.elapsed():5.0f} s] {message}", flush=True)


class PartFailed(Exception):
    pass


# ---- child processes: the base model, and the training check ----

def child_make_base(folder: Path, mode_name: str) -> None:
    """A base model folder as core.trainer.demo makes the demo's, at `mode`'s sizes, with a random model.pth."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.dvae import DiscreteVAE
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    from bench_listen import write_vocab  # this script's folder is on sys.path
    from core.trainer.demo import DEMO_MODEL_ARGS, SAMPLE_RATE_HZ

    mode = GPU_MODE if mode_name == GPU_MODE.name else SMOKE_MODE
    folder.mkdir(parents=True)
    write_vocab(folder / "vocab.json", mode.text_tokens)  # the demo's characters, padded to `text_tokens`
    tokenizer = VoiceBpeTokenizer(str(folder / "vocab.json"))
    model_args = dict(DEMO_MODEL_ARGS, **mode.gpt_sizes, gpt_number_text_tokens=tokenizer.get_number_tokens())
    (folder / "config.json").write_text(json.dumps({
        "model": "xtts", "model_args": model_args, "languages": ["en"],
        "audio": {"sample_rate": SAMPLE_RATE_HZ, "output_sample_rate": 24000}}, indent=2))
    torch.manual_seed(0)
    # The DVAE GPTTrainer builds has fixed sizes (docs/trainer-facts.md), whatever the GPT's.
    dvae = DiscreteVAE(channels=80, normalization=None, positional_dims=1,
                       num_tokens=model_args["gpt_num_audio_tokens"] - 2, codebook_dim=512, hidden_dim=512,
                       num_resnet_blocks=3, kernel_size=3, num_layers=2, use_transposed_convs=False)
    torch.save(dvae.state_dict(), folder / "dvae.pth")
    torch.save(torch.ones(80), folder / "mel_stats.pth")
    config = XttsConfig()
    config.load_json(str(folder / "config.json"))
    xtts = Xtts(config)
    xtts.tokenizer = tokenizer
    xtts.init_models()
    # The released model.pth's layout: the Xtts state dict without the trainer's "xtts." prefix.
    torch.save({"config": config.to_dict(), "model": xtts.state_dict()}, folder / "model.pth")
    print(json.dumps({"parameters": sum(p.numel() for p in xtts.parameters()),
                      "model_bytes": (folder / "model.pth").stat().st_size}), flush=True)


def child_train(params: dict) -> None:
    """`steps` training steps through coqui's Trainer, timed; prints a JSON line with what it measured."""
    import torch
    from trainer import Trainer, TrainerArgs
    from trainer.trainer import GradScaler
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    from core.base.config import RunConfig
    from core.trainer.gpt_config import build_gpt_trainer_config
    from core.trainer.preflight import preflight

    config = RunConfig(train_csv=params["train_csv"], eval_csv=params["eval_csv"], base_model_dir=params["base"],
                       output_path=params["output"], epochs=1, batch_size=2, mixed_precision=params["fp16"],
                       save_checkpoints=False, save_best_after=NO_SAVES_BEFORE_STEP, print_step=10, plot_step=10,
                       log_model_step=1000)
    checked = preflight(config)
    # fp16 reaches the trainer as coqui's recipe sets it: mixed_precision on, precision "fp16" (the
    # trainer then autocasts to float16 and scales the loss with this GradScaler on CUDA).
    fp16_config = build_gpt_trainer_config(config.with_changes(mixed_precision=True), checked.base, "gpu_check")
    config_ok = fp16_config.mixed_precision is True and fp16_config.precision == "fp16"
    scaler_kind = type(GradScaler()).__name__  # as the trainer makes it (on a CPU it warns and stays off)
    gpt_config = build_gpt_trainer_config(checked.config, checked.base, "gpu_check")
    gpt_config.run_eval = False  # only training steps are timed; the eval set is still handed over below
    started = time.perf_counter()
    model = GPTTrainer.init_from_config(gpt_config)  # random init, then the base model.pth loaded into it
    model_s = time.perf_counter() - started

    ends: list[float] = []
    losses: list[float] = []
    dtypes: set[str] = set()
    use_cuda = torch.cuda.is_available()

    def on_step_end(trainer) -> None:
        if use_cuda:
            torch.cuda.synchronize()
        ends.append(time.perf_counter())
        averages = trainer.keep_avg_train.avg_values if trainer.keep_avg_train else {}
        losses.append(float(averages.get("avg_loss", math.nan)))

    # The first linear layer of the GPT's transformer says whether autocast ran it in float16.
    probe = next(m for m in model.xtts.gpt.gpt.modules() if type(m).__name__ in ("Conv1D", "Linear"))
    probe.register_forward_hook(lambda _m, _i, out: dtypes.add(str(out.dtype).replace("torch.", "")))
    trainer = Trainer(TrainerArgs(), gpt_config, output_path=gpt_config.output_path, model=model,
                      train_samples=checked.train.to_samples(config.language),
                      eval_samples=checked.eval.to_samples(config.language), parse_command_line_args=False,
                      callbacks={"on_train_step_end": on_step_end})
    fit_started = time.perf_counter()
    trainer.fit()
    untimed = min(WARMUP_STEPS, len(ends) - 1)
    timed = ends[max(0, untimed - 1):]  # from the end of the last untimed step
    scaler = trainer.scaler
    scaling = bool(trainer.use_amp_scaler and scaler is not None and scaler.is_enabled())
    print(json.dumps({
        "steps": trainer.total_steps_done, "model_s": model_s, "untimed_steps": untimed,
        "s_per_step": (timed[-1] - timed[0]) / (len(timed) - 1) if len(timed) > 1 else math.nan,
        "first_step_s": ends[0] - fit_started if ends else math.nan,  # with the data loader's set-up
        "peak_gpu_bytes": torch.cuda.max_memory_allocated() if use_cuda else 0,
        "device": torch.cuda.get_device_name(0) if use_cuda else "cpu",
        "parameters": sum(p.numel() for p in model.xtts.gpt.parameters()),
        "losses_finite": bool(losses) and all(math.isfinite(x) for x in losses),
        "last_loss": losses[-1] if losses else math.nan, "autocast_dtypes": sorted(dtypes), "amp_scaler": scaling,
        "loss_scale": float(scaler.get_scale()) if scaling else None,
        "fp16_config_ok": config_ok, "grad_scaler": scaler_kind,
    }), flush=True)


def run_child(args: list[str], log: Path, limit_s: float, env: dict | None = None) -> dict:
    """This script as a child (its own process group, output in `log`), ended at `limit_s`; its last JSON line."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, __file__, "--child", *args], cwd=REPO_ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})})
        try:
            code = proc.wait(timeout=limit_s)
        except BaseException as exc:  # the time limit, or Ctrl-C: never leave a child holding the GPU
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise PartFailed(f"{args[0]} did not finish within {limit_s:.0f} s (log: {log})") from None
            raise
    lines = log.read_text(errors="replace").strip().splitlines()
    if code != 0:
        tail = "\n".join(lines[-25:])
        raise PartFailed(f"{args[0]} exited with status {code} (log: {log}):\n{tail}")
    return json.loads(lines[-1])


# ---- the parts ----

@dataclass
class Results:
    s_per_step: float = math.nan
    peak_gpu_gb: float = math.nan
    fp16: str = "failed"
    nccl: str = "failed"
    synth_rtf: float = math.nan
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"gpu: s_per_step={self.s_per_step:.3f} peak_gpu_gb={self.peak_gpu_gb:.2f} fp16={self.fp16} "
                f"nccl={self.nccl} synth_rtf={self.synth_rtf:.2f}")


def subset_csv(source: Path, name: str, clips: int) -> Path:
    """The first `clips` rows of a metadata CSV, written beside it (its audio paths are relative to it)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    target = source.with_name(name)
    target.write_text("\n".join(lines[:1 + clips]) + "\n", encoding="utf-8")
    return target


def part_train(mode: Mode, temp: Path, demo, results: Results) -> None:
    base = temp / "base"
    made = run_child(["make-base", str(base), mode.name], temp / "make-base.log", CLOCK.limit(mode.limits_s["base"]))
    say(f"(a) base model: {made['parameters'] / 1e6:.0f} M parameters, model.pth {made['model_bytes'] / GB:.2f} GB")
    train_csv = subset_csv(demo.train_csv, "gpu_check_train.csv", 2 * mode.train_steps)  # one epoch of batch 2
    params = {"base": str(base), "train_csv": str(train_csv), "eval_csv": str(demo.eval_csv),
              "output": str(temp / "train-out"), "fp16": mode.mixed_precision}
    # One device: coqui's Trainer refuses to start on several GPUs without DDP.
    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0"} if mode is GPU_MODE else {}
    say(f"(a) training {mode.train_steps} steps, batch 2, fp16 {'on' if mode.mixed_precision else 'off'} ...")
    got = run_child(["train", json.dumps(params)], temp / "train.log", CLOCK.limit(mode.limits_s["train"]), env)
    results.s_per_step, results.peak_gpu_gb = got["s_per_step"], got["peak_gpu_bytes"] / GB
    say(f"(a) {got['steps']} steps of a {got['parameters'] / 1e6:.0f} M-parameter GPT on {got['device']}: "
        f"{got['s_per_step']:.3f} s/step after {got['untimed_steps']} untimed, first step "
        f"{got['first_step_s']:.1f} s, model built and loaded in {got['model_s']:.1f} s; peak GPU memory "
        f"{results.peak_gpu_gb:.2f} GB; mean loss {got['last_loss']:.3f}")
    fp16_real = got["amp_scaler"] and "float16" in got["autocast_dtypes"] and got["losses_finite"]
    if mode.mixed_precision:
        results.fp16 = "ok" if fp16_real and got["fp16_config_ok"] else "failed"
        say(f"(a) fp16: GradScaler {'on' if got['amp_scaler'] else 'OFF'} (scale {got['loss_scale']}), GPT layers "
            f"computed in {', '.join(got['autocast_dtypes']) or 'nothing'}, losses finite: {got['losses_finite']}")
    else:
        results.fp16 = "ok" if got["fp16_config_ok"] and got["losses_finite"] else "failed"
        say(f"(a) fp16 not trained on the CPU; its config builds as the trainer reads it (mixed_precision, precision "
            f"fp16: {got['fp16_config_ok']}; {got['grad_scaler']} constructs)")
    if got["steps"] != mode.train_steps:
        raise PartFailed(f"trained {got['steps']} steps, not {mode.train_steps}")
    if results.fp16 != "ok":
        raise PartFailed("fp16 mixed precision did not work (see above)")


def launch_and_wait(ws, config, limit_s: float, **launch):
    """start_run, then wait_until_ended; a run still live at `limit_s` is killed (its whole process group)."""
    from core.registry.process_identity import is_alive
    from core.registry.state import RunPhase, read_run_state
    from core.runs.launcher import start_run, wait_until_ended

    def end_group() -> None:
        if is_alive(record.identity):  # the launcher starts each run in a session of its own
            os.killpg(record.pid, signal.SIGKILL)

    started = time.monotonic()
    record = start_run(ws, config, **launch)
    try:
        phase = wait_until_ended(ws, record.run_id, limit_s)
    except BaseException:
        end_group()
        raise
    state = read_run_state(ws, record.run_id)
    if phase.is_live:
        end_group()
        raise PartFailed(f"run {record.run_id} did not finish within {limit_s:.0f} s (step {state.status.step} of "
                         f"{state.status.total_steps}); log: {ws.runs_dir / record.run_id}")
    if phase is not RunPhase.FINISHED:
        raise PartFailed(f"run {record.run_id} ended {phase.value}: {state.detail}\n" + "\n".join(state.last_lines))
    return record, state, time.monotonic() - started


def part_demo(mode: Mode, ws, demo, results: Results) -> None:
    from core.checkpoints.files import CheckpointKind
    from core.checkpoints.gallery import gallery
    from core.checkpoints.layout import READY_MODEL_NAME
    from core.trainer.demo import demo_config

    config = demo_config(ws, demo)
    if mode.demo_epochs:
        config = config.with_changes(epochs=mode.demo_epochs)
    on_gpu = mode is GPU_MODE
    say(f"(b) the demo through the launcher ({config.epochs} epochs) on {'GPU 0' if on_gpu else 'the CPU'} ...")
    record, state, took_s = launch_and_wait(ws, config, CLOCK.limit(mode.limits_s["demo"]), gpus=(0,) if on_gpu else ())
    status = state.status
    entries = [e for e in gallery(ws) if e.run_id == record.run_id]
    cut = [e.path.name for e in entries if not e.info.is_complete]
    kinds = {e.info.kind for e in entries}
    say(f"(b) finished {status.step} steps in {took_s:.0f} s on {status.device} ({status.s_per_step or math.nan:.3f} "
        f"s/step); gallery: {', '.join(sorted(e.path.name for e in entries))}")
    problems = []
    if on_gpu != status.device.startswith("GPU"):
        problems.append(f"it trained on {status.device!r}")
    if cut:
        problems.append(f"incomplete checkpoints: {', '.join(cut)}")
    if not {CheckpointKind.BEST, CheckpointKind.READY} <= kinds:
        problems.append(f"no best model or no ready/ model in the gallery (kinds {sorted(k.value for k in kinds)})")
    if status.ready is None or not (Path(status.ready.folder) / READY_MODEL_NAME).is_file():
        problems.append("ready/ was not written")
    if problems:
        raise PartFailed("; ".join(problems))


def part_ranks(mode: Mode, ws, demo, results: Results, gpu_count: int) -> None:
    from core.trainer.demo import demo_config
    from tests.integration.test_multi_rank import fingerprints  # how the tests read the ranks' end weights

    if mode is GPU_MODE and gpu_count < 2:
        results.nccl = "skipped"
        say(f"(c) nccl: skipped ({gpu_count} GPU)")
        return
    config = demo_config(ws, demo).with_changes(epochs=1, output_path=str(ws.outputs_dir / "ranks"))
    if mode.rank_clips:
        config = config.with_changes(train_csv=str(subset_csv(demo.train_csv, "gpu_check_ranks.csv", mode.rank_clips)))
    launch = dict(gpus=(0, 1)) if mode is GPU_MODE else dict(world_size=2)
    backend = "nccl" if mode is GPU_MODE else "gloo"
    say(f"(c) 2 ranks ({backend}) through the launcher ...")
    record, state, took_s = launch_and_wait(ws, config, CLOCK.limit(mode.limits_s["ranks"]), **launch)
    found = fingerprints(ws, record.run_id)
    say(f"(c) finished {state.status.step} steps per rank in {took_s:.0f} s, backend {state.status.backend!r}; "
        f"weights fingerprints {found}")
    if state.status.backend != backend or set(found) != {0, 1} or found[0] != found[1]:
        raise PartFailed(f"the ranks did not end with equal weights over {backend} (backend "
                         f"{state.status.backend!r}, fingerprints {found})")
    results.nccl = "ok" if backend == "nccl" else "skipped"
    if backend == "gloo":
        say("(c) nccl: skipped (no GPU; the same 2-rank check passed with gloo)")


def part_synth(mode: Mode, ws, temp: Path, demo, results: Results) -> None:
    from core.jobs.files import job_files
    from core.jobs.launcher import stop_job, wait_for_job
    from core.listen.sampling import SamplingSettings
    from core.listen.synthesis import SampleRequest, job_samples, request_samples

    model = temp / "base" / "model.pth"
    if not model.is_file():
        raise PartFailed("no base model to synthesise from: part (a) did not make it")
    device = "cuda:0" if mode is GPU_MODE else "cpu"
    clip = demo.train_csv.parent / "wavs" / "train_000.wav"
    request = SampleRequest(checkpoints=(str(model),), sentences=(SENTENCE,), language="en", references=(str(clip),),
                            device=device, settings=SamplingSettings(max_audio_tokens=mode.audio_tokens))
    say(f"(d) one sentence from {model.name} ({mode.audio_tokens} audio tokens at most) on {device} ...")
    job = request_samples(ws, request)
    if isinstance(job, list):  # cached: only a workspace used before holds it
        raise PartFailed(f"the sample was cached already in {ws.root}; run the check on a fresh workspace")
    limit_s = CLOCK.limit(mode.limits_s["synth"])
    phase = wait_for_job(ws, job.job_id, timeout_s=limit_s)
    if phase.is_live:
        stop_job(ws, job.job_id)
        raise PartFailed(f"synthesis did not finish within {limit_s:.0f} s (log: {job_files(ws, job.job_id).log})")
    samples = job_samples(ws, job.job_id)
    if not samples:
        log = job_files(ws, job.job_id).log.read_text(errors="replace")
        raise PartFailed(f"synthesis job {phase.value}:\n{log[-3000:]}")
    sample = samples[0]
    results.synth_rtf = sample.real_time_factor
    say(f"(d) {sample.duration_s:.2f} s of audio in {sample.synthesis_s:.2f} s on {sample.device}: real-time factor "
        f"{sample.real_time_factor:.2f} (model load and conditioning not counted)")
    if sample.device != device:
        raise PartFailed(f"synthesised on {sample.device}, not {device}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="for developers without a GPU: the same code paths on the CPU at the demo's sizes")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp folder (it is kept anyway when a part fails)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        {"make-base": lambda: child_make_base(Path(rest[0]), rest[1]),
         "train": lambda: child_train(json.loads(rest[0]))}[kind]()
        return 0
    mode = SMOKE_MODE if args.cpu_smoke else GPU_MODE
    global CLOCK
    CLOCK = Clock(mode.total_s)
    if args.cpu_smoke:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch: this process and every child stay on the CPU
    import torch

    gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if mode is GPU_MODE and gpu_count == 0:
        print("no CUDA GPU here: make gpu-check needs one (benchmarks/gpu_check.py --cpu-smoke checks the script "
              "itself on the CPU)", flush=True)
        return 2
    from core.base.devices import list_gpus
    from core.trainer.demo import ensure_demo
    from core.base.workspace import Workspace

    temp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    results = Results()
    names = sorted({g.name for g in list_gpus()}) if gpu_count else []  # NVML: no CUDA context in this process
    say(f"{mode.name}: {gpu_count} CUDA GPU(s)" + (f" ({', '.join(names)})" if names else "")
        + f"; everything in {temp}; at most {mode.total_s:.0f} s")
    try:
        ws = Workspace.at(temp / "ws")
        demo = ensure_demo(ws.demo_dir)  # its dataset serves every part
        parts = (("train", lambda: part_train(mode, temp, demo, results)),
                 ("demo", lambda: part_demo(mode, ws, demo, results)),
                 ("ranks", lambda: part_ranks(mode, ws, demo, results, gpu_count)),
                 ("synth", lambda: part_synth(mode, ws, temp, demo, results)))
    except Exception as exc:  # noqa: BLE001 - still ends with the result line
        results.failed.append("setup")
        say(f"setup: FAILED: {type(exc).__name__}: {exc}")
        parts = ()
    for name, run in parts:
        started = time.monotonic()
        try:
            run()
            say(f"{name}: ok ({time.monotonic() - started:.0f} s)")
        except Exception as exc:  # noqa: BLE001 - a failed part is reported and the others still run
            results.failed.append(name)
            say(f"{name}: FAILED ({time.monotonic() - started:.0f} s): {type(exc).__name__}: {exc}")
    if results.failed or args.keep:
        say(f"kept for inspection: {temp}")
    else:
        shutil.rmtree(temp, ignore_errors=True)
    say("all parts passed" if not results.failed else f"failed: {', '.join(results.failed)}")
    print(results.line(), flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
