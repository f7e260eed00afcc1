"""Intelligibility: the character error rate of a sample's Whisper transcript against its text.

The transcript comes from the faster-whisper model the Dataset page uses (core.dataset.transcribe),
found on disk only: scoring never downloads, so it works offline and in tests. Without a model the
result says where to put one instead of failing; the other scores go on.

Both texts are normalised the same way before counting (lower case, punctuation gone, whitespace
collapsed; apostrophes dropped so "don't" meets "dont"), and for a language XTTS does not know,
first through the run's own text rules (core.language), so a romanised training text meets a
romanised transcript. Spaces count as characters. Numbers are not spelt out: "7" against "seven"
counts as errors, the same for every checkpoint.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.dataset.audio import resample
from core.dataset.transcribe import (SAMPLE_RATE_HZ, WHISPER_SIZES, WhisperUnavailable, missing_files,
                                     resolve_model, whisper_models_dir)
from core.language.normalise import TextRules, normalise
from core.base.languages import base_code, is_new_language

APOSTROPHES = frozenset("'\u2019\u02bc\u2018`")
DEFAULT_WHISPER_SIZE = "small"  # the Dataset page's default (core.dataset.create)


@dataclass(frozen=True)
class CharacterErrors:
    edits: int  # insertions + deletions + substitutions (Levenshtein) between the normalised texts
    reference_chars: int  # characters of the normalised reference

    @property
    def cer(self) -> float:
        """Edits per reference character (can exceed 1); 0 for two empty texts, 1 for text against nothing."""
        if self.reference_chars == 0:
            return 0.0 if self.edits == 0 else 1.0
        return self.edits / self.reference_chars


@dataclass(frozen=True)
class Intelligibility:
    cer: float | None  # None when nothing could be transcribed (see `unavailable`)
    transcript: str  # what Whisper heard, as it wrote it ("" when unavailable)
    text: str  # what the sample was asked to say
    whisper_model: str  # the model folder that transcribed ("" when none)
    unavailable: str | None = None  # why there is no CER, in plain words with the fix


def normalise_for_cer(text: str, rules: TextRules | None = None) -> str:
    """`text` as CER compares it: lower case, no punctuation or symbols, single spaces."""
    if rules is not None and is_new_language(rules.language):
        text = normalise(rules, text)
    text = unicodedata.normalize("NFC", text).lower()
    kept = []
    for char in text:
        if char in APOSTROPHES:
            continue
        category = unicodedata.category(char)
        kept.append(" " if category[0] in "PSZC" else char)  # punctuation, symbols, separators, controls
    return " ".join("".join(kept).split())


def levenshtein(a: str, b: str) -> int:
    """The fewest single-character insertions, deletions and substitutions turning `a` into `b`."""
    if len(a) < len(b):
        a, b = b, a  # the shorter string sets the row length
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def character_errors(reference: str, hypothesis: str, rules: TextRules | None = None) -> CharacterErrors:
    """Levenshtein edits between the normalised texts, and the normalised reference's length."""
    ref, hyp = normalise_for_cer(reference, rules), normalise_for_cer(hypothesis, rules)
    return CharacterErrors(levenshtein(ref, hyp), len(ref))


def character_error_rate(reference: str, hypothesis: str, rules: TextRules | None = None) -> float:
    return character_errors(reference, hypothesis, rules).cer


def find_whisper_model(models_dir: str | os.PathLike, size: str = DEFAULT_WHISPER_SIZE, local_dir: str = "") -> Path:
    """A complete model already on disk: `local_dir`, else models/whisper/<size>, else any other size there.

    Never downloads. WhisperUnavailable (with the folder to fill) when there is none.
    """
    if local_dir:
        return resolve_model(size=size, models_dir=Path(models_dir), local_dir=local_dir, allow_download=False)
    root = whisper_models_dir(Path(models_dir))
    # The Dataset page's size first; then larger before smaller: any model here beats none.
    for candidate in (size, *reversed([s for s in WHISPER_SIZES if s != size])):
        folder = root / candidate
        if folder.is_dir() and not missing_files(folder):
            return folder
    folder = root / (size if size in WHISPER_SIZES else DEFAULT_WHISPER_SIZE)
    raise WhisperUnavailable(no_whisper_message(folder), folder)


def no_whisper_message(folder: Path) -> str:
    return f"no Whisper model: put one in {folder} (see the Dataset page)"


class IntelligibilityScorer:
    """Transcribes samples with one loaded Whisper model; without one, every result says why."""

    def __init__(self, transcriber, *, language: str | None, rules: TextRules | None, missing: str | None):
        self._transcriber = transcriber
        self.language = language
        self.rules = rules
        self.missing = missing  # set when there is no model: the message every result carries
        self.whisper_model = transcriber.model_dir.name if transcriber is not None else ""

    @classmethod
    def open(cls, models_dir: str | os.PathLike, *, size: str = DEFAULT_WHISPER_SIZE, local_dir: str = "",
             language: str | None = None, rules: TextRules | None = None,
             device: str = "auto") -> IntelligibilityScorer:
        """Load the model found by `find_whisper_model`, or a scorer that reports it missing."""
        try:
            folder = find_whisper_model(models_dir, size, local_dir)
        except WhisperUnavailable as exc:
            message = str(exc) if local_dir else no_whisper_message(exc.folder)
            return cls(None, language=language, rules=rules, missing=message)
        from core.dataset.transcribe import Transcriber

        return cls(Transcriber(folder, device=device), language=_whisper_language(language), rules=rules,
                   missing=None)

    @property
    def available(self) -> bool:
        return self._transcriber is not None

    def score(self, mono: np.ndarray, rate_hz: int, text: str) -> Intelligibility:
        """CER of what Whisper hears in the sample against `text`."""
        if self._transcriber is None:
            return Intelligibility(None, "", text, "", self.missing)
        mono_16k = resample(np.asarray(mono, dtype=np.float32), rate_hz, SAMPLE_RATE_HZ)
        transcript = self._transcriber.transcribe(mono_16k, self.language).text
        return Intelligibility(character_error_rate(text, transcript, self.rules), transcript, text,
                               self.whisper_model)


def _whisper_language(language: str | None) -> str | None:
    """The code Whisper knows for `language`, or None (detect) for a language it has no code for."""
    if not language:
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    code = base_code(language)
    return code if code in _LANGUAGE_CODES else None
