"""Fixing rows of a metadata CSV in place: a new transcript, or rows moved out to `<stem>.excluded.csv`.

Every write keeps a copy of the previous version in `<csv folder>/.backups/`, then replaces the file
atomically (temp file in the same folder, fsync, rename), so a crash leaves the old or the new CSV,
never half of one. Only the edited records' lines are rewritten; every other byte stays as it was.
Inputs are validated before anything is written.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterable

from core.dataset.metadata_csv import DELIMITER, MetadataCsv, MetadataRow, read_metadata_csv
from core.base.errors import ConfigInvalid

BACKUP_DIR_NAME = ".backups"


def excluded_csv_path(csv_path: Path) -> Path:
    """Where `exclude_rows` keeps the rows it takes out of `csv_path`."""
    return csv_path.with_name(f"{csv_path.stem}.excluded.csv")


def set_text(csv_path: str | os.PathLike, line_no: int, new_text: str) -> Path:
    """Replace the transcript of the row starting at `line_no`; returns the backup's path."""
    if DELIMITER in new_text:
        raise ValueError(f"the text contains '{DELIMITER}', the CSV's column separator; remove it")
    if "\n" in new_text or "\r" in new_text:
        raise ValueError("the text contains a line break; a transcript must be one line")
    if not new_text.strip():
        raise ValueError("the text is empty; write what is said, or exclude the row instead")
    metadata = read_metadata_csv(csv_path)
    row = _require_rows(metadata, [line_no])[0]
    values = list(row.values) + [""] * (len(metadata.header) - len(row.values))
    values[metadata.header.index("text")] = new_text.strip()
    replacement = _format_record(values, _line_ending(metadata.lines[row.last_line_no - 1]))
    lines = list(metadata.lines)
    lines[row.line_no - 1:row.last_line_no] = [replacement]
    return _replace_with_backup(metadata.path, "".join(lines))


def exclude_rows(csv_path: str | os.PathLike, line_nos: Iterable[int]) -> Path:
    """Move the rows starting at `line_nos` to `<stem>.excluded.csv` (same header); returns the backup."""
    metadata = read_metadata_csv(csv_path)
    rows = _require_rows(metadata, sorted(set(line_nos)))
    if not rows:
        raise ValueError("no rows chosen to exclude")
    excluded_path = excluded_csv_path(metadata.path)
    header_line = metadata.lines[0]
    removed = [line for row in rows for line in metadata.lines[row.line_no - 1:row.last_line_no]]
    if excluded_path.exists():
        try:
            previous = read_metadata_csv(excluded_path, "excluded_csv")
        except ConfigInvalid as exc:
            raise ValueError(f"{exc.errors[0].message}; rename {excluded_path.name} so a fresh one can be started") from None
        if previous.header != metadata.header:
            raise ValueError(f"{excluded_path.name} has the columns {list(previous.header)}, not "
                             f"{list(metadata.header)}; rename {excluded_path.name} so a fresh one can be started")
        kept_text = "".join(previous.lines)
    else:
        kept_text = header_line
    # The excluded rows land in their file first: if anything fails after, they are in both, never in neither.
    _write_atomic(excluded_path, _joined(kept_text, removed, _line_ending(header_line)))
    gone = {index for row in rows for index in range(row.line_no - 1, row.last_line_no)}
    remaining = [line for index, line in enumerate(metadata.lines) if index not in gone]
    return _replace_with_backup(metadata.path, "".join(remaining))


def _require_rows(metadata: MetadataCsv, line_nos: list[int]) -> list[MetadataRow]:
    rows = []
    for line_no in line_nos:
        row = metadata.row_at(line_no) if isinstance(line_no, int) else None
        if row is None:
            first, last = (metadata.rows[0].line_no, metadata.rows[-1].line_no) if metadata.rows else (0, 0)
            where = f"its rows are on lines {first}-{last}" if metadata.rows else "it has no rows"
            raise ValueError(f"{metadata.path.name} has no row starting at line {line_no} "
                             f"(line 1 is the header; {where})")
        rows.append(row)
    return rows


def _format_record(values: list[str], line_ending: str) -> str:
    out = io.StringIO()
    # QUOTE_MINIMAL quotes only a field with a '"' in it, so csv readers (and the trainer) get it back intact.
    csv.writer(out, delimiter=DELIMITER, lineterminator=line_ending).writerow(values)
    return out.getvalue()


def _line_ending(line: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if line.endswith(ending):
            return ending
    return ""


def _joined(text: str, lines: list[str], line_ending: str) -> str:
    if text and not text.endswith(("\n", "\r")):
        text += line_ending or "\n"
    lines = list(lines)
    if lines and not _line_ending(lines[-1]):
        lines[-1] += line_ending or "\n"
    return text + "".join(lines)


def _replace_with_backup(path: Path, text: str) -> Path:
    backup = _backup(path)
    _write_atomic(path, text)
    return backup


def _backup(path: Path) -> Path:
    folder = path.parent / BACKUP_DIR_NAME
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = folder / f"{path.name}.{stamp}"
    suffix = 1
    while backup.exists():  # two edits within one microsecond (a fast script): keep both copies
        backup, suffix = folder / f"{path.name}.{stamp}-{suffix}", suffix + 1
    shutil.copy2(path, backup)
    return backup


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # newline="" writes the line endings exactly as they are in `text`.
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)  # mkstemp makes it 0600; keep the CSV's own mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
