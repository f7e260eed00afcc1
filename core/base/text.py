"""Small text helpers every package uses: terminal codes stripped, durations and times in words."""
from __future__ import annotations

import re
import time

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """`text` without ANSI colour and cursor codes (the trainer's log carries them)."""
    return _ANSI.sub("", text)


def format_clock(seconds: float | None) -> str:
    """A duration as a clock, "01:02:03", for elapsed time and ETAs; days past 24 h; "-" when unknown."""
    if seconds is None or seconds < 0:
        return "-"
    if seconds >= 86400:
        days, rest = divmod(int(seconds), 86400)
        return f"{days} d " + time.strftime("%H:%M:%S", time.gmtime(rest))
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def format_duration_words(seconds: float) -> str:
    """A rough duration in words, "about 40 min", for forecasts far ahead."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def format_local_time(epoch_s: float, *, seconds: bool = False) -> str:
    """A moment as local date and time, "2026-11-25 18:16" (or "2026-11-25 18:16:05")."""
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(epoch_s))
