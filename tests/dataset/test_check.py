"""check_dataset on real files: one crafted dataset with every defect, the demo dataset, the cache."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile

import core.dataset.check as check_module
from core.dataset.check import check_dataset
from core.dataset.edit import set_text
from core.dataset.report import DatasetReport, IssueKind, Severity
from core.dataset.report_charts import plotly_figures
from core.base.errors import ConfigInvalid

RATE = 22050
NORMAL_TEXTS = [  # about 12 characters per second on the 2 s tones below
    "the quick brown fox ran.", "seven birds sang softly.", "a lazy dog slept today.",
    "old river stones shine.", "bright yellow flowers.", "she walked to the shop.",
    "we met near the bridge.", "my cat likes warm milk.", "rain fell on the roof.",
    "he opened the red door.", "they played in the park.",
]
LONG_TEXT = ("the long recording goes on and on about many small things " * 5).strip()[:260]
WRONG_TRANSCRIPT = ("this transcript belongs to a much longer recording and was pasted beside a clip "
                    "of barely more than one second by mistake during the export")


def tone(seconds: float, rate: int = RATE, amplitude: float = 0.3, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = amplitude * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t) ** 2)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def write(folder: Path, name: str, samples: np.ndarray, rate: int = RATE) -> str:
    soundfile.write(str(folder / "wavs" / name), np.clip(samples, -1, 1), rate, subtype="PCM_16")
    return f"wavs/{name}"


def write_csv(path: Path, rows: list[tuple[str, str]], speaker: str = "anna") -> Path:
    lines = ["audio_file|text|speaker_name"] + [f"{audio}|{text}|{speaker}" for audio, text in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def vocab(demo_workspace) -> Path:
    return demo_workspace[1].base_dir / "vocab.json"


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> Path:
    """A dataset with one row per defect; the line numbers are asserted in `EXPECTED`."""
    folder = tmp_path_factory.mktemp("crafted")
    (folder / "wavs").mkdir()
    ok = [write(folder, f"ok_{i}.wav", tone(2.0)) for i in range(11)]
    (folder / "wavs" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot really audio" * 20)
    (folder / "wavs" / "empty.wav").write_bytes(b"")
    silence = np.zeros(int(1.5 * RATE))
    rows = [(ok[i], NORMAL_TEXTS[i]) for i in range(8)] + [  # lines 2-9
        ("wavs/corrupt.wav", NORMAL_TEXTS[0] + " again"),  # 10
        ("wavs/empty.wav", NORMAL_TEXTS[1] + " again"),  # 11
        (write(folder, "stereo8k.wav", tone(2.0, 8000, channels=2), 8000), NORMAL_TEXTS[8]),  # 12
        (write(folder, "long30.wav", tone(30.0)), LONG_TEXT),  # 13
        (ok[8], "   "),  # 14
        (ok[9], "Straße über ßig"),  # 15: ß twice, ü once
        (ok[0], NORMAL_TEXTS[9]),  # 16: same audio as line 2
        (ok[10], NORMAL_TEXTS[1]),  # 17: same text as line 3
        (write(folder, "wrong_transcript.wav", tone(1.2)), WRONG_TRANSCRIPT),  # 18
        (write(folder, "clipped.wav", tone(2.0, amplitude=3.0)), NORMAL_TEXTS[10]),  # 19
        (write(folder, "silent.wav", np.zeros(2 * RATE)), "nothing at all here, sir."),  # 20
        (write(folder, "padded.wav", np.concatenate([silence, tone(2.0), silence])),
         "a clip with long pauses before and after it."),  # 21
        (write(folder, "short.wav", tone(0.6)), "so short"),  # 22
        ("wavs/missing.wav", "this file was never copied."),  # 23
    ]
    return write_csv(folder / "metadata_train.csv", rows)


EXPECTED = {
    10: {IssueKind.AUDIO_UNREADABLE}, 11: {IssueKind.AUDIO_EMPTY},
    12: {IssueKind.SAMPLE_RATE, IssueKind.CHANNELS},
    13: {IssueKind.TOO_LONG, IssueKind.TOO_MANY_TOKENS, IssueKind.TOO_MANY_CHARS},
    14: {IssueKind.EMPTY_TEXT}, 15: {IssueKind.UNKNOWN_CHARS}, 16: {IssueKind.DUPLICATE_AUDIO},
    17: {IssueKind.DUPLICATE_TEXT}, 18: {IssueKind.RATE_OUTLIER}, 19: {IssueKind.CLIPPING},
    20: {IssueKind.NEAR_SILENT}, 21: {IssueKind.LEADING_SILENCE, IssueKind.TRAILING_SILENCE},
    22: {IssueKind.TOO_SHORT}, 23: {IssueKind.AUDIO_MISSING},
}


@pytest.fixture(scope="module")
def crafted_report(crafted, vocab) -> DatasetReport:
    return check_dataset(crafted, vocab_path=vocab, language="en")


def test_every_defect_is_found_on_its_own_line(crafted_report):
    found = {}
    for issue in crafted_report.issues:
        found.setdefault(issue.line_no, set()).add(issue.kind)
    assert found == EXPECTED


def test_severities_say_what_the_trainer_does(crafted_report):
    severity = {(i.line_no, i.kind): i.severity for i in crafted_report.issues}
    for line in (10, 11, 14, 15, 23):
        assert {severity[(line, kind)] for kind in EXPECTED[line]} == {Severity.ERROR}
    assert severity[(12, IssueKind.SAMPLE_RATE)] == severity[(12, IssueKind.CHANNELS)] == Severity.INFO
    assert {i.line_no for i in crafted_report.errors} == {10, 11, 14, 15, 23}
    assert all(i.severity == Severity.WARNING for i in crafted_report.warnings)


def test_messages_say_what_to_fix(crafted_report):
    by_kind = {i.kind: i for i in crafted_report.issues}
    assert "the trainer would drop this clip" in by_kind[IssueKind.TOO_LONG].message
    assert "likely a wrong transcript or a bad cut" in by_kind[IssueKind.RATE_OUTLIER].message
    assert "'ß' (U+00DF)" in by_kind[IssueKind.UNKNOWN_CHARS].message
    assert "resamples it to 22050 Hz" in by_kind[IssueKind.SAMPLE_RATE].message
    assert "averages them to mono" in by_kind[IssueKind.CHANNELS].message
    assert "line 2" in by_kind[IssueKind.DUPLICATE_AUDIO].message
    assert "line 3" in by_kind[IssueKind.DUPLICATE_TEXT].message
    assert by_kind[IssueKind.AUDIO_MISSING].audio_file == "wavs/missing.wav"


def test_unknown_characters_are_counted_across_the_dataset(crafted_report):
    assert crafted_report.unknown_chars == {"ß": 2, "ü": 1}


def test_totals_count_what_the_trainer_keeps(crafted_report):
    report = crafted_report
    assert report.clips == 22
    # Not kept: corrupt, empty file, 30 s, empty text, [UNK], missing file.
    assert report.kept_clips == 16
    decodable = 22 - 3  # corrupt, empty file, missing
    assert len(report.durations_s) == len(report.chars_per_s) == len(report.clip_line_nos) == decodable
    assert report.total_s == pytest.approx(sum(report.durations_s))
    assert report.per_speaker_s == {"anna": pytest.approx(report.total_s)}
    assert report.kept_s == pytest.approx(report.total_s - 30.0 - 2.0 - 2.0)  # 30 s, empty text, [UNK]
    assert report.median_chars_per_s == pytest.approx(12, rel=0.1)


def test_limits_are_the_callers(crafted, vocab):
    report = check_dataset(crafted, vocab_path=vocab, language="en", max_text_tokens=30,
                           max_audio_length_s=40.0, min_audio_length_s=0.5)
    kinds = {(i.line_no, i.kind) for i in report.issues}
    assert (13, IssueKind.TOO_LONG) not in kinds and (22, IssueKind.TOO_SHORT) not in kinds
    assert {(21, IssueKind.TOO_MANY_TOKENS), (18, IssueKind.TOO_MANY_TOKENS)} <= kinds


def test_overlap_with_the_eval_csv_is_a_warning(crafted, vocab):
    other = write_csv(crafted.parent / "metadata_eval.csv", [("wavs/ok_1.wav", NORMAL_TEXTS[1])])
    report = check_dataset(crafted, vocab_path=vocab, language="en", other_csv=other)
    overlap = [i for i in report.issues if i.kind == IssueKind.IN_OTHER_CSV]
    assert [(i.line_no, i.severity) for i in overlap] == [(3, Severity.WARNING)]
    assert "metadata_eval.csv" in overlap[0].message


def test_demo_dataset_has_nothing_to_fix(demo_workspace):
    _ws, demo = demo_workspace
    for csv_path, other in ((demo.train_csv, demo.eval_csv), (demo.eval_csv, demo.train_csv)):
        report = check_dataset(csv_path, vocab_path=demo.base_dir / "vocab.json", language="en", other_csv=other)
        assert report.errors == () and report.warnings == (), report.issues
        assert report.kept_clips == report.clips > 0
        assert report.unknown_chars == {}


def test_report_round_trips_through_json(crafted_report):
    data = json.loads(json.dumps(crafted_report.to_json()))
    assert DatasetReport.from_json(data) == crafted_report
    with pytest.raises(ValueError):
        DatasetReport.from_json(dict(data, version=-1))


def test_recheck_of_an_unchanged_dataset_reads_the_cache(crafted, vocab, tmp_path, monkeypatch):
    crafted = Path(shutil.copytree(crafted.parent, tmp_path / "dataset")) / crafted.name  # edited below
    measured = []
    real_measure = check_module.measure_clip
    monkeypatch.setattr(check_module, "measure_clip", lambda path: measured.append(path) or real_measure(path))

    def check():
        measured.clear()
        return check_dataset(crafted, vocab_path=vocab, language="en", cache_dir=tmp_path / "cache")

    first = check()
    assert measured and not first.from_cache and len(list((tmp_path / "cache").glob("*.json"))) == 1
    second = check()
    assert measured == [] and second.from_cache and second == first

    set_text(crafted, 2, "the quick brown fox ran far.")
    edited = check()
    assert measured and not edited.from_cache
    assert edited.issues == first.issues  # the new text is fine; nothing else changed

    stat = (crafted.parent / "wavs" / "ok_3.wav").stat()
    os.utime(crafted.parent / "wavs" / "ok_3.wav", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert not check().from_cache
    assert check().from_cache


def test_a_corrupt_cache_file_is_rebuilt(crafted, vocab, tmp_path):
    cache = tmp_path / "cache"
    check_dataset(crafted, vocab_path=vocab, language="en", cache_dir=cache)
    (entry,) = cache.glob("*.json")
    entry.write_text("{half a file")
    assert not check_dataset(crafted, vocab_path=vocab, language="en", cache_dir=cache).from_cache
    assert check_dataset(crafted, vocab_path=vocab, language="en", cache_dir=cache).from_cache


@pytest.mark.parametrize("content, expected", [
    (b"file|transcript\nwavs/a.wav|hello\n", "needs the header 'audio_file|text|speaker_name' (missing: audio_file, text"),
    (b"audio_file|text|speaker_name\nwavs/a.wav|caf\xe9|anna\n", "is not UTF-8 text"),
    (b"\xef\xbb\xbfaudio_file|text|speaker_name\n", "byte-order mark"),
    (b'audio_file|text|speaker_name\nwavs/a.wav|"' + b"x" * 200_000, "cannot be read: line 2: field larger"),
])
def test_an_unreadable_csv_says_what_to_fix(tmp_path, vocab, content, expected):
    csv_path = tmp_path / "metadata.csv"
    csv_path.write_bytes(content)
    with pytest.raises(ConfigInvalid) as caught:
        check_dataset(csv_path, vocab_path=vocab, language="en")
    assert caught.value.errors[0].field == "csv_path"
    assert expected in caught.value.errors[0].message


def test_missing_csv_folder_vocab_and_language(tmp_path, vocab, crafted):
    for path, expected in ((tmp_path / "nope.csv", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(ConfigInvalid, match=expected):
            check_dataset(path, vocab_path=vocab, language="en")
    with pytest.raises(ConfigInvalid, match="vocab.json beside the base model"):
        check_dataset(crafted, vocab_path=tmp_path / "vocab.json", language="en")
    # A language XTTS does not know needs a vocabulary extended for it; a code that is no language is named.
    with pytest.raises(ConfigInvalid, match=r"has no \[am\] token"):
        check_dataset(crafted, vocab_path=vocab, language="am")
    with pytest.raises(ConfigInvalid, match="'xx' is not an ISO 639 language code"):
        check_dataset(crafted, vocab_path=vocab, language="xx")


def test_charts_show_every_decodable_clip(crafted_report):
    histogram, scatter = plotly_figures(crafted_report)
    assert isinstance(histogram, go.Figure) and isinstance(scatter, go.Figure)
    assert len(histogram.data[0].x) == len(scatter.data[0].y) == len(crafted_report.durations_s)
    colours = dict(zip(crafted_report.clip_line_nos, scatter.data[0].marker.color))
    assert colours[18] == "crimson" and colours[2] == "steelblue"


def test_a_quote_that_swallows_rows_is_an_error(tmp_path, vocab):
    (tmp_path / "wavs").mkdir()
    audio = write(tmp_path, "a.wav", tone(2.0))
    csv_path = tmp_path / "metadata.csv"
    csv_path.write_text(f'audio_file|text|speaker_name\n{audio}|"oops, a quote\nwavs/b.wav|lost row|anna\n')
    report = check_dataset(csv_path, vocab_path=vocab, language="en")
    assert report.clips == 1
    assert [(i.line_no, i.kind) for i in report.errors][0] == (2, IssueKind.QUOTE_SPANS_LINES)
    assert "runs to line 3" in report.errors[0].message
