"""The run configuration: every setting of the guide, with its label, range, default and help text.

`FIELDS` is the single source of truth for ranges; the Train page renders its widgets from it
and `validate_config` enforces it, so the UI can never show a range that training ignores.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from core.base.errors import ConfigInvalid, FieldError
from core.base.languages import XTTS_LANGUAGES, language_problem

LANGUAGES = XTTS_LANGUAGES  # the 17 with coqui's own text rules; any other ISO 639 code is a new language
SAMPLE_RATE_HZ = 22050


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the config key: RunConfig's field, the CLI's --set name, the JSON key
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""  # what it does, and the guide's advice where it gives some
    choices: tuple[str, ...] = ()
    open_choices: bool = False  # `choices` are suggestions: other values are allowed (a new language)
    label: str = ""  # what people read: words, never the config key
    unit: str = ""  # shown after the label in the form: "Checkpoint save frequency (steps)"

    @property
    def form_label(self) -> str:
        """The widget label: words and the unit, e.g. "Checkpoint save frequency (steps)"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def tooltip(self) -> str:
        """The widget help: what it does, the guide's advice, the allowed range and default, the config key."""
        parts = [self.help]
        if self.minimum is not None:
            parts.append(f"Allowed: {_value_text(self, self.minimum)} to {_value_text(self, self.maximum)}; "
                         f"default {_value_text(self, self.default)}.")
        parts.append(f"Config key: `{self.name}`.")
        return " ".join(parts)


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("save_step", int, 1000, 100, 5000,
              "Save a checkpoint every N training steps. The guide: 500-1000 for fast experimentation, "
              "1000-2000 for long runs, 500 for production (more frequent saves).",
              label="Checkpoint save frequency", unit="steps"),
    FieldSpec("save_n_checkpoints", int, 1, 1, 10,
              "How many recent checkpoints the trainer keeps; older ones are deleted, the best model never is. "
              "The guide: 1-2 with limited disk space, 3-5 to experiment, 5-10 for production.",
              label="Checkpoints kept"),
    FieldSpec("save_checkpoints", bool, True, help="Turn periodic checkpoints on or off (the best model is always saved).",
              label="Save periodic checkpoints"),
    FieldSpec("keep_best_k", int, 0, 0, 20, "Also keep the K best models by eval loss in `kept/` (0 = off).",
              label="Best models also kept"),
    FieldSpec("milestone_every_steps", int, 0, 0, 10_000_000,
              "Also keep every checkpoint whose step is a multiple of this in `kept/` (0 = off; a multiple of the "
              "checkpoint save frequency).",
              label="Milestone checkpoint every", unit="steps"),
    FieldSpec("print_step", int, 50, 1, 100000, "Print training progress to the log every N steps (the guide: 50).",
              label="Log progress every", unit="steps"),
    FieldSpec("plot_step", int, 100, 1, 100000, "Write loss points to TensorBoard every N steps (the guide: 100).",
              label="Plot to TensorBoard every", unit="steps"),
    FieldSpec("log_model_step", int, 100, 1, 100000,
              "Log model artefacts to the dashboard logger every N steps (the guide: 100).",
              label="Log model artefacts every", unit="steps"),
    FieldSpec("epochs", int, 10, 1, 1000, "Passes over the training set.", label="Epochs"),
    FieldSpec("batch_size", int, 2, 1, 256, "Clips per training step.", label="Batch size", unit="clips"),
    FieldSpec("grad_accum_steps", int, 1, 1, 1024, "Batches accumulated before each optimizer step.",
              label="Gradient accumulation", unit="batches"),
    FieldSpec("learning_rate", float, 5e-6, 1e-8, 1e-2, "AdamW learning rate.", label="Learning rate"),
    FieldSpec("max_audio_length_s", float, 11.0, 1.0, 60.0, "Longer training clips are skipped.",
              label="Longest training clip", unit="seconds"),
    FieldSpec("language", str, "en", help="Language of the dataset: one of XTTS's 17, or any ISO 639 code for a "
              "language XTTS does not know (type it, e.g. `am` for Amharic): it then needs an extended vocabulary "
              "(Train page, New language).", choices=LANGUAGES, open_choices=True, label="Language"),
    FieldSpec("romanize", str, "", help="For a new language only: '' keeps the script as it is, `uroman` "
              "romanises it (any script, e.g. Ethiopic), or the path of a UTF-8 table with `from<TAB>to` lines. "
              "Applied the same way in training, the dataset check and inference; kept with the model.",
              label="Romanisation (new language)"),
    FieldSpec("train_csv", str, "", help="Coqui-format metadata CSV (`audio_file|text|speaker_name`), audio paths "
              "relative to the CSV.", label="Training metadata CSV"),
    FieldSpec("eval_csv", str, "", help="Coqui-format metadata CSV for evaluation.", label="Evaluation metadata CSV"),
    FieldSpec("output_path", str, "", help="Folder for `run/training/` (checkpoints, logs) and `ready/` (the final model).",
              label="Output folder"),
    FieldSpec("base_model_dir", str, "", help="Folder with the XTTS v2 base files: `model.pth`, `config.json`, "
              "`vocab.json`, `dvae.pth`, `mel_stats.pth` (`speakers_xtts.pth` optional).", label="Base model folder"),
    FieldSpec("custom_model_path", str, "", help="A fine-tuned `.pth` to start from instead of the base `model.pth` "
              "(the guide's custom model path); empty: the base model.", label="Custom model to start from",
              unit="optional .pth"),
    FieldSpec("vocab_path", str, "", help="An extended `vocab.json` that replaces the base one; empty: the base one.",
              label="Extended vocabulary", unit="optional vocab.json"),
    FieldSpec("save_best_after", int, 0, 0, 10_000_000, "Only save best models after this many steps.",
              label="Save best models after", unit="steps"),
    FieldSpec("num_loader_workers", int, 0, 0, 64, "Data-loader worker processes (0 = load in the trainer).",
              label="Data-loader workers", unit="processes"),
    FieldSpec("seed", int, 1, 0, 2**31 - 1, "Random seed.", label="Random seed"),
    FieldSpec("mixed_precision", bool, False, help="fp16 autocast; only on a GPU (turned off, with a note, on the CPU).",
              label="Mixed precision", unit="fp16"),
    FieldSpec("run_name", str, "GPT_XTTS_FT", help="Prefix of the trainer's run folder.", label="Run name"),
    # Off, as for the CPU demo; the form turns it on where there is a GPU
    # (core.trainer.test_sentences.default_test_sentences_each_epoch).
    FieldSpec("test_sentences_each_epoch", bool, False,
              help="After each epoch the trainer speaks two sentences of the evaluation set in the voice of the "
                   "reference clip and logs them to TensorBoard, so you can listen to the model as it learns "
                   "(Monitor page). It costs time every epoch: seconds on a GPU, minutes on a CPU. Off by default "
                   "on a CPU (the demo), on by default with a GPU.",
              label="Test sentences each epoch"),
    FieldSpec("overfit_patience_evals", int, 3, 1, 100,
              "Warn of overfitting when the eval loss has risen in this many evaluations in a row (there is one "
              "evaluation per epoch).", label="Overfitting patience", unit="rising evaluations"),
    FieldSpec("overfit_gap_ratio", float, 0.5, 0.0, 10.0,
              "Also warn when the eval loss has pulled away above the train loss: when the gap between them has "
              "grown, since it was narrowest, by more than this share of the train loss (0.5: by half the train "
              "loss; an eval loss below the train loss counts as no gap). Checked from the third evaluation on; "
              "0 turns this check off.",
              label="Overfitting gap growth", unit="share of train loss"),
    FieldSpec("stop_on_overfit", bool, False,
              help="Stop the run when the overfitting warning appears, as the Stop button does: the trainer saves "
                   "a checkpoint first. Never in the last epoch, which ends the run anyway.",
              label="Stop when overfitting"),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
