"""The check before training: every row of a metadata CSV against what XTTS's trainer will do with it.

Why it exists (coqui TTS/tts/layers/xtts/trainer/dataset.py): the trainer never stops on a bad
sample, it silently trains on another one instead. A clip that fails to load, is under 0.5 s, has
more samples than max_wav_length or more tokens than max_text_length, or whose text holds a
character the vocabulary maps to [UNK] (an assert inside the loader, caught by a bare `except`) is
swapped for sample 1. A broken dataset therefore "trains fine" on fewer, repeated clips. This check
names those rows, plus the ones that will merely hurt the voice, before a run starts.

A report is cached by content: the key hashes the CSV, the vocabulary, the language and limits, and
every audio file's (path, size, mtime_ns), so a recheck reads the CSV and stats files and nothing else.
"""
from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.base.atomic_io import read_json, write_json_atomic
from core.dataset.audio import TRAINING_RATE_HZ, AudioUnreadable
from core.dataset.clip_stats import ClipStats, measure_clip
from core.dataset.loudness import CLIPPED_SHARE
from core.dataset.metadata_csv import MetadataCsv, MetadataRow, read_metadata_csv
from core.dataset.report import REPORT_VERSION, DatasetIssue, DatasetReport, IssueKind, Severity
from core.dataset.text_tokens import UNK_ID, XttsText
from core.base.errors import ConfigInvalid, FieldError

TRAINER_MIN_S = 0.5  # XTTSDataset.load_item rejects anything shorter
MAX_EDGE_SILENCE_S = 1.0
NEAR_SILENT_DBFS = -45.0
# A clip's characters per second is an outlier when it is both this many times off the median and
# far off in robust (median absolute deviation) terms: datasets with naturally varied pacing keep
# a wide MAD and are not flagged wholesale.
RATE_RATIO = 2.5
RATE_ROBUST_Z = 3.5
MIN_CLIPS_FOR_RATE = 5


@dataclass(frozen=True)
class CheckLimits:
    language: str
    max_audio_length_s: float
    min_audio_length_s: float
    max_text_tokens: int
    romanize: str = ""  # a new language's romanisation (core.language): part of what the text becomes

    @property
    def max_wav_samples(self) -> int:
        return int(self.max_audio_length_s * TRAINING_RATE_HZ)  # as core/trainer/gpt_config.py sets it


def check_dataset(csv_path: str | os.PathLike, *, vocab_path: str | os.PathLike, language: str,
                  max_audio_length_s: float = 11.0, min_audio_length_s: float = 1.0,
                  max_text_tokens: int = 200, cache_dir: Path | None = None,
                  other_csv: Path | None = None, romanize: str = "") -> DatasetReport:
    """Check a metadata CSV (and its overlap with `other_csv`); ConfigInvalid if it cannot be read."""
    limits = CheckLimits(language, max_audio_length_s, min_audio_length_s, max_text_tokens, romanize)
    metadata = read_metadata_csv(csv_path, "csv_path")
    vocab_bytes = _read_vocab(Path(vocab_path))
    other = read_metadata_csv(other_csv, "other_csv") if other_csv is not None else None
    cache_file = None
    if cache_dir is not None:
        key = _cache_key(metadata, vocab_bytes, limits, other)
        cache_file = Path(cache_dir) / f"{key}.json"
        cached = read_json(cache_file)
        if isinstance(cached, dict):
            try:
                return replace(DatasetReport.from_json(cached), from_cache=True)
            except ValueError:
                pass  # written by another version of the check: make a new one
    # Only a miss builds the tokenizer: its coqui import (torch) takes seconds.
    report = _build_report(metadata, XttsText(vocab_path, language, romanize), limits, other)
    if cache_file is not None:
        write_json_atomic(cache_file, report.to_json())
    return report


