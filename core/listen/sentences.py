"""Test sentences: checked against XTTS's per-language character limits, kept per language in the workspace.

coqui's tokenizer warns past a language's character limit ("this might cause truncated audio") and
its GPT refuses more than ~400 text tokens outright; a sentence too long for one synthesis is
refused here, before any job starts, with the limit in the message. The limits are coqui's own
table (VoiceBpeTokenizer.char_limits, copied because importing coqui pulls in torch; a test holds
the copy equal to it); a new language gets the 250 coqui assumes for a language it does not list.

The user's edited lists live in one small JSON file, `{language: [sentences]}` (Workspace.
test_sentences_file); a language never edited reads as the built-in defaults.
"""
from __future__ import annotations

from collections.abc import Iterable

from core.base.atomic_io import read_json, write_json_atomic
from core.base.errors import ConfigInvalid, FieldError
from core.language.tokenizer_patch import DEFAULT_CHAR_LIMIT
from core.base.languages import base_code, language_problem
from core.listen.sentence_defaults import DEFAULT_SENTENCES
from core.base.workspace import Workspace

# TTS/tts/layers/xtts/tokenizer.py, VoiceBpeTokenizer.__init__ (coqui-tts 0.28.0), keyed by base code.
CHAR_LIMITS = {
    "en": 250, "de": 253, "fr": 273, "es": 239, "it": 213, "pt": 203, "pl": 224, "zh": 82, "ar": 166,
    "cs": 186, "ru": 182, "nl": 251, "tr": 226, "ja": 71, "hu": 224, "ko": 95, "hi": 150,
}
MAX_SENTENCES = 50  # a list the page can show and a job can finish; each one is a synthesis per checkpoint


class SentenceInvalid(ConfigInvalid):
    """A test sentence that cannot be synthesised as it is (empty, too long); the message says which and why."""


def char_limit(language: str) -> int:
    """The most characters one sentence may have in `language` ("pt-br" counts as "pt", "zh-cn" as "zh")."""
    return CHAR_LIMITS.get(base_code(language), DEFAULT_CHAR_LIMIT)


def check_sentences(sentences: Iterable[str], language: str) -> tuple[str, ...]:
    """The sentences, stripped, when every one can be synthesised in `language`; else SentenceInvalid naming each."""
    problem = language_problem(language)
    if problem:
        raise SentenceInvalid([FieldError("language", problem)])
    texts = [s.strip() if isinstance(s, str) else s for s in sentences]
    limit = char_limit(language)
    errors = []
    if not texts:
        errors.append(FieldError("sentences", "add at least one sentence to synthesise"))
    if len(texts) > MAX_SENTENCES:
        errors.append(FieldError("sentences", f"{len(texts)} sentences; at most {MAX_SENTENCES} at a time"))
    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            errors.append(FieldError(f"sentence {number}", "is not text"))
        elif not text:
            errors.append(FieldError(f"sentence {number}", "is empty: type a sentence or remove the line"))
        elif len(text) > limit:
            errors.append(FieldError(f"sentence {number}", (
                f"has {len(text)} characters; XTTS takes at most {limit} in '{language}' per synthesis "
                f"(longer text comes out cut off): split it into shorter sentences")))
    if errors:
        raise SentenceInvalid(errors)
    return tuple(texts)


def default_test_sentences(language: str) -> tuple[str, ...]:
    """The built-in short / long / question / numbers sentences; () for a new language (none built in)."""
    key = "zh-cn" if base_code(language) == "zh" else base_code(language)
    return tuple(DEFAULT_SENTENCES.get(key, ()))


def _saved(ws: Workspace) -> dict[str, list[str]]:
    data = read_json(ws.test_sentences_file)
    if not isinstance(data, dict):
        return {}
    return {lang: texts for lang, texts in data.items()
            if isinstance(lang, str) and isinstance(texts, list) and all(isinstance(t, str) for t in texts)}


def load_test_sentences(ws: Workspace, language: str) -> tuple[str, ...]:
    """The user's sentences for `language`, or the built-in ones when they never edited them."""
    saved = _saved(ws).get(language)
    return tuple(saved) if saved else default_test_sentences(language)


def save_test_sentences(ws: Workspace, language: str, sentences: Iterable[str]) -> tuple[str, ...]:
    """Check and save the sentences for `language` (atomically; other languages kept); returns them stripped."""
    texts = check_sentences(sentences, language)
    data = _saved(ws)
    data[language] = list(texts)
    write_json_atomic(ws.test_sentences_file, data)
    return texts


def reset_test_sentences(ws: Workspace, language: str) -> tuple[str, ...]:
    """Forget the user's sentences for `language`; returns the built-in ones it reads as from now on."""
    data = _saved(ws)
    if data.pop(language, None) is not None:
        write_json_atomic(ws.test_sentences_file, data)
    return default_test_sentences(language)
