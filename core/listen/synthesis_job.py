"""The synthesis job: `python -m core.listen.synthesis_job <job folder>`, started by `request_samples`.

For each checkpoint of the request it loads the model once (core.listen.loader), conditions it on
the references once, and synthesises every sentence not cached yet through coqui's own
Xtts.inference, each from `torch.manual_seed(seed)`; each sample is cached the moment it is made,
so a stopped job keeps what it finished. On a GPU that a live training run of the workspace uses,
it waits for the run to end first (training would otherwise lose speed, or memory, to it) unless
the request says `alongside_training`.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from pathlib import Path

from core.jobs.worker import JobContext, run_job
from core.listen.model_files import run_config_for
from core.listen.samples import Sample, cached_sample, clean_orphan_samples, remember_checkpoint, save_sample
from core.listen.score_files import save_sample_scores
from core.listen.sampling import CONDITIONING, SamplingSettings
from core.listen.synthesis import PlannedSample, SampleRequest, gpu_index, plan_samples, training_runs_on_gpu
from core.base.workspace import Workspace

GPU_POLL_S = 5.0


def _wait_for_gpu(ws: Workspace, index: int, context: JobContext, total: int) -> None:
    while runs := training_runs_on_gpu(ws, index):
        context.progress(0, total, f"queued: training run {runs[0]} uses GPU {index}; synthesis starts when it "
                                   "ends (or ask again with 'run alongside training')", force=True)
        time.sleep(GPU_POLL_S)


@contextlib.contextmanager
def _audio_token_cap(model, cap: int | None):
    """At most `cap` audio tokens per sample; Xtts.inference reads the limit from the GPT."""
    gpt = model.gpt
    before = gpt.max_gen_mel_tokens
    if cap is not None:
        gpt.max_gen_mel_tokens = min(before, cap)
    try:
        yield
    finally:
        gpt.max_gen_mel_tokens = before


def conditioning(model, references: tuple[str, ...]):
    """(GPT conditioning latents, speaker embedding) of the reference clips, as coqui computes them."""
    return model.get_conditioning_latents(audio_path=list(references), **CONDITIONING)


def synthesise(model, text: str, language: str, latents, settings: SamplingSettings):
    """One sentence through coqui's Xtts.inference from a fixed seed; the waveform (24 kHz float32)."""
    import torch

    gpt_cond_latent, speaker_embedding = latents
    torch.manual_seed(settings.seed)  # seeds the CUDA generators too
    with _audio_token_cap(model, settings.max_audio_tokens):
        out = model.inference(text, language, gpt_cond_latent, speaker_embedding, temperature=settings.temperature,
                              length_penalty=settings.length_penalty, repetition_penalty=settings.repetition_penalty,
                              top_k=settings.top_k, top_p=settings.top_p, do_sample=True,
                              enable_text_splitting=False)
    return out["wav"]


def open_scorers(ws: Workspace, request: SampleRequest, planned: list[PlannedSample], context: JobContext):
    """The job's Scorers, opened once: the encoder, dataset rate and rules of the first checkpoint's run.

    One encoder for the whole comparison, so that every sample's similarity compares; None (and the
    reason in the log) when scoring cannot start at all: the samples are still made, unscored.
    """
    from core.listen.scores import Scorers

    files = next((p.files for p in planned if p.files.run_folder is not None), planned[0].files)
    run = run_config_for(ws, files.run_folder) if files.run_folder is not None else None
    try:
        return Scorers.open(base_model_dir=(run.base_model_dir or None) if run else None, run_folder=files.run_folder,
                            reference_wavs=list(request.references),
                            train_csv=(run.train_csv or None) if run else None, models_dir=ws.models_dir,
                            language=request.language, rules=files.rules, device=request.device)
    except Exception as exc:  # noqa: BLE001 - scoring is extra: a failure leaves the samples unscored
        context.log(f"samples are not scored: {type(exc).__name__}: {exc}")
        return None