def _read_vocab(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigInvalid([FieldError("vocab_path", (
            f"{path} cannot be read ({exc.strerror or exc}); it is the vocab.json beside the base model"))]) from None


def _cache_key(metadata: MetadataCsv, vocab_bytes: bytes, limits: CheckLimits,
               other: MetadataCsv | None) -> str:
    digest = hashlib.sha256()

    def add(part: bytes | str) -> None:
        part = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(f"{len(part)}:".encode() + part)  # length-prefixed: no two inputs hash alike

    add(f"report-v{REPORT_VERSION}")
    add("".join(metadata.lines))
    add(vocab_bytes)
    add(repr(limits))
    add("".join(other.lines) if other else "<no other csv>")
    for path in sorted({metadata.audio_path_str(row) for row in metadata.rows}):
        try:
            stat = os.stat(path)
            add(f"{path}|{stat.st_size}|{stat.st_mtime_ns}")
        except OSError:
            add(f"{path}|missing")
    return digest.hexdigest()


def _build_report(metadata: MetadataCsv, text_rules: XttsText, limits: CheckLimits, other: MetadataCsv | None) -> DatasetReport:
    issues: list[DatasetIssue] = []
    unknown_total: Counter[str] = Counter()
    first_line_of_text: dict[str, int] = {}
    first_line_of_audio: dict[Path, int] = {}
    other_paths = {other.audio_path(r) for r in other.rows} if other else set()
    per_speaker_s: Counter[str] = Counter()
    points: list[tuple[int, str, float, float]] = []  # line, audio_file, duration_s, chars/s
    kept_clips, total_s, kept_s = 0, 0.0, 0.0
    for row in metadata.rows:
        found = _RowIssues(row)
        path = metadata.audio_path(row)
        stats = _check_audio(found, path, limits)
        text_ok = _check_text(found, row, text_rules, limits, unknown_total)
        _check_repeats(found, row, path, first_line_of_text, first_line_of_audio, other_paths, other)
        issues.extend(found.issues)
        if stats is None:
            continue
        total_s += stats.duration_s
        per_speaker_s[row.speaker_name] += stats.duration_s
        chars_per_s = len(row.text) / stats.duration_s if stats.duration_s > 0 else 0.0
        points.append((row.line_no, row.audio_file, stats.duration_s, chars_per_s))
        if text_ok and _trainer_keeps_audio(stats, limits):
            kept_clips += 1
            kept_s += stats.duration_s
    median = _flag_rate_outliers(points, issues)
    if metadata.rows and kept_clips == 0:
        issues.append(DatasetIssue(None, "", IssueKind.NO_CLIPS_KEPT, Severity.ERROR, (
            "the trainer would keep none of these clips; fix the errors and warnings above first")))
    issues.sort(key=lambda i: (i.line_no if i.line_no is not None else math.inf))
    return DatasetReport(
        csv_path=str(metadata.path), clips=len(metadata.rows), kept_clips=kept_clips,
        total_s=total_s, kept_s=kept_s, per_speaker_s=dict(per_speaker_s),
        unknown_chars=dict(unknown_total.most_common()), issues=tuple(issues),
        clip_line_nos=tuple(p[0] for p in points), durations_s=tuple(p[2] for p in points),
        chars_per_s=tuple(p[3] for p in points), median_chars_per_s=median)


class _RowIssues:
    """Collects one row's issues with its line and audio_file filled in."""

    def __init__(self, row: MetadataRow):
        self.row, self.issues = row, []

    def add(self, kind: IssueKind, severity: Severity, message: str) -> None:
        self.issues.append(DatasetIssue(self.row.line_no, self.row.audio_file, kind, severity, message))


def _check_audio(found: _RowIssues, path: Path, limits: CheckLimits) -> ClipStats | None:
    if not found.row.audio_file.strip():
        found.add(IssueKind.AUDIO_MISSING, Severity.ERROR, "the audio_file column is empty; fill it in or exclude the row")
        return None
    if not path.is_file():
        found.add(IssueKind.AUDIO_MISSING, Severity.ERROR, (
            f"{path} does not exist (audio paths are relative to the CSV's folder); "
            "restore the file, fix the path or exclude the row"))
        return None
    if path.stat().st_size == 0:
        found.add(IssueKind.AUDIO_EMPTY, Severity.ERROR, (
            "the audio file is empty (0 bytes), most likely an interrupted copy; copy it again or exclude the row"))
        return None
    try:
        stats = measure_clip(path)
    except AudioUnreadable as exc:
        found.add(IssueKind.AUDIO_UNREADABLE, Severity.ERROR, (
            f"{exc}; the trainer would silently train on another clip in its place. "
            "Re-export it as WAV or exclude the row"))
        return None
    if stats.sample_rate_hz != TRAINING_RATE_HZ:
        found.add(IssueKind.SAMPLE_RATE, Severity.INFO, (
            f"recorded at {stats.sample_rate_hz} Hz; the trainer resamples it to {TRAINING_RATE_HZ} Hz "
            "on every load" + (" (a lower rate cannot bring back the lost high frequencies)"
                               if stats.sample_rate_hz < TRAINING_RATE_HZ else "")))
    if stats.channels != 1:
        found.add(IssueKind.CHANNELS, Severity.INFO, f"{stats.channels} channels; the trainer averages them to mono")
    seconds = f"{stats.duration_s:.2f} s"
    if stats.duration_s < limits.min_audio_length_s:
        dropped = "the trainer drops clips under 0.5 s" if stats.duration_s < TRAINER_MIN_S else "it teaches little"
        found.add(IssueKind.TOO_SHORT, Severity.WARNING, (
            f"{seconds} is shorter than {limits.min_audio_length_s:g} s ({dropped}); merge it with a neighbour or exclude it"))
    if round(stats.duration_s * TRAINING_RATE_HZ) > limits.max_wav_samples:
        found.add(IssueKind.TOO_LONG, Severity.WARNING, (
            f"{seconds} is longer than the {limits.max_audio_length_s:g} s maximum audio length: the trainer would "
            "drop this clip. Cut it at a pause into shorter clips, or raise the maximum audio length"))
    if stats.rms_dbfs < NEAR_SILENT_DBFS:
        found.add(IssueKind.NEAR_SILENT, Severity.WARNING, (
            f"almost silent (RMS {stats.rms_dbfs:.0f} dBFS); check the recording or exclude the row"))
        return stats  # silence at the edges says nothing more about a clip that is all silence
    for kind, edge, silence_s in ((IssueKind.LEADING_SILENCE, "starts with", stats.leading_silence_s),
                                  (IssueKind.TRAILING_SILENCE, "ends with", stats.trailing_silence_s)):
        if silence_s > MAX_EDGE_SILENCE_S:
            found.add(kind, Severity.WARNING, (
                f"{edge} {silence_s:.1f} s of silence; trim it to under {MAX_EDGE_SILENCE_S:g} s "
                "so the model does not learn long pauses"))
    if stats.clipped_fraction >= CLIPPED_SHARE:
        found.add(IssueKind.CLIPPING, Severity.WARNING, (
            f"{stats.clipped_fraction:.1%} of its samples are at full scale (clipped, distorted); "
            "re-record at a lower gain or exclude it: normalising cannot undo clipping"))
    return stats


def _check_text(found: _RowIssues, row: MetadataRow, text_rules: XttsText, limits: CheckLimits,
                unknown_total: Counter[str]) -> bool:
    """True when the trainer accepts the text (not empty, no [UNK], within the token limit)."""
    if not row.text:
        found.add(IssueKind.EMPTY_TEXT, Severity.ERROR, "the transcript is empty; write what is said or exclude the row")
        return False
    ok = True
    if row.last_line_no > row.line_no:
        found.add(IssueKind.QUOTE_SPANS_LINES, Severity.ERROR, (
            f"a '\"' at the start of a field opens a quote that runs to line {row.last_line_no}, so the "
            "trainer reads those lines as this one row's text; remove that quote character"))
        ok = False
    unknown = text_rules.unknown_chars(row.text)
    token_ids = text_rules.token_ids(row.text)
    if unknown or UNK_ID in token_ids:
        unknown_total.update(unknown)
        named = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in unknown) or "part of the text"
        found.add(IssueKind.UNKNOWN_CHARS, Severity.ERROR, (
            f"the model's vocabulary cannot encode {named}; training would silently swap this clip for "
            "another. Spell it out or replace it with letters the language uses"))
        ok = False
    if len(token_ids) > limits.max_text_tokens:
        found.add(IssueKind.TOO_MANY_TOKENS, Severity.WARNING, (
            f"{len(token_ids)} text tokens, more than the trainer's {limits.max_text_tokens}: it would drop "
            "this clip. Split the clip and its text at a sentence break"))
        ok = False
    if len(row.text) > text_rules.char_limit:
        found.add(IssueKind.TOO_MANY_CHARS, Severity.WARNING, (
            f"{len(row.text)} characters, over XTTS's {text_rules.char_limit} for '{limits.language}' "
            "(longer texts get truncated audio); split the clip and its text"))
    return ok


