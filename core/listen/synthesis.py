"""Asking for samples: check the request, answer from the cache, or start the synthesis job for the rest.

`request_samples` is what the page calls. Everything it does is light (JSON, zip directories, audio
headers): bad input is refused here with a typed error and no job starts; a request whose samples
are all cached is answered at once; otherwise one detached job (core.jobs, `core.listen.synthesis_job`)
synthesises what is missing, on the first GPU when there is one. One synthesis job runs at a time
per workspace (its target is the sample cache): a second request meanwhile gets LaunchRefused.
The page finds the job again after a reload with `live_synthesis_job` and reads its progress from disk.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.dataset.audio import AudioUnreadable, probe
from core.base.devices import list_gpus
from core.base.errors import ConfigInvalid, FieldError
from core.jobs.files import JobRecord, list_job_ids
from core.jobs.launcher import live_job_for, start_job, stop_job
from core.jobs.state import JobState, read_job_state
from core.language.normalise import rules_to_json
from core.listen.fingerprint import checkpoint_fingerprint, file_fingerprint
from core.listen.model_files import ModelFiles, check_language, model_files
from core.listen.samples import Sample, SampleKey, cached_sample, remember_checkpoint, sample_by_id
from core.listen.sampling import SamplingSettings, check_settings
from core.listen.sentences import check_sentences
from core.registry.process_identity import is_alive
from core.registry.records import list_run_ids, load_record
from core.base.workspace import Workspace

KIND = "synthesis"
MODULE = "core.listen.synthesis_job"
REFERENCE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")  # what coqui's loader (torchaudio + soundfile) decodes
MIN_REFERENCE_S = 1.0  # coqui refuses under 0.33 s; under a second there is too little voice to clone
MAX_CHECKPOINTS = 20


class ReferenceUnusable(ConfigInvalid):
    """A reference clip that cannot condition XTTS (missing, undecodable, too short, unsupported format)."""


@dataclass(frozen=True)
class SampleRequest:
    checkpoints: tuple[str, ...]  # model files to compare, each synthesising every sentence
    sentences: tuple[str, ...]
    language: str
    references: tuple[str, ...] = ()  # () -> the first checkpoint's ready/reference.wav, for all of them
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    device: str = "auto"  # "auto": the first GPU when there is one, else "cpu"; or "cpu", "cuda:<index>"
    alongside_training: bool = False  # True: do not wait for a live training run on the same GPU

    def to_json(self) -> dict[str, Any]:
        return {"checkpoints": list(self.checkpoints), "sentences": list(self.sentences), "language": self.language,
                "references": list(self.references), "settings": self.settings.to_json(), "device": self.device,
                "alongside_training": self.alongside_training}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SampleRequest":
        return cls(tuple(data["checkpoints"]), tuple(data["sentences"]), str(data["language"]),
                   tuple(data.get("references", ())), SamplingSettings.from_json(data.get("settings")),
                   str(data.get("device", "auto")), bool(data.get("alongside_training", False)))


@dataclass(frozen=True)
class PlannedSample:
    """One (checkpoint, sentence) of a request with the key its sample is cached under."""
    checkpoint: Path
    files: ModelFiles
    key: SampleKey


def check_references(paths: tuple[str, ...]) -> tuple[Path, ...]:
    """The clips, resolved, when each can condition XTTS; ReferenceUnusable naming each that cannot."""
    errors, checked = [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.suffix.lower() not in REFERENCE_SUFFIXES:
            errors.append(FieldError("reference", f"{path.name}: XTTS reads {', '.join(REFERENCE_SUFFIXES)} "
                                                  "references; convert it to .wav or pick a dataset clip"))
            continue
        try:
            info = probe(path)
        except AudioUnreadable as exc:
            errors.append(FieldError("reference", f"{exc}; pick another clip"))
            continue
        if info.duration_s < MIN_REFERENCE_S:
            errors.append(FieldError("reference", f"{path.name} is {info.duration_s:.2f} s long; XTTS needs at least "
                                                  f"{MIN_REFERENCE_S:g} s of the voice (3-10 s work best)"))
            continue
        checked.append(path.resolve())
    if errors:
        raise ReferenceUnusable(errors)
    return tuple(checked)


def resolve_device(ws: Workspace, device: str) -> str:
    """"auto" as the device a job would use now: the first GPU NVML sees (not hidden by the workspace), else "cpu"."""
    if device != "auto":
        return device
    hidden = ws.env_overrides.get("CUDA_VISIBLE_DEVICES", "x").strip() in ("", "-1")
    gpus = [] if hidden else list_gpus()
    return f"cuda:{gpus[0].index}" if gpus else "cpu"


def training_runs_on_gpu(ws: Workspace, index: int) -> list[str]:
    """Ids of the workspace's live training runs that use GPU `index` (NVML numbering, as the Train page's)."""
    busy = []
    for run_id in list_run_ids(ws):
        record = load_record(ws, run_id)
        if record is not None and index in record.gpus and is_alive(record.identity):
            busy.append(run_id)
    return busy


def gpu_index(device: str) -> int | None:
    """The GPU of "cuda:<index>"; None for the CPU."""
    return int(device.split(":", 1)[1]) if device.startswith("cuda:") else None


def plan_samples(ws: Workspace, request: SampleRequest) -> tuple[SampleRequest, list[PlannedSample]]:
    """The checked request (references resolved) and one planned sample per (checkpoint, sentence).

    Raises CheckpointUnusable, SentenceInvalid, ReferenceUnusable or ConfigInvalid; nothing is started.
    """
    if not request.checkpoints:
        raise ConfigInvalid([FieldError("checkpoints", "pick at least one model file to listen to")])
    if len(request.checkpoints) > MAX_CHECKPOINTS:
        raise ConfigInvalid([FieldError("checkpoints", f"at most {MAX_CHECKPOINTS} model files at a time")])
    if request.device not in ("auto", "cpu") and not re.fullmatch(r"cuda:\d+", request.device):
        raise ConfigInvalid([FieldError("device", f"'{request.device}': use auto, cpu or cuda:<index>")])
    sentences = check_sentences(request.sentences, request.language)
    settings = check_settings(request.settings)
    files = [model_files(ws, path) for path in request.checkpoints]
    fingerprints = [checkpoint_fingerprint(f.model) for f in files]  # a cut or foreign file stops here
    for f in files:
        check_language(f, request.language)
    references = request.references or _default_references(files)
    checked_refs = check_references(tuple(references))
    request = replace(request, sentences=sentences, settings=settings, references=tuple(map(str, checked_refs)))
    ref_hashes = tuple(file_fingerprint(p) for p in checked_refs)
    planned = []
    for f, fingerprint in zip(files, fingerprints):
        vocab_hash = file_fingerprint(f.vocab_json) if f.vocab_json else ""
        rules_hash = _rules_hash(f)
        for text in sentences:
            key = SampleKey(fingerprint, text, request.language, ref_hashes, settings, vocab_hash, rules_hash)
            planned.append(PlannedSample(f.model, f, key))
    return request, planned


def _default_references(files: list[ModelFiles]) -> tuple[str, ...]:
    # One reference for every checkpoint of a comparison, so that only the weights differ: the
    # ready/reference.wav of the first checkpoint that has one.
    for f in files:
        if f.default_reference is not None:
            return (str(f.default_reference),)
    names = ", ".join(f.model.name for f in files)
    raise ReferenceUnusable([FieldError("reference", (
        f"{names}: no ready/reference.wav beside {'its' if len(files) == 1 else 'their'} run; pick one or more "
        "dataset clips as the reference"))])


def _rules_hash(files: ModelFiles) -> str:
    if files.rules is None:
        return ""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(rules_to_json(files.rules), sort_keys=True).encode()).hexdigest()


def request_samples(ws: Workspace, request: SampleRequest) -> JobRecord | list[Sample]:
    """The samples of `request` (checkpoints x sentences, in that order) if all are cached, else the started job.

    Bad input raises CheckpointUnusable / SentenceInvalid / ReferenceUnusable (all ConfigInvalid) and
    starts nothing; a synthesis job already running raises LaunchRefused.
    """
    request, planned = plan_samples(ws, request)
    found = [cached_sample(ws, p.key) for p in planned]
    if all(s is not None for s in found):
        for p in planned:  # this path holds that content too: its samples stay while either file does
            remember_checkpoint(ws, p.key.checkpoint_hash, p.checkpoint)
        return found  # type: ignore[return-value]
    device = resolve_device(ws, request.device)
    params = {"request": replace(request, device=device).to_json(), "workspace_root": str(ws.root),
              "missing": sum(s is None for s in found), "total": len(planned)}
    return start_job(ws, kind=KIND, module=MODULE, target=ws.samples_dir, params=params)


def job_samples(ws: Workspace, job_id: str) -> list[Sample]:
    """The samples a finished synthesis job made or found, in request order ([] while it runs or if it failed)."""
    state = read_job_state(ws, job_id)
    listed = state.result.get("samples") if state.result else None
    if not isinstance(listed, list):
        return []
    pairs = [pair for pair in listed if isinstance(pair, list) and len(pair) == 2]
    found = (sample_by_id(ws, str(checkpoint_hash), str(key_id)) for checkpoint_hash, key_id in pairs)
    return [s for s in found if s is not None]


def live_synthesis_job(ws: Workspace) -> str | None:
    """The id of the synthesis job running now, if any (survives page reloads: read from disk)."""
    return live_job_for(ws, KIND)


def synthesis_jobs(ws: Workspace) -> list[str]:
    """Every synthesis job's id, newest first."""
    return list_job_ids(ws, KIND)


def synthesis_state(ws: Workspace, job_id: str) -> JobState:
    """Phase, progress (done / total, message, ETA) and outcome of a synthesis job."""
    return read_job_state(ws, job_id)


def stop_synthesis(ws: Workspace, job_id: str) -> bool:
    """Stop a running synthesis job (samples already made stay cached); False if it was not running."""
    return stop_job(ws, job_id)
