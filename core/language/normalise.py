"""The text rules of a language XTTS does not know, and one `normalise` for every language.

The model only ever sees text after these rules, in training and at inference, so they must be
the same in both: the rules travel with the run's config and the ready/ bundle (`rules_to_json`
carries a mapping table's contents, not only its path). For XTTS's 17 languages `normalise` is
coqui's own preprocessing, so callers need no branch.

Numbers stay digits: spelling them out needs each language's own rules (case, gender, counting
system), which we do not have; the vocabulary extension learns the digits like any character.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import base_code, is_new_language, language_problem

NO_ROMANIZATION = ""
UROMAN = "uroman"
TABLE_SUFFIXES = (".tsv", ".txt")

# Punctuation of scripts that have their own, mapped to the ASCII marks XTTS's base vocabulary
# already knows (and that its pauses were learned on).
PUNCTUATION_TO_ASCII = {
    # Ethiopic: the word space ፡ separates words, so it becomes a space.
    "\u1361": " ", "\u1362": ".", "\u1363": ",", "\u1364": ";", "\u1365": ",", "\u1366": ":",
    "\u1367": "?", "\u1368": ".",
    # Arabic script (Arabic, Persian, Urdu, ...)
    "\u060c": ",", "\u061b": ";", "\u061f": "?", "\u06d4": ".",
    # Indic danda, Armenian, Myanmar, Khmer full stops
    "\u0964": ".", "\u0965": ".", "\u0589": ".", "\u104a": ",", "\u104b": ".", "\u17d4": ".",
    # CJK and full-width forms
    "\u3002": ".", "\u3001": ",", "\uff0c": ",", "\uff0e": ".", "\uff01": "!", "\uff1f": "?",
    "\uff1a": ":", "\uff1b": ";", "\uff08": "(", "\uff09": ")", "\u300c": '"', "\u300d": '"',
    "\u300e": '"', "\u300f": '"',
    # Quotes, dashes, ellipsis
    "\u00ab": '"', "\u00bb": '"', "\u201e": '"', "\u201c": '"', "\u201d": '"', "\u2039": "'",
    "\u203a": "'", "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2010": "-", "\u2011": "-",
    "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2026": "...",
    # Invisible characters that only split words into different tokens
    "\u200b": "", "\ufeff": "",
}
_PUNCTUATION = str.maketrans(PUNCTUATION_TO_ASCII)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TextRules:
    language: str
    romanize: str = NO_ROMANIZATION  # "", "uroman", or the path of a mapping table (from<TAB>to)
    # The table's (from, to) pairs once read (`check_rules`, `rules_from_json`); None: read the path.
    mapping: tuple[tuple[str, str], ...] | None = None


def check_rules(rules: TextRules) -> TextRules:
    """`rules` checked, with a mapping table read now, so a bad setting fails before any work starts."""
    problem = language_problem(rules.language)
    if problem is not None:
        raise _refused("language", problem)
    return TextRules(rules.language, rules.romanize, _mapping_of(rules))


def normalise(rules: TextRules, text: str) -> str:
    """`text` as the model sees it: coqui's preprocessing for a known language, else these rules."""
    if not is_new_language(rules.language):
        return _coqui_preprocess(text, base_code(rules.language))
    text = unicodedata.normalize("NFC", text)
    mapping = _mapping_of(rules)
    if mapping is not None:
        text = _apply_mapping(mapping, text)
    elif rules.romanize == UROMAN:
        text = _uroman_romanize(text, rules.language)
    text = text.translate(_PUNCTUATION)
    # str.lower() is a no-op for scripts without case; NFC again because lowering can decompose ("İ").
    text = unicodedata.normalize("NFC", text.lower())
    return _WHITESPACE.sub(" ", text).strip()


def rules_to_json(rules: TextRules) -> dict:
    """The rules as plain JSON for a run's config and a ready/ bundle, standalone (table included)."""
    mapping = _mapping_of(rules)
    return {"language": rules.language, "romanize": rules.romanize,
            "mapping_table": [list(pair) for pair in mapping] if mapping is not None else None}


