"""Making a coqui-format dataset from recordings: decode, find speech, transcribe, cut, normalise.

The dataset is built in a hidden folder beside the destination and renamed into place only when
complete, so a stopped or failed job leaves nothing half-written under the destination's name. An
existing destination is never overwritten unless the user asked, and then it is moved aside
(`<name>.previous-<time>`), not deleted.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.base.atomic_io import write_json_atomic
from core.dataset.audio import SUPPORTED_SUFFIXES, TRAINING_RATE_HZ, AudioUnreadable, load_mono, resample, write_wav
from core.dataset.loudness import normalise
from core.dataset.segment import VAD_RATE_HZ, ClipLimits, ClipPlan, Span, TimedWord, plan_clips, speech_spans
from core.dataset.split import DEFAULT_EVAL_SHARE, split_rows
from core.dataset.transcripts import TranscriptInvalid, read_plain, read_srt, transcript_beside
from core.base.errors import ConfigInvalid, FieldError

TRAIN_CSV = "metadata_train.csv"
EVAL_CSV = "metadata_eval.csv"
REPORT_JSON = "create_report.json"
HEADER = ("audio_file", "text", "speaker_name")


@dataclass(frozen=True)
class CreateRequest:
    sources: tuple[str, ...]  # audio files and/or folders of them
    output_dir: str
    speaker_name: str = "speaker"
    language: str = "en"
    min_clip_s: float = 1.0
    max_clip_s: float = 11.0
    eval_share: float = DEFAULT_EVAL_SHARE
    transcribe: bool = True  # Whisper for recordings without a transcript beside them
    whisper_size: str = "small"
    whisper_local_dir: str = ""
    replace_existing: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> "CreateRequest":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["sources"] = tuple(known.get("sources", ()))
        return cls(**known)


@dataclass
class CreateResult:
    output_dir: str = ""
    train_csv: str = ""
    eval_csv: str = ""
    clips: int = 0
    eval_clips: int = 0
    total_s: float = 0.0
    recordings: int = 0
    dropped: list[dict] = field(default_factory=list)  # {"recording", "start_s", "end_s", "reason"}
    clipped: list[str] = field(default_factory=list)  # clips whose source was already clipped
    skipped: list[dict] = field(default_factory=list)  # {"recording", "reason"}: recordings not used
    previous_moved_to: str = ""


def save_uploads(folder: Path, uploads: list[tuple[str, bytes]]) -> Path:
    """Recordings uploaded in the browser, written under `folder` (base names only: no path escapes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in uploads:
        target = folder / Path(name).name
        temp = target.with_name(f".{target.name}.partial")
        temp.write_bytes(data)
        os.replace(temp, target)
    return folder


def list_recordings(sources: tuple[str, ...]) -> list[Path]:
    """Every accepted audio file named or inside a named folder; bad input raises ConfigInvalid."""
    if not sources:
        raise ConfigInvalid([FieldError("sources", "choose at least one audio file or a folder of recordings")])
    found, problems = [], []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            try:
                inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES and p.is_file())
            except OSError as exc:
                problems.append(f"{path} cannot be read ({exc.strerror or exc})")
                continue
            if not os.access(path, os.R_OK | os.X_OK):
                problems.append(f"{path} cannot be read (permission denied)")
            elif not inside:
                problems.append(f"{path} holds no audio files ({', '.join(SUPPORTED_SUFFIXES)})")
            found.extend(inside)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append(f"{path.name} is not an accepted audio file ({', '.join(SUPPORTED_SUFFIXES)})")
            elif path.stat().st_size == 0:
                problems.append(f"{path.name} is empty (0 bytes)")
            else:
                found.append(path)
        else:
            problems.append(f"{path} does not exist")
    if problems:
        raise ConfigInvalid([FieldError("sources", "; ".join(problems))])
    return found


def check_request(request: CreateRequest) -> list[Path]:
    """Everything that can be checked before the job starts; returns the recordings."""
    errors = []
    try:
        ClipLimits(request.min_clip_s, request.max_clip_s)
    except ValueError as exc:
        errors.append(FieldError("max_clip_s", str(exc)))
    if not 0.0 < request.eval_share < 0.5:
        errors.append(FieldError("eval_share", f"the eval share must be between 1% and 49% (got {request.eval_share:.0%})"))
    if not request.output_dir.strip():
        errors.append(FieldError("output_dir", "choose a folder for the new dataset"))
    else:
        out = Path(request.output_dir).expanduser()
        if out.exists() and not out.is_dir():
            errors.append(FieldError("output_dir", f"{out} is a file; choose a folder"))
        elif out.is_dir() and any(out.iterdir()) and not request.replace_existing:
            errors.append(FieldError("output_dir", f"{out} already holds files; choose a new folder, or confirm "
                                                   "replacing it (the old one is kept as <name>.previous-<time>)"))
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not os.access(parent, os.W_OK):
            errors.append(FieldError("output_dir", f"{parent} is not writable; choose a folder you can write to"))
    if "|" in request.speaker_name or not request.speaker_name.strip():
        errors.append(FieldError("speaker_name", "give the speaker a name without '|'"))
    if errors:
        raise ConfigInvalid(errors)
    return list_recordings(request.sources)


Progress = Callable[[int, int, str], None]


