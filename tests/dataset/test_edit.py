"""set_text and exclude_rows on real CSV files: atomic, backed up, and nothing else changes."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.dataset.edit import exclude_rows, excluded_csv_path, set_text
from core.dataset.metadata_csv import read_metadata_csv

HEADER = "audio_file|text|speaker_name"


@pytest.fixture
def csv_path(tmp_path) -> Path:
    path = tmp_path / "metadata_train.csv"
    # CRLF on purpose, an odd spacing and a quoted field: an edit must leave these bytes alone.
    path.write_bytes((f"{HEADER}\r\n"
                      "wavs/a.wav|First line.|anna\r\n"
                      "wavs/b.wav|  Second,  spaced |anna\r\n"
                      'wavs/c.wav|"She said ""hi""."|ben\r\n'
                      "wavs/d.wav|Last line, no ending.|ben").encode("utf-8"))
    return path


def parsed(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), delimiter="|"))


def backups(path: Path) -> list[Path]:
    return sorted((path.parent / ".backups").glob(f"{path.name}.*"))


def test_set_text_rewrites_one_row_and_keeps_a_backup(csv_path):
    before = csv_path.read_bytes()
    backup = set_text(csv_path, 3, 'Now "quoted", fixed.')
    after = csv_path.read_bytes()
    assert backups(csv_path) == [backup] and backup.read_bytes() == before
    assert backup.name.startswith("metadata_train.csv.") and len(backup.name.split(".")[-1]) == 22
    old_lines, new_lines = before.split(b"\r\n"), after.split(b"\r\n")
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b] == [2]
    assert len(old_lines) == len(new_lines)
    assert parsed(csv_path)[1] == {"audio_file": "wavs/b.wav", "text": 'Now "quoted", fixed.', "speaker_name": "anna"}
    assert not list(csv_path.parent.glob(".*.tmp"))


def test_set_text_on_the_last_line_without_an_ending(csv_path):
    set_text(csv_path, 5, "The end.")
    assert csv_path.read_bytes().endswith(b"\r\nwavs/d.wav|The end.|ben")
    assert read_metadata_csv(csv_path).rows[-1].text == "The end."


def test_exclude_rows_moves_them_to_the_excluded_csv(csv_path):
    before = csv_path.read_bytes()
    backup = exclude_rows(csv_path, [4, 2])
    assert backup.read_bytes() == before
    assert csv_path.read_bytes() == (f"{HEADER}\r\nwavs/b.wav|  Second,  spaced |anna\r\n"
                                     "wavs/d.wav|Last line, no ending.|ben").encode()
    excluded = excluded_csv_path(csv_path)
    assert excluded.name == "metadata_train.excluded.csv"
    assert excluded.read_bytes() == (f"{HEADER}\r\nwavs/a.wav|First line.|anna\r\n"
                                     'wavs/c.wav|"She said ""hi""."|ben\r\n').encode()

    exclude_rows(csv_path, [3])  # the last row now, the one without a line ending
    assert [r["audio_file"] for r in parsed(excluded)] == ["wavs/a.wav", "wavs/c.wav", "wavs/d.wav"]
    assert [r["audio_file"] for r in parsed(csv_path)] == ["wavs/b.wav"]
    assert len(backups(csv_path)) == 2


def test_excluding_every_row_leaves_the_header(csv_path):
    exclude_rows(csv_path, range(2, 6))
    assert csv_path.read_bytes() == f"{HEADER}\r\n".encode()
    assert len(parsed(excluded_csv_path(csv_path))) == 4


@pytest.mark.parametrize("line_no, text, message", [
    (1, "Fine.", "line 1 is the header"),
    (0, "Fine.", "no row starting at line 0"),
    (6, "Fine.", "rows are on lines 2-5"),
    (2, "one | two", "column separator"),
    (2, "one\ntwo", "line break"),
    (2, "one\rtwo", "line break"),
    (2, "   ", "the text is empty"),
])
def test_bad_set_text_input_writes_nothing(csv_path, line_no, text, message):
    before = csv_path.read_bytes()
    with pytest.raises(ValueError, match=message):
        set_text(csv_path, line_no, text)
    assert csv_path.read_bytes() == before
    assert backups(csv_path) == []


@pytest.mark.parametrize("line_nos, message", [([2, 9], "no row starting at line 9"), ([1], "header"), ([], "no rows")])
def test_bad_exclude_input_writes_nothing(csv_path, line_nos, message):
    before = csv_path.read_bytes()
    with pytest.raises(ValueError, match=message):
        exclude_rows(csv_path, line_nos)
    assert csv_path.read_bytes() == before
    assert backups(csv_path) == [] and not excluded_csv_path(csv_path).exists()


def test_an_excluded_csv_with_other_columns_is_not_appended_to(csv_path):
    excluded_csv_path(csv_path).write_text("audio_file|text\nwavs/x.wav|x\n")
    before = csv_path.read_bytes()
    with pytest.raises(ValueError, match="rename metadata_train.excluded.csv"):
        exclude_rows(csv_path, [2])
    assert csv_path.read_bytes() == before


def test_a_quoted_text_spanning_lines_is_one_row(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text(f'{HEADER}\nwavs/a.wav|"two\nlines"|anna\nwavs/b.wav|after|anna\n')
    rows = read_metadata_csv(path).rows
    assert [(r.line_no, r.last_line_no) for r in rows] == [(2, 3), (4, 4)]
    set_text(path, 4, "changed")
    assert path.read_text() == f'{HEADER}\nwavs/a.wav|"two\nlines"|anna\nwavs/b.wav|changed|anna\n'
    exclude_rows(path, [2])
    assert path.read_text() == f"{HEADER}\nwavs/b.wav|changed|anna\n"