def score_sample(scorers, sample: Sample, context: JobContext) -> None:
    """Score one sample and save the scores beside it; a failure is logged and leaves it unscored."""
    try:
        scores = scorers.score_file(sample.wav_path, sample.text)
        save_sample_scores(sample, scores)
    except Exception as exc:  # noqa: BLE001 - as above
        context.log(f"{sample.wav_path.name} not scored: {type(exc).__name__}: {exc}")
        return
    similarity = f"{scores.similarity.similarity:.2f}" if scores.similarity else "-"
    cer = f"{scores.intelligibility.cer:.0%}" if scores.intelligibility.cer is not None else "-"
    context.log(f"{sample.wav_path.name}: speaker similarity {similarity}, CER {cer}, "
                f"{len(scores.sanity.flags)} sanity flags")


def _by_checkpoint(planned: list[PlannedSample]) -> dict[Path, list[PlannedSample]]:
    grouped: dict[Path, list[PlannedSample]] = {}
    for item in planned:
        grouped.setdefault(item.checkpoint, []).append(item)
    return grouped


def _body(context: JobContext) -> dict:
    params = context.record.params
    ws = Workspace(root=Path(params["workspace_root"]))
    # Before torch starts: CUDA then numbers GPUs as NVML (and the Train page) does.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    cleaned = clean_orphan_samples(ws)
    if cleaned.samples_removed:
        context.log(f"removed {cleaned.samples_removed} samples of {cleaned.checkpoints_removed} deleted checkpoints")
    request, planned = plan_samples(ws, SampleRequest.from_json(params["request"]))
    missing = [p for p in planned if cached_sample(ws, p.key) is None]
    total, done = len(missing), 0
    index = gpu_index(request.device)
    if index is not None and not request.alongside_training:
        _wait_for_gpu(ws, index, context, total)
    context.progress(0, total, "loading torch and coqui", force=True)
    import torch

    from core.listen.loader import load_for_inference

    torch.backends.cudnn.deterministic = True  # one seed, one sample, also on a GPU
    torch.backends.cudnn.benchmark = False
    context.progress(0, total, "loading the scorers (speaker encoder, Whisper)", force=True)
    scorers = open_scorers(ws, request, planned, context) if missing else None
    for checkpoint, items in _by_checkpoint(planned).items():
        remember_checkpoint(ws, items[0].key.checkpoint_hash, checkpoint)
        todo = [p for p in items if cached_sample(ws, p.key) is None]
        if not todo:
            continue
        context.progress(done, total, f"loading {checkpoint.name}", force=True)
        started = time.monotonic()
        loaded = load_for_inference(todo[0].files, request.language, request.device)
        if loaded.fingerprint != todo[0].key.checkpoint_hash:
            raise RuntimeError(f"{checkpoint.name} changed while the job started; ask for its samples again")
        context.log(f"loaded {checkpoint} in {time.monotonic() - started:.1f} s "
                    f"({loaded.inference_bytes / 1e9:.2f} GB of inference weights, {request.device})")
        latents = conditioning(loaded.model, request.references)
        for item in todo:
            context.progress(done, total, f"{checkpoint.name}: {item.key.text[:60]}", force=True)
            started = time.monotonic()
            wav = synthesise(loaded.model, item.key.text, request.language, latents, request.settings)
            sample = save_sample(ws, item.key, wav, references=request.references,
                                 synthesis_s=time.monotonic() - started, device=request.device)
            done += 1
            context.log(f"{sample.wav_path.name}: {sample.duration_s:.1f} s of audio in {sample.synthesis_s:.1f} s")
            if scorers is not None:
                context.progress(done, total, f"{checkpoint.name}: scoring {done} of {total}", force=True)
                score_sample(scorers, sample, context)
            context.progress(done, total, f"{checkpoint.name}: {done} of {total} samples", force=True)
        del loaded, latents
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return {"samples": [[p.key.checkpoint_hash, p.key.key_id] for p in planned], "made": done,
            "device": request.device}


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1], _body))