PATH_FIELDS = ("train_csv", "eval_csv", "output_path", "base_model_dir", "custom_model_path", "vocab_path")
assert all(f.label for f in FIELDS), "every setting needs a label in words"


def field_label(name: str) -> str:
    """A setting named for people in messages: its label and its key ("Checkpoints kept (save_n_checkpoints)").

    Names that are not settings (a CLI flag, `gpus`) come back unchanged.
    """
    spec = FIELD_BY_NAME.get(name)
    return f"{spec.label} ({name})" if spec else name


# Messages that start with one of these read as the rest of a sentence whose subject is the setting.
_PREDICATES = ("is ", "must ", "cannot ", "has ", "holds ", "does ", "needs ")


def field_error_text(error: FieldError) -> str:
    """One field error as a sentence: "Checkpoints kept (save_n_checkpoints) is 11; allowed from 1 to 10."."""
    message = error.message.strip()
    text = f"{field_label(error.field)}{' ' if message.startswith(_PREDICATES) else ': '}{message}"
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class RunConfig:
    save_step: int = 1000
    save_n_checkpoints: int = 1
    save_checkpoints: bool = True
    keep_best_k: int = 0
    milestone_every_steps: int = 0
    print_step: int = 50
    plot_step: int = 100
    log_model_step: int = 100
    epochs: int = 10
    batch_size: int = 2
    grad_accum_steps: int = 1
    learning_rate: float = 5e-6
    max_audio_length_s: float = 11.0
    language: str = "en"
    romanize: str = ""
    train_csv: str = ""
    eval_csv: str = ""
    output_path: str = ""
    base_model_dir: str = ""
    custom_model_path: str = ""
    vocab_path: str = ""
    save_best_after: int = 0
    num_loader_workers: int = 0
    seed: int = 1
    mixed_precision: bool = False
    run_name: str = "GPT_XTTS_FT"
    test_sentences_each_epoch: bool = False
    overfit_patience_evals: int = 3
    overfit_gap_ratio: float = 0.5
    stop_on_overfit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_changes(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes)


