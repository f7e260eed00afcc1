"""What synthesis needs beside a model file: its config, its vocabulary, its text rules, a reference clip.

Where each comes from depends on where the file lives (core.checkpoints.layout names the places):

    <run folder>/checkpoint_*.pth, best_model*.pth   config.json beside it (the trainer's); the vocab.json its
      (and kept/, incomplete/ below it)               model_args.tokenizer_file names (a new language's extended one);
                                                      text rules from the run's record, else ready/text_rules.json
    <output>/ready/unoptimize_model.pth, model.pth   ready/config.json, ready/vocab.json, ready/text_rules.json
    anything else (models/custom/<name>.pth, ...)    config.json beside it (a base model's folder), else the
                                                      config stored in the checkpoint; `<stem>.vocab.json` beside
                                                      it (core.checkpoints.ops.keep_vocab_beside), else vocab.json
                                                      beside it, else the config's tokenizer_file; rules from
                                                      `<stem>.text_rules.json` or text_rules.json beside it

The default reference is the run's ready/reference.wav (the training clip the export picked), or a
reference.wav beside the file. Everything here reads small JSON files only: no torch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.base.atomic_io import read_json
from core.checkpoints import layout
from core.base.config import RunConfig
from core.base.errors import ConfigInvalid, FieldError
from core.language.normalise import TextRules, rules_from_json
from core.base.languages import base_code, describe, is_new_language
from core.listen.fingerprint import CheckpointUnusable
from core.registry.records import list_run_ids, load_record, read_status
from core.trainer.new_language import text_rules
from core.trainer.ready_export import TEXT_RULES_NAME
from core.base.workspace import Workspace

CONFIG_NAME = "config.json"
VOCAB_NAME = "vocab.json"
REFERENCE_NAME = "reference.wav"


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    config_json: Path | None  # None: the config stored inside the checkpoint (the trainer saves it there)
    vocab_json: Path | None  # None: the tokenizer_file of the stored config, found by the loader
    rules: TextRules | None  # a new language's text rules; None for XTTS's own languages
    languages: tuple[str, ...]  # what the config lists; () when only the checkpoint's own config knows
    default_reference: Path | None
    run_folder: Path | None  # the trainer run folder the file belongs to, if it is in one


def _run_folder_of(model: Path) -> Path | None:
    for folder in (model.parent, model.parent.parent):
        if layout.output_path_of(folder) is not None and (folder / CONFIG_NAME).is_file():
            return folder
    return None


def _config(path: Path) -> dict[str, Any]:
    data = read_json(path)
    return data if isinstance(data, dict) else {}


def _languages(config: dict[str, Any]) -> tuple[str, ...]:
    languages = config.get("languages")
    return tuple(l for l in languages if isinstance(l, str)) if isinstance(languages, list) else ()


def _tokenizer_file(config: dict[str, Any]) -> Path | None:
    args = config.get("model_args")
    name = args.get("tokenizer_file") if isinstance(args, dict) else None
    return Path(name) if isinstance(name, str) and name else None


def _run_config_for(ws: Workspace, run_folder: Path) -> RunConfig | None:
    """The recorded config of the run that wrote `run_folder`: by its status, else by its output path."""
    output = layout.output_path_of(run_folder)
    by_output = None
    for run_id in list_run_ids(ws):  # newest first
        record = load_record(ws, run_id)
        if record is None:
            continue
        try:
            config = RunConfig(**record.config)
        except TypeError:
            continue  # a record of another version of the dashboard
        written = read_status(ws, run_id).run_folder
        if written is not None and written.resolve() == run_folder:
            return config
        if by_output is None and output is not None and Path(record.output_path).resolve() == output:
            by_output = config
    return by_output


def run_config_for(ws: Workspace, run_folder: str | os.PathLike) -> RunConfig | None:
    """The recorded config of the run that wrote trainer run folder `run_folder`, or None when no record knows it."""
    return _run_config_for(ws, Path(run_folder).resolve())


def _rules_file(path: Path) -> TextRules | None:
    if not path.is_file():
        return None
    try:
        return rules_from_json(read_json(path))
    except ConfigInvalid:
        raise CheckpointUnusable([FieldError("checkpoint", f"{path} is not readable text rules; export the "
                                                           "run's ready/ bundle again to rewrite it")]) from None


def model_files(ws: Workspace, model: str | os.PathLike) -> ModelFiles:
    """The config, vocabulary, text rules and default reference of a model file, found by where it lives."""
    model = Path(model).expanduser().resolve()
    run_folder = _run_folder_of(model)
    if model.parent.name == layout.READY_DIR and (model.parent / CONFIG_NAME).is_file():
        ready = model.parent
        return ModelFiles(model, ready / CONFIG_NAME, _existing(ready / VOCAB_NAME),
                          _rules_file(ready / TEXT_RULES_NAME), _languages(_config(ready / CONFIG_NAME)),
                          _existing(ready / REFERENCE_NAME), None)
    if run_folder is not None:
        config = _config(run_folder / CONFIG_NAME)
        ready = layout.ready_dir(layout.output_path_of(run_folder))
        vocab = _existing(_tokenizer_file(config)) or _existing(ready / VOCAB_NAME)
        if vocab is None:
            raise CheckpointUnusable([FieldError("checkpoint", (
                f"{model.name}: the vocabulary its run trained with ({_tokenizer_file(config) or 'not named'}) is "
                f"gone; put that vocab.json back, or beside the file as {model.stem}.vocab.json"))])
        run = _run_config_for(ws, run_folder)
        rules = text_rules(run) if run is not None else None
        return ModelFiles(model, run_folder / CONFIG_NAME, vocab, rules or _rules_file(ready / TEXT_RULES_NAME),
                          _languages(config), _existing(ready / REFERENCE_NAME), run_folder)
    vocab = _existing(model.with_name(f"{model.stem}.vocab.json")) or _existing(model.with_name(VOCAB_NAME))
    rules = (_rules_file(model.with_name(f"{model.stem}.{TEXT_RULES_NAME}"))
             or _rules_file(model.with_name(TEXT_RULES_NAME)))
    config = _existing(model.with_name(CONFIG_NAME))  # a base model folder (model.pth, config.json, vocab.json)
    return ModelFiles(model, config, vocab, rules, _languages(_config(config)) if config else (),
                      _existing(model.with_name(REFERENCE_NAME)), None)


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.is_file() else None


def check_language(files: ModelFiles, language: str) -> None:
    """CheckpointUnusable when `files` cannot speak `language`: not in its config, or a new language without rules."""
    if files.languages and base_code(language) not in {base_code(l) for l in files.languages}:
        raise CheckpointUnusable([FieldError("language", (
            f"{files.model.name} was trained for {', '.join(map(describe, files.languages))}, not "
            f"{describe(language)}; pick the language it was trained for"))])
    if is_new_language(language) and (files.rules is None or base_code(files.rules.language) != base_code(language)):
        raise CheckpointUnusable([FieldError("language", (
            f"'{language}' is a new language for XTTS and {files.model.name} comes without its text rules; "
            f"put the run's ready/{TEXT_RULES_NAME} beside it as {files.model.stem}.{TEXT_RULES_NAME}"))])
