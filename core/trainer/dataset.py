"""Coqui-format metadata CSVs (`audio_file|text|speaker_name`), checked before launch."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from core.dataset.metadata_csv import require_csv_file
from core.base.errors import ConfigInvalid, FieldError

REQUIRED_COLUMNS = ("audio_file", "text", "speaker_name")
# Listing every missing clip would flood the page; name a few and count the rest.
MAX_NAMED_MISSING = 5


@dataclass(frozen=True)
class Clip:
    audio_file: Path
    text: str
    speaker_name: str


@dataclass(frozen=True)
class Dataset:
    csv_path: Path
    clips: tuple[Clip, ...]

    def to_samples(self, language: str) -> list[dict]:
        """The sample dicts coqui's XTTS dataset expects (as `load_tts_samples` builds them)."""
        root = str(self.csv_path.parent)
        return [
            {
                "text": c.text,
                "audio_file": str(c.audio_file),
                "speaker_name": c.speaker_name,
                "emotion_name": "neutral",
                "root_path": root,
                "language": language,
                "audio_unique_name": f"{self.csv_path.stem}#{c.audio_file.name}",
            }
            for c in self.clips
        ]


def read_dataset(csv_path: str | Path, field: str) -> Dataset:
    """Parse and check one metadata CSV; audio paths are relative to the CSV's folder."""
    path = require_csv_file(csv_path, field)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="|")
            header = reader.fieldnames or []
            missing_cols = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing_cols:
                raise ConfigInvalid([FieldError(field, (
                    f"{path.name} has columns {header or 'none'}; a coqui metadata CSV needs the header "
                    f"'audio_file|text|speaker_name' (missing: {', '.join(missing_cols)})"))])
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise ConfigInvalid([FieldError(field, f"{path.name} is not UTF-8 text ({exc.reason})")]) from exc
    except (OSError, csv.Error) as exc:
        raise ConfigInvalid([FieldError(field, f"{path.name} cannot be read: {exc}")]) from exc
    clips, missing, empty_text = [], [], []
    for line_no, row in enumerate(rows, start=2):
        audio = (row.get("audio_file") or "").strip()
        text = (row.get("text") or "").strip()
        if not audio or not text:
            empty_text.append(line_no)
            continue
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        if not audio_path.is_file():
            missing.append(audio)
            continue
        clips.append(Clip(audio_path, text, (row.get("speaker_name") or "speaker").strip()))
    problems = []
    if missing:
        named = ", ".join(missing[:MAX_NAMED_MISSING])
        more = f" and {len(missing) - MAX_NAMED_MISSING} more" if len(missing) > MAX_NAMED_MISSING else ""
        problems.append(f"{len(missing)} audio file(s) listed but missing (relative to {path.parent}): {named}{more}")
    if empty_text:
        problems.append(f"rows with an empty audio_file or text at line(s) {', '.join(map(str, empty_text[:MAX_NAMED_MISSING]))}")
    if not problems and not clips:
        problems.append("lists no clips")
    if problems:
        raise ConfigInvalid([FieldError(field, f"{path.name}: " + "; ".join(problems))])
    return Dataset(path, tuple(clips))


def steps_per_epoch(num_clips: int, batch_size: int) -> int:
    """Batches per epoch: the XTTS train loader keeps the last partial batch (drop_last=False)."""
    return math.ceil(num_clips / batch_size) if num_clips > 0 else 0