def _check_repeats(found: _RowIssues, row: MetadataRow, path: Path, first_line_of_text: dict[str, int],
                   first_line_of_audio: dict[Path, int], other_paths: set[Path], other: MetadataCsv | None) -> None:
    text_key = " ".join(row.text.casefold().split())
    if text_key and text_key in first_line_of_text:
        found.add(IssueKind.DUPLICATE_TEXT, Severity.WARNING, (
            f"same text as line {first_line_of_text[text_key]}; if it is a copied row or transcript, fix or exclude one"))
    first_line_of_text.setdefault(text_key, row.line_no)
    if row.audio_file.strip() and path in first_line_of_audio:
        found.add(IssueKind.DUPLICATE_AUDIO, Severity.WARNING, (
            f"same audio file as line {first_line_of_audio[path]}: the clip would be trained on twice; exclude one row"))
    first_line_of_audio.setdefault(path, row.line_no)
    if path in other_paths and other is not None:
        found.add(IssueKind.IN_OTHER_CSV, Severity.WARNING, (
            f"this clip is also in {other.path.name}: evaluation on training clips hides overfitting; "
            "exclude it from one of the two"))


def _trainer_keeps_audio(stats: ClipStats, limits: CheckLimits) -> bool:
    return TRAINER_MIN_S <= stats.duration_s and round(stats.duration_s * TRAINING_RATE_HZ) <= limits.max_wav_samples


def _flag_rate_outliers(points: list[tuple[int, str, float, float]], issues: list[DatasetIssue]) -> float | None:
    """Flag clips whose characters per second are far from the median; returns the median."""
    rated = [(line, audio, rate) for line, audio, duration_s, rate in points if rate > 0 and duration_s >= TRAINER_MIN_S]
    if len(rated) < MIN_CLIPS_FOR_RATE:
        return None
    logs = np.log([rate for _line, _audio, rate in rated])
    centre = float(np.median(logs))
    spread = 1.4826 * float(np.median(np.abs(logs - centre)))  # MAD scaled to a standard deviation
    median = math.exp(centre)
    for (line, audio, rate), log_rate in zip(rated, logs):
        off = abs(float(log_rate) - centre)
        if off > math.log(RATE_RATIO) and (spread == 0 or off > RATE_ROBUST_Z * spread):
            pace = "fast" if rate > median else "slow"
            issues.append(DatasetIssue(line, audio, IssueKind.RATE_OUTLIER, Severity.WARNING, (
                f"{rate:.1f} characters per second, very {pace} against this dataset's median of {median:.1f}: "
                "likely a wrong transcript or a bad cut. Listen to it and fix the text or the cut")))
    return median