def make_dataset(request: CreateRequest, *, partial_dir: Path, transcriber_factory: Callable[[], object] | None,
                 progress: Progress = lambda done, total, message: None) -> CreateResult:
    """Build the dataset in `partial_dir`, then move it to `request.output_dir` (see the module doc)."""
    recordings = check_request(request)
    limits = ClipLimits(request.min_clip_s, request.max_clip_s)
    result = CreateResult(recordings=len(recordings))
    rows: list[tuple[str, str, str]] = []
    transcriber = _Lazy(transcriber_factory, lambda: progress(done, len(recordings), "loading the Whisper model")) \
        if request.transcribe and transcriber_factory else None
    wavs = partial_dir / "wavs"
    try:
        wavs.mkdir(parents=True)
        for done, recording in enumerate(recordings):
            progress(done, len(recordings), f"{recording.name}: finding speech")
            try:
                mono, rate = load_mono(recording)
            except AudioUnreadable as exc:
                result.skipped.append({"recording": str(recording), "reason": str(exc)})
                continue
            mono_16k = resample(mono, rate, VAD_RATE_HZ)
            total_s = mono.size / rate
            plan = _plan_for(recording, mono_16k, total_s, limits, request, transcriber)
            if isinstance(plan, str):
                result.skipped.append({"recording": str(recording), "reason": plan})
                continue
            clip_audio = resample(mono, rate, TRAINING_RATE_HZ)
            for index, clip in enumerate(plan.clips):
                if not clip.text.strip():
                    result.dropped.append(_dropped(recording, clip, "no words transcribed in it"))
                    continue
                name = f"{recording.stem}_{index:04d}.wav"
                piece = clip_audio[int(clip.start_s * TRAINING_RATE_HZ):int(clip.end_s * TRAINING_RATE_HZ)]
                level = normalise(piece, TRAINING_RATE_HZ)
                write_wav(wavs / name, level.samples, TRAINING_RATE_HZ)
                if level.clipped:
                    result.clipped.append(f"wavs/{name}")
                rows.append((f"wavs/{name}", clip.text.replace("|", " ").strip(), request.speaker_name.strip()))
                result.total_s += piece.size / TRAINING_RATE_HZ
            result.dropped.extend(_dropped(recording, span, reason) for span, reason in plan.dropped)
            progress(done + 1, len(recordings), f"{recording.name}: {len(plan.clips)} clips")
        if not rows:
            reasons = "; ".join(s["reason"] for s in result.skipped[:3]) or "no speech long enough was found"
            raise ValueError(f"no clips were made ({reasons})")
        train, evaluation = split_rows(rows, key=lambda r: r[0], speaker=lambda r: r[2], eval_share=request.eval_share)
        _write_csv(partial_dir / TRAIN_CSV, train)
        _write_csv(partial_dir / EVAL_CSV, evaluation)
        result.clips, result.eval_clips = len(rows), len(evaluation)
        final = Path(request.output_dir).expanduser().resolve()
        result.output_dir, result.train_csv, result.eval_csv = str(final), str(final / TRAIN_CSV), str(final / EVAL_CSV)
        write_json_atomic(partial_dir / REPORT_JSON, asdict(result))
        result.previous_moved_to = _move_into_place(partial_dir, final, request.replace_existing)
        if result.previous_moved_to:
            write_json_atomic(final / REPORT_JSON, asdict(result))
        return result
    finally:
        shutil.rmtree(partial_dir, ignore_errors=True)  # gone after the rename; a stopped job's leftovers otherwise


class _Lazy:
    """The Whisper model, loaded on first use only: recordings with transcripts never need it."""

    def __init__(self, factory: Callable[[], object], announce: Callable[[], None]):
        self._factory, self._announce, self._made = factory, announce, None

    def __call__(self):
        if self._made is None:
            self._announce()
            self._made = self._factory()
        return self._made


def _plan_for(recording: Path, mono_16k: np.ndarray, total_s: float, limits: ClipLimits, request: CreateRequest,
              transcriber: _Lazy | None) -> ClipPlan | str:
    """Clips with their text, or the reason the recording cannot be used."""
    transcript = transcript_beside(recording)
    if transcript is None and transcriber is None:
        return f"no transcript (add {recording.stem}.srt or {recording.stem}.txt beside it, or turn transcription on)"
    try:
        if transcript is not None and transcript.suffix == ".srt":
            return plan_clips(read_srt(transcript), limits, total_s=total_s)
        speech = speech_spans(mono_16k, max_s=limits.max_s)
        if not speech:
            return "no speech found"
        if transcript is not None:
            whole = Span(speech[0].start_s, speech[-1].end_s, read_plain(transcript))
            if whole.duration_s > limits.max_s:
                return (f"{transcript.name} is one text for {whole.duration_s:.0f} s of speech, longer than a clip may be "
                        f"({limits.max_s:g} s): give an .srt with timings, or remove the .txt so Whisper transcribes it")
            return plan_clips([whole], limits, total_s=total_s)
    except TranscriptInvalid as exc:
        return str(exc)
    heard = transcriber().transcribe(mono_16k, request.language)
    words = [TimedWord(w.start_s, w.end_s, w.text) for segment in heard.segments for w in segment.words]
    return plan_clips(speech, limits, total_s=total_s, words=words)


def _dropped(recording: Path, span: Span, reason: str) -> dict:
    return {"recording": recording.name, "start_s": round(span.start_s, 2), "end_s": round(span.end_s, 2), "reason": reason}


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    buffer = io.StringIO()
    # Default (minimal) quoting: what coqui's formatter and our reader parse, whatever the text holds.
    writer = csv.writer(buffer, delimiter="|", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())


def _move_into_place(partial: Path, final: Path, replace_existing: bool) -> str:
    """Rename the finished folder to its name; an existing one is moved aside, never deleted."""
    moved = ""
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        if not replace_existing:
            raise ValueError(f"{final} appeared while the dataset was being made; it was left as it is")
        aside = final.with_name(f"{final.name}.previous-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(final, aside)
        moved = str(aside)
    elif final.exists():
        final.rmdir()
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, final)
    return moved
