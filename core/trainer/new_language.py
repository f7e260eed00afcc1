"""A run in a language XTTS does not know: what it needs before a launch, and in the training process.

coqui's tokenizer has text rules for 17 languages only and raises NotImplementedError for the rest;
a new language gets ours (core.language: normalisation, optional romanisation), installed into
coqui's tokenizer in our own processes only, and needs a vocabulary with its `[code]` token and its
characters, made by extending the base vocab.json (core.language.vocab_extension).
"""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from core.base.config import RunConfig
from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import is_new_language, language_problem, language_token
from core.language.normalise import TextRules, check_rules
from core.trainer.base_model import resolve_base_model
from core.trainer.dataset import read_dataset
from core.base.workspace import Workspace


def text_rules(config: RunConfig) -> TextRules | None:
    """The run's text rules when its language is new; None for XTTS's own languages."""
    if not is_new_language(config.language):
        return None
    return TextRules(config.language, config.romanize)


def language_errors(config: RunConfig, vocab_json: Path) -> list[FieldError]:
    """What stops a run in `config.language` with `vocab_json`: an unknown code, a vocab without its token."""
    problem = language_problem(config.language)
    if problem:
        return [FieldError("language", problem)]
    if not is_new_language(config.language):
        if config.romanize:
            return [FieldError("romanize", f"is {config.romanize!r}; romanisation is for new languages only "
                                           f"({config.language} has coqui's own text rules): leave it empty")]
        return []
    errors = []
    try:
        check_rules(TextRules(config.language, config.romanize))
    except ConfigInvalid as invalid:
        errors += invalid.errors
    token = language_token(config.language)
    if not _vocab_has(vocab_json, token):
        errors.append(FieldError("vocab_path", (
            f"{vocab_json.name} has no {token} token: XTTS does not know '{config.language}', so the vocabulary must "
            "be extended for it first (Train page, New language: Extend the vocabulary), then used as the "
            "extended vocabulary")))
    return errors


def install_for_run(config: RunConfig) -> TextRules | None:
    """In the training process: give coqui's tokenizer the run's text rules (no-op for known languages)."""
    rules = text_rules(config)
    if rules is not None:
        from core.language.tokenizer_patch import install_text_rules

        install_text_rules(rules)
    return rules


def _vocab_has(vocab_json: Path, token: str) -> bool:
    try:
        data = json.loads(Path(vocab_json).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # an unreadable vocab is reported by the vocab check itself
    added = {t.get("content") for t in data.get("added_tokens") or [] if isinstance(t, dict)}
    vocab = (data.get("model") or {}).get("vocab") or {}
    return token in added or (isinstance(vocab, dict) and token in vocab)


def _texts(config: RunConfig) -> list[str]:
    texts = [clip.text for clip in read_dataset(config.train_csv, "train_csv").clips]
    if config.eval_csv:
        texts += [clip.text for clip in read_dataset(config.eval_csv, "eval_csv").clips]
    return texts


def coverage_for_run(config: RunConfig) -> list[tuple[str, object]]:
    """How much of the run's texts the base vocab (and the extended one, when set) encodes: [(label, Coverage)]."""
    from core.language.vocab_extension import coverage

    rules = TextRules(config.language, config.romanize)
    base = resolve_base_model(config.base_model_dir)
    texts = _texts(config)
    found = [(f"base ({base.vocab_json.name})", coverage(base.vocab_json, texts, rules))]
    if config.vocab_path:
        found.append((f"extended ({Path(config.vocab_path).name})", coverage(Path(config.vocab_path), texts, rules)))
    return found


def extend_for_run(ws: Workspace, config: RunConfig):
    """Extend the base vocab.json from the run's texts into `<workspace>/vocabularies/<lang>-<time>.json`."""
    from core.language.vocab_extension import extend_vocab

    base = resolve_base_model(config.base_model_dir)
    out = ws.root / "vocabularies" / f"{config.language}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    return extend_vocab(base.vocab_json, _texts(config), TextRules(config.language, config.romanize), out)