assert [f.name for f in fields(RunConfig)] == [f.name for f in FIELDS], "FIELDS and RunConfig must list the same settings"


@dataclass(frozen=True)
class Preset:
    name: str
    save_step: int
    save_n_checkpoints: int
    description: str


# The guide's four example configurations. Their disk figures come from the planner, not the guide.
PRESETS: tuple[Preset, ...] = (
    Preset("Fast experimentation", 1000, 1, "Limited resources: one rolling checkpoint."),
    Preset("Balanced", 500, 3, "Recommended: frequent saves, three kept."),
    Preset("Production", 500, 10, "Maximum safety: compare many versions."),
    Preset("Very long training", 2000, 5, "Long runs: sparse saves, five kept."),
)
PRESET_BY_NAME = {p.name: p for p in PRESETS}


def apply_preset(config: RunConfig, preset_name: str) -> RunConfig:
    """Return `config` with the save settings of the named preset."""
    if preset_name not in PRESET_BY_NAME:
        raise ConfigInvalid([FieldError("preset", f"unknown preset {preset_name!r}; choose one of {', '.join(PRESET_BY_NAME)}")])
    preset = PRESET_BY_NAME[preset_name]
    return replace(config, save_step=preset.save_step, save_n_checkpoints=preset.save_n_checkpoints)


def _coerce(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """Convert one raw value to the field's type, or say what is wrong with it."""
    if spec.kind is bool:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "on", "off", "yes", "no"):
            return value.strip().lower() in ("true", "1", "on", "yes"), None
        if isinstance(value, int) and value in (0, 1):
            return bool(value), None
        return None, "must be on or off (true/false)"
    if spec.kind is str:
        if not isinstance(value, str):
            return None, "must be text"
        if "\x00" in value:
            return None, "must not contain NUL characters"
        return value.strip(), None
    # Numbers: accept ints, floats and numeric strings, but never bools (True would read as 1).
    if isinstance(value, bool) or value is None:
        return None, f"must be a number{_range_text(spec)}"
    try:
        number = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError, OverflowError):
        return None, f"must be a number{_range_text(spec)}, not {str(value)[:40]!r}"
    if isinstance(number, float) and not math.isfinite(number):
        return None, f"must be a finite number{_range_text(spec)}"
    if spec.kind is int:
        if isinstance(number, float):
            if not number.is_integer():
                return None, f"must be a whole number{_range_text(spec)}"
            number = int(number)
        return int(number), None
    return float(number), None


def _range_text(spec: FieldSpec) -> str:
    if spec.minimum is None:
        return ""
    fmt = (lambda v: f"{v:g}") if spec.kind is float else (lambda v: f"{int(v)}")
    return f" from {fmt(spec.minimum)} to {fmt(spec.maximum)}"


def _value_text(spec: FieldSpec, value: Any) -> str:
    return f"{value:g}" if spec.kind is float else f"{int(value):,}"


def _number_text(value: float) -> str:
    try:
        return f"{value:g}"
    except OverflowError:  # an int with hundreds of digits has no float form
        return "a number too large to show"


def validate_config(raw: Mapping[str, Any]) -> RunConfig:
    """Check every setting's type and range; raise ConfigInvalid naming each bad field.

    Unknown keys are refused too, so a typo never silently falls back to a default.
    Paths are only checked for form here; `core.trainer.preflight` checks the files themselves.
    """
    errors: list[FieldError] = []
    for key in raw:
        if key not in FIELD_BY_NAME:
            errors.append(FieldError(str(key), "is not a known setting"))
    values: dict[str, Any] = {}
    for spec in FIELDS:
        if spec.name not in raw:
            values[spec.name] = spec.default
            continue
        value, problem = _coerce(spec, raw[spec.name])
        if problem is None and spec.minimum is not None and not (spec.minimum <= value <= spec.maximum):
            problem = f"is {_number_text(value)}; allowed{_range_text(spec)}"
        if problem is None and spec.open_choices:
            problem = language_problem(str(value))
        if problem is None and spec.choices and not spec.open_choices and value not in spec.choices:
            problem = f"is {value!r}; choose one of {', '.join(spec.choices)}"
        if problem:
            errors.append(FieldError(spec.name, problem))
        else:
            values[spec.name] = value
    if not errors and not values["run_name"]:
        errors.append(FieldError("run_name", "must not be empty"))
    if not errors and (any(ch in values["run_name"] for ch in "/\\") or ".." in values["run_name"]):
        errors.append(FieldError("run_name", "must not contain '/', '\\' or '..'"))
    if not errors and values["milestone_every_steps"] % values["save_step"]:
        errors.append(FieldError("milestone_every_steps", (
            f"is {values['milestone_every_steps']}; it must be 0 or a multiple of save_step ({values['save_step']}), "
            "since only saved steps can be kept")))
    if errors:
        raise ConfigInvalid(errors)
    return RunConfig(**values)
