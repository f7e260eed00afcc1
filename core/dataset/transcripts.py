"""Transcripts that come with a recording: `<stem>.srt` (timed cues) or `<stem>.txt` (one text)."""
from __future__ import annotations

import re
from pathlib import Path

from core.dataset.segment import Span

_TIME = r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})"
_CUE_TIMES = re.compile(_TIME + r"\s*-->\s*" + _TIME)


class TranscriptInvalid(ValueError):
    """A transcript file that cannot be used; the message names the file and the fix."""


def transcript_beside(recording: Path) -> Path | None:
    """The recording's own transcript, `<stem>.srt` preferred to `<stem>.txt`."""
    for suffix in (".srt", ".txt"):
        candidate = recording.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def read_srt(path: Path) -> list[Span]:
    """The cues of an SRT file as timed spans with their text (tags and line breaks removed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptInvalid(f"{path.name} cannot be read as UTF-8 text ({exc})") from None
    spans = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        timing = next((i for i, line in enumerate(lines) if _CUE_TIMES.search(line)), None)
        if timing is None:
            continue
        h1, m1, s1, ms1, h2, m2, s2, ms2 = _CUE_TIMES.search(lines[timing]).groups()
        start = int(h1) * 3600 + int(m1) * 60 + int(s1) + int(ms1.ljust(3, "0")) / 1000
        end = int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2.ljust(3, "0")) / 1000
        words = " ".join(re.sub(r"<[^>]+>", "", line) for line in lines[timing + 1:]).strip()
        if end > start and words:
            spans.append(Span(start, end, words))
    if not spans:
        raise TranscriptInvalid(f"{path.name} has no timed cues (expected '00:00:01,000 --> 00:00:03,500' lines)")
    return spans


def read_plain(path: Path) -> str:
    try:
        text = " ".join(path.read_text(encoding="utf-8-sig").split())
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptInvalid(f"{path.name} cannot be read as UTF-8 text ({exc})") from None
    if not text:
        raise TranscriptInvalid(f"{path.name} is empty")
    return text