def rules_from_json(data: object) -> TextRules:
    """Rules written by `rules_to_json`; a table comes from the JSON, never from the (maybe gone) path."""
    if not isinstance(data, dict) or not isinstance(data.get("language"), str):
        raise _refused("language", "the saved text rules are not readable; save the run's settings again")
    romanize = data.get("romanize", NO_ROMANIZATION)
    table = data.get("mapping_table")
    if not isinstance(romanize, str) or (table is not None and not (
            isinstance(table, list) and all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
                                            for p in table))):
        raise _refused("romanize", "the saved romanisation is not readable; choose it again")
    problem = language_problem(data["language"])
    if problem is not None:
        raise _refused("language", problem)
    if table is None:
        _check_romanize_value(romanize)
        return TextRules(data["language"], romanize)
    return TextRules(data["language"], romanize, tuple((a, b) for a, b in table))


def _refused(field: str, message: str) -> ConfigInvalid:
    return ConfigInvalid([FieldError(field, message)])


def _check_romanize_value(romanize: str) -> None:
    if romanize in (NO_ROMANIZATION, UROMAN) or romanize.lower().endswith(TABLE_SUFFIXES):
        return
    raise ConfigInvalid([FieldError("romanize", (
        f"'{romanize}' is not a romanisation; use '' (none), 'uroman', or the path of a mapping "
        "table (.tsv, one 'from<TAB>to' per line)"))])


def _mapping_of(rules: TextRules) -> tuple[tuple[str, str], ...] | None:
    if rules.mapping is not None:
        return rules.mapping
    _check_romanize_value(rules.romanize)
    if rules.romanize in (NO_ROMANIZATION, UROMAN):
        return None
    path = Path(rules.romanize).expanduser()
    try:
        stat = path.stat()
    except OSError:
        raise _refused("romanize", f"the mapping table {path} does not exist; check the path") from None
    return _read_table(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_table(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    # Cached by stamp: normalise() runs once per training sample.
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise _refused("romanize", f"the mapping table {path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise _refused("romanize", f"the mapping table {path} cannot be read ({exc.strerror})") from None
    pairs: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        source, tab, target = line.partition("\t")
        source = unicodedata.normalize("NFC", source)  # the text is NFC before the table applies
        problem = ("has no tab between 'from' and 'to'" if not tab else "has nothing before the tab" if not source
                   else f"maps '{source}' again (first on line {pairs[source][1]})" if source in pairs else None)
        if problem:
            raise _refused("romanize", f"{path}, line {number}: {problem}; write one 'from<TAB>to' per line")
        pairs[source] = (target, number)
    return tuple((source, target) for source, (target, _) in pairs.items())


@functools.lru_cache(maxsize=8)
def _mapping_pattern(mapping: tuple[tuple[str, str], ...]) -> tuple[re.Pattern, dict[str, str]]:
    # Longest first, so "ላም" wins over "ላ" where both are listed.
    sources = sorted((s for s, _ in mapping), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, sources))), dict(mapping)


def _apply_mapping(mapping: tuple[tuple[str, str], ...], text: str) -> str:
    if not mapping:
        return text
    pattern, targets = _mapping_pattern(mapping)
    return pattern.sub(lambda match: targets[match.group(0)], text)


_uroman_lock = threading.Lock()
_uroman_instance = None


def _uroman_romanize(text: str, language: str) -> str:
    global _uroman_instance
    with _uroman_lock:  # building one takes ~5 s; one per process, shared by every thread
        if _uroman_instance is None:
            import uroman

            _uroman_instance = uroman.Uroman()
    # uroman's language-specific rules are keyed by ISO 639-3 codes; a two-letter code gets its defaults.
    return _uroman_instance.romanize_string(text, lcode=language if len(language) == 3 else None)


_coqui_tokenizer = None


def _coqui_preprocess(text: str, language: str) -> str:
    global _coqui_tokenizer
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    if _coqui_tokenizer is None:
        _coqui_tokenizer = VoiceBpeTokenizer()  # no vocab needed for the cleaners
    return VoiceBpeTokenizer.preprocess_text(_coqui_tokenizer, text, language)
