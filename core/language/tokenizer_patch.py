"""Teach coqui's XTTS tokenizer a new language's text rules, in this process only.

VoiceBpeTokenizer.preprocess_text raises NotImplementedError outside its 17 languages, and
everything that tokenises (XTTSDataset, GPTTrainer's test sentences, Xtts.inference) goes through
it. We replace the class attribute with a wrapper that sends the installed language to
`normalise` and every other one to coqui's original; site-packages is never edited, so other
processes and other projects are untouched. The training process (and any process that
synthesises with the result) must call `install_text_rules` before it tokenises anything.
"""
from __future__ import annotations

import functools
import threading

from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import base_code, is_new_language
from core.language.normalise import TextRules, check_rules, normalise

DEFAULT_CHAR_LIMIT = 250  # what coqui's check_input_length assumes for a language it does not list

_lock = threading.Lock()
_installed: TextRules | None = None


def install_text_rules(rules: TextRules) -> None:
    """Make VoiceBpeTokenizer use `rules` for their (new) language; calling again replaces them."""
    global _installed
    if not is_new_language(rules.language):
        raise ConfigInvalid([FieldError("language", (
            f"XTTS already has text rules for '{rules.language}'; install rules only for a new language"))])
    rules = check_rules(rules)  # a bad table fails here, not mid-epoch
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    with _lock:
        _installed = rules
        if not _is_ours(VoiceBpeTokenizer.preprocess_text):
            VoiceBpeTokenizer.preprocess_text = _wrap_preprocess_text(VoiceBpeTokenizer.preprocess_text)
        if not _is_ours(VoiceBpeTokenizer.__init__):
            VoiceBpeTokenizer.__init__ = _wrap_init(VoiceBpeTokenizer.__init__)


def uninstall_text_rules() -> None:
    """Give VoiceBpeTokenizer back its original methods (for tests and for switching runs in one process)."""
    global _installed
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    with _lock:
        _installed = None
        for name in ("preprocess_text", "__init__"):
            method = getattr(VoiceBpeTokenizer, name)
            if _is_ours(method):
                setattr(VoiceBpeTokenizer, name, method.__wrapped__)


def installed_rules() -> TextRules | None:
    """The rules VoiceBpeTokenizer uses now, or None when it is coqui's own."""
    return _installed


def _is_ours(method) -> bool:
    return getattr(method, "_core_language_patch", False)


def _wrap_preprocess_text(original):
    @functools.wraps(original)
    def preprocess_text(self, txt, lang):
        rules = _installed
        # encode() has already stripped the region ("am-et" -> "am"); compare like with like.
        if rules is not None and base_code(lang) == base_code(rules.language):
            return normalise(rules, txt)
        return original(self, txt, lang)

    preprocess_text._core_language_patch = True
    return preprocess_text


def _wrap_init(original):
    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        rules = _installed
        # Xtts.inference reads char_limits[language] directly (sentence splitting), not .get().
        if rules is not None:
            self.char_limits.setdefault(base_code(rules.language), DEFAULT_CHAR_LIMIT)

    __init__._core_language_patch = True
    return __init__
