"""Any model file we list, loaded into coqui's Xtts for inference, reading only the weights inference uses.

coqui's own `Xtts.load_checkpoint` reads the whole file into memory (a 5.6 GB training checkpoint:
5.6 GB, of which 3.5 GB optimizer state and 0.2 GB DVAE it then throws away) after first building
the model with random weights (another 1.9 GB). Here instead:

  * `torch.load(mmap=True, weights_only=True)` maps the file: the optimizer's and the DVAE's tensors
    are never read, and no code in the file can run;
  * the model is built with its parameters on the "meta" device (no memory, no random init); its
    buffers (mel filter banks) stay real, since coqui computes them in the constructors;
  * `load_state_dict(assign=True)` makes the mapped tensors the parameters, so the inference weights
    are read from the page cache as inference first touches them, once, and never copied on the CPU.

Peak memory is then the inference weights plus small change (benchmarks/bench_listen.py measures it).
The keys taken are coqui's own rule (Xtts.get_compatible_checkpoint_state_dict): the trainer's
"xtts." prefix stripped, the DVAE and the trainer's mel front-ends dropped. torch and coqui are
imported inside the functions: only the synthesis job process pays for them.
"""
from __future__ import annotations

import contextlib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.base.errors import FieldError
from core.language.normalise import TextRules
from core.listen.fingerprint import CheckpointUnusable, checkpoint_fingerprint
from core.listen.model_files import ModelFiles, check_language

INFERENCE_PARTS = ("gpt", "hifigan_decoder", "mel_stats")  # what Xtts holds; everything else is training's
TRAINER_PREFIX = "xtts."


@dataclass(frozen=True)
class LoadedModel:
    model: Any  # TTS.tts.models.xtts.Xtts, in eval mode, on `device`
    files: ModelFiles
    fingerprint: str
    device: str
    inference_bytes: int  # tensor bytes of the weights taken (what inference keeps in memory)


def _unusable(files: ModelFiles, why: str) -> CheckpointUnusable:
    return CheckpointUnusable([FieldError("checkpoint", f"{files.model.name} {why}")])


def inference_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The Xtts keys of a model state dict: "xtts." stripped, DVAE, mel front-ends and anything else dropped."""
    taken = {}
    for key, value in state.items():
        name = key[len(TRAINER_PREFIX):] if key.startswith(TRAINER_PREFIX) else key
        if name.split(".")[0] in INFERENCE_PARTS:
            taken[name] = value
    return taken


@contextlib.contextmanager
def _parameters_on_meta():
    """Every nn.Parameter registered meanwhile lands on the meta device; buffers stay where they are made."""
    import torch

    original = torch.nn.Module.register_parameter

    def register_parameter(module, name, param):
        original(module, name, param)
        if param is not None and param.device.type != "meta":
            made = module._parameters[name]
            module._parameters[name] = torch.nn.Parameter(made.to("meta"), requires_grad=made.requires_grad)

    torch.nn.Module.register_parameter = register_parameter
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = original


def _read_state(files: ModelFiles) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(model state dict, the config stored in the checkpoint) with every tensor memory-mapped."""
    import torch

    try:
        obj = torch.load(files.model, map_location="cpu", mmap=True, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise _unusable(files, f"cannot be read as a checkpoint ({str(exc).splitlines()[0][:200]}); "
                               "pick another model file") from None
    state = obj.get("model") if isinstance(obj, dict) else None
    if isinstance(obj, dict) and state is None and any(isinstance(v, torch.Tensor) for v in obj.values()):
        state = obj  # a bare state dict
    if not isinstance(state, dict):
        raise _unusable(files, "holds no model weights (no 'model' state dict); pick a trainer checkpoint or a "
                               "ready/ model")
    config = obj.get("config") if isinstance(obj.get("config"), dict) else None
    return state, config


def _xtts_config(files: ModelFiles, stored: dict[str, Any] | None):
    from TTS.tts.configs.xtts_config import XttsConfig

    config = XttsConfig()
    if files.config_json is not None:
        config.load_json(str(files.config_json))
    elif stored is not None:
        config.from_dict(dict(stored))
    else:
        raise _unusable(files, "has no config: neither a config.json beside it nor one stored inside; put the "
                               "config.json of its run beside it")
    return config


def _vocab(files: ModelFiles, config) -> Path:
    if files.vocab_json is not None:
        return files.vocab_json
    named = Path(config.model_args.tokenizer_file) if config.model_args.tokenizer_file else None
    if named is not None and named.is_file():
        return named
    raise _unusable(files, f"comes without the vocabulary it was trained with ({named or 'not named'} is gone); put "
                           f"that vocab.json beside it as {files.model.stem}.vocab.json")


def install_rules(rules: TextRules | None) -> None:
    """coqui's tokenizer with `rules` (a new language) or with only its own (None); before any tokenizer is made."""
    from core.language.tokenizer_patch import install_text_rules, uninstall_text_rules

    if rules is None:
        uninstall_text_rules()
    else:
        install_text_rules(rules)


def load_for_inference(files: ModelFiles, language: str, device: str = "cpu") -> LoadedModel:
    """The model of `files`, ready for Xtts.inference in `language` (CheckpointUnusable on bad files)."""
    import torch
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    from core.trainer.inference_compat import patch_gpt_inference_cache

    fingerprint = checkpoint_fingerprint(files.model)  # a cut file stops here, before torch reads it
    patch_gpt_inference_cache()
    state, stored_config = _read_state(files)
    config = _xtts_config(files, stored_config)
    if not files.languages:  # a custom model: its stored config says what it speaks
        files = ModelFiles(files.model, files.config_json, files.vocab_json, files.rules,
                           tuple(config.languages or ()), files.default_reference, files.run_folder)
    check_language(files, language)
    if language not in config.languages:
        config.languages = [*config.languages, language]
    install_rules(files.rules)
    weights = inference_weights(state)
    tokenizer = VoiceBpeTokenizer(vocab_file=str(_vocab(files, config)))
    rows = weights.get("gpt.text_embedding.weight")
    if rows is not None and rows.shape[0] != tokenizer.get_number_tokens():
        raise _unusable(files, f"was trained with {rows.shape[0]} text tokens but its vocabulary has "
                               f"{tokenizer.get_number_tokens()}; use the vocab.json its run trained with (a new "
                               "language's extended vocabulary)")
    with _parameters_on_meta():
        model = Xtts(config)
        model.tokenizer = tokenizer
        model.init_models()  # sized by the tokenizer, as coqui's load_checkpoint does
    try:
        model.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as exc:
        raise _unusable(files, f"does not fit the model its config describes ({str(exc).splitlines()[0][:300]}); "
                               "use the config.json of the run that trained it") from None
    left = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise _unusable(files, f"lacks weights inference needs ({', '.join(left[:3])}); pick a complete model file")
    model.eval()  # also builds the GPT's inference wrapper (Xtts.eval)
    # Counted before a move to the GPU, while the parameters are still the file's mapped tensors.
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in weights.values()}
    if device != "cpu":
        model.to(torch.device(device))
    return LoadedModel(model, files, fingerprint, device, sum(storages.values()))

