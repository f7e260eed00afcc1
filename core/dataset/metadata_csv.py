"""A coqui metadata CSV (`audio_file|text|speaker_name`) read row by row, with where each row sits.

The check reports line numbers and the editor rewrites single rows, so both read the file the same
way: Python's csv module with delimiter "|" and default quoting, as coqui's `coqui` formatter and
core/trainer/dataset.py do, keeping the physical lines each record spans so an edit can replace
exactly those bytes. Error wording follows core/trainer/dataset.py (this package may not import it).
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from core.base.errors import ConfigInvalid, FieldError

REQUIRED_COLUMNS = ("audio_file", "text", "speaker_name")
DELIMITER = "|"


@dataclass(frozen=True)
class MetadataRow:
    line_no: int  # first physical line of the record; the header is line 1
    last_line_no: int  # differs from line_no only when a quoted field spans lines
    values: tuple[str, ...]  # the fields as parsed, in column order
    audio_file: str  # as written
    text: str  # stripped, as the trainer sees it
    speaker_name: str


@dataclass(frozen=True)
class MetadataCsv:
    path: Path
    header: tuple[str, ...]
    rows: tuple[MetadataRow, ...]
    lines: tuple[str, ...]  # every physical line with its line ending, for byte-exact rewrites

    def audio_path(self, row: MetadataRow) -> Path:
        """Where the trainer looks for the row's audio: relative paths are from the CSV's folder."""
        return Path(self.audio_path_str(row))

    def audio_path_str(self, row: MetadataRow) -> str:
        # Plain strings: the cached recheck resolves every row, and pathlib costs 10x as much.
        written = os.path.expanduser(row.audio_file.strip())
        return os.path.normpath(os.path.join(self._folder, written))

    @cached_property
    def _folder(self) -> str:
        return str(self.path.parent)

    def row_at(self, line_no: int) -> MetadataRow | None:
        return next((r for r in self.rows if r.line_no == line_no), None)


def require_csv_file(csv_path: str | os.PathLike, field: str) -> Path:
    """The CSV's path when it names an existing file; ConfigInvalid naming `field` otherwise."""
    if not str(csv_path).strip():
        raise ConfigInvalid([FieldError(field, "choose a metadata CSV (audio_file|text|speaker_name)")])
    path = Path(csv_path).expanduser()
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as exc:  # a name too long for the file system, say: exists() raises rather than answers
        raise ConfigInvalid([FieldError(field, f"{str(path)[:80]}... cannot be used ({exc.strerror or exc})")]) from None
    if not exists:
        raise ConfigInvalid([FieldError(field, f"{path} does not exist")])
    if not is_file:
        raise ConfigInvalid([FieldError(field, f"{path} is a folder; choose the metadata .csv file inside it")])
    return path


def read_metadata_csv(csv_path: str | os.PathLike, field: str = "csv_path") -> MetadataCsv:
    """Parse a metadata CSV; ConfigInvalid (naming `field`) says what to fix when it cannot be read."""
    path = require_csv_file(csv_path, field)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigInvalid([FieldError(field, f"{path.name} cannot be read: {exc.strerror or exc}")]) from None
    return parse_metadata_csv(path, data, field)


def parse_metadata_csv(path: Path, data: bytes, field: str = "csv_path") -> MetadataCsv:
    """Parse already-read CSV bytes (the check hashes the same bytes it parses)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigInvalid([FieldError(field, (
            f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8 in your editor or spreadsheet"))]) from None
    # newline="" splits lines where open(newline="") does, which is how the trainer reads the file.
    lines = tuple(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines), delimiter=DELIMITER)
    try:
        header = tuple(next(reader, []))
        missing_cols = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing_cols:
            bom = " (it starts with a byte-order mark: save as UTF-8 without BOM)" if text.startswith("\ufeff") else ""
            raise ConfigInvalid([FieldError(field, (
                f"{path.name} has columns {list(header) or 'none'}; a coqui metadata CSV needs the header "
                f"'audio_file|text|speaker_name' (missing: {', '.join(missing_cols)}){bom}"))])
        index = {name: header.index(name) for name in REQUIRED_COLUMNS}
        rows, previous_end = [], reader.line_num
        for values in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not values:
                continue  # a blank line: DictReader (and so the trainer) skips it too
            rows.append(_row(start, previous_end, tuple(values), index))
    except csv.Error as exc:
        raise ConfigInvalid([FieldError(field, f"{path.name} cannot be read: line {reader.line_num}: {exc}")]) from None
    return MetadataCsv(path, header, tuple(rows), lines)


def _row(start: int, end: int, values: tuple[str, ...], index: dict[str, int]) -> MetadataRow:
    audio, text, speaker = (values[index[name]] if index[name] < len(values) else "" for name in REQUIRED_COLUMNS)
    return MetadataRow(start, end, values, audio, text.strip(), speaker.strip() or "speaker")
