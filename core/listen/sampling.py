"""How XTTS samples its audio tokens: one frozen set of settings, the same for every checkpoint compared.

XTTS's GPT samples each audio token at random (temperature, top-k, top-p), so two syntheses of one
sentence differ even from one checkpoint. Comparing checkpoints therefore fixes the seed as well
as the settings: each sample starts from `torch.manual_seed(seed)`, so what differs between two
checkpoints' samples is the weights, and a sample can be made again exactly (same device kind; a
GPU draws other random numbers than a CPU from the same seed). The defaults are those of XTTS v2's
released config.json.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from core.base.errors import ConfigInvalid, FieldError

MAX_SEED = 2**32 - 1

# How the reference clips become the GPT's conditioning (XTTS v2's released config.json). Fixed
# rather than a setting; they are part of every cache key, so changing them here re-synthesises.
CONDITIONING = {"gpt_cond_len": 30, "gpt_cond_chunk_len": 4, "max_ref_length": 30}


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.75
    top_k: int = 50
    top_p: float = 0.85
    repetition_penalty: float = 5.0
    length_penalty: float = 1.0  # only used by beam search; kept so a key names every knob
    seed: int = 1234  # the same for every checkpoint of a comparison
    # Audio tokens at most (about 21.5 a second in XTTS v2); None: the model's own limit. A model that
    # never learnt to stop otherwise talks for the full ~28 s, which costs minutes on a CPU.
    max_audio_tokens: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "SamplingSettings":
        """Settings saved by `to_json`; unknown keys are ignored, a bad value raises ConfigInvalid."""
        if not isinstance(data, dict):
            return cls()
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        try:
            return check_settings(cls(**known))
        except TypeError as exc:
            raise ConfigInvalid([FieldError("settings", f"are not readable ({exc}); choose them again")]) from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_settings(settings: SamplingSettings) -> SamplingSettings:
    """`settings` when every value is in range, else ConfigInvalid naming each bad one."""
    errors = []
    if not _number(settings.temperature) or not 0 < settings.temperature <= 5:
        errors.append(FieldError("temperature", "must be above 0 and at most 5 (XTTS v2 uses 0.75)"))
    if not isinstance(settings.top_k, int) or isinstance(settings.top_k, bool) or settings.top_k < 1:
        errors.append(FieldError("top_k", "must be a whole number of at least 1 (XTTS v2 uses 50)"))
    if not _number(settings.top_p) or not 0 < settings.top_p <= 1:
        errors.append(FieldError("top_p", "must be above 0 and at most 1 (XTTS v2 uses 0.85)"))
    if not _number(settings.repetition_penalty) or settings.repetition_penalty < 1:
        errors.append(FieldError("repetition_penalty", "must be at least 1 (1 means no penalty; XTTS v2 uses 5)"))
    if not _number(settings.length_penalty):
        errors.append(FieldError("length_penalty", "must be a number (XTTS v2 uses 1)"))
    if not isinstance(settings.seed, int) or isinstance(settings.seed, bool) or not 0 <= settings.seed <= MAX_SEED:
        errors.append(FieldError("seed", f"must be a whole number from 0 to {MAX_SEED}"))
    cap = settings.max_audio_tokens
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        errors.append(FieldError("max_audio_tokens", "must be empty (the model's own limit) or at least 1"))
    if errors:
        raise ConfigInvalid(errors)
    return settings
