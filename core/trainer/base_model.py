"""Base models: the XTTS v2 files a run starts from, validated before anything is launched."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import ConfigInvalid, FieldError

REQUIRED_FILES = ("model.pth", "config.json", "vocab.json", "dvae.pth", "mel_stats.pth")
OPTIONAL_FILES = ("speakers_xtts.pth",)
# The demo base has no model.pth: the trainer starts from random GPT/HiFi-GAN weights.
DEMO_MARKER = "DEMO_MODEL.txt"
XTTS_V2_MODEL_NAME = "tts_models/multilingual/multi-dataset/xtts_v2"


@dataclass(frozen=True)
class BaseModelFiles:
    folder: Path
    config_json: Path
    vocab_json: Path
    dvae_pth: Path
    mel_stats_pth: Path
    model_pth: Path | None  # None only for the demo (random init)
    speakers_pth: Path | None
    is_demo: bool

    def model_args(self) -> dict:
        """The `model_args` of the base config.json (GPT sizes etc.)."""
        return json.loads(self.config_json.read_text(encoding="utf-8")).get("model_args", {})


def resolve_base_model(folder: str | Path, field: str = "base_model_dir") -> BaseModelFiles:
    """Validate a base-model folder; raise ConfigInvalid naming every missing file."""
    if not str(folder).strip():
        raise ConfigInvalid([FieldError(field, "choose a base model folder (the demo, XTTS v2 or a local folder)")])
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigInvalid([FieldError(field, f"{path} is not a folder; it must hold {', '.join(REQUIRED_FILES)}")])
    is_demo = (path / DEMO_MARKER).is_file()
    required = [n for n in REQUIRED_FILES if not (is_demo and n == "model.pth")]
    missing = [n for n in required if not (path / n).is_file()]
    if missing:
        raise ConfigInvalid([FieldError(field, f"{path} is missing {', '.join(missing)}; place the XTTS v2 files there")])
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigInvalid([FieldError(field, f"{path / 'config.json'} is not valid JSON ({exc})")]) from exc
    speakers = path / "speakers_xtts.pth"
    return BaseModelFiles(
        folder=path,
        config_json=path / "config.json",
        vocab_json=path / "vocab.json",
        dvae_pth=path / "dvae.pth",
        mel_stats_pth=path / "mel_stats.pth",
        model_pth=None if is_demo else path / "model.pth",
        speakers_pth=speakers if speakers.is_file() else None,
        is_demo=is_demo,
    )


def xtts_v2_cache_dir(models_dir: Path) -> Path:
    return models_dir / "xtts_v2"


def missing_files_message(folder: Path) -> str:
    """What a user without internet must do to use XTTS v2."""
    return (
        f"XTTS v2 could not be downloaded here. Place these files in {folder}: "
        f"{', '.join(REQUIRED_FILES)} (and optionally {', '.join(OPTIONAL_FILES)}). "
        "They are the files of coqui's 'xtts_v2' model; mel_stats.pth and dvae.pth come from "
        "coqui's XTTS v2 release next to model.pth."
    )


LICENSE_TEXT = ("XTTS v2 is licensed under the Coqui Public Model License (non-commercial, "
                "https://coqui.ai/cpml) unless you bought a commercial licence from Coqui.")


def download_xtts_v2(models_dir: Path, *, license_accepted: bool) -> BaseModelFiles:
    """Fetch XTTS v2 with coqui's own downloader into the workspace cache.

    Raises ConfigInvalid with a message naming the files to place by hand when there is no
    internet (the usual case on air-gapped training boxes).
    """
    target = xtts_v2_cache_dir(models_dir)
    try:
        return resolve_base_model(target)
    except ConfigInvalid:
        pass
    if not license_accepted:
        raise ConfigInvalid([FieldError("license", f"accept the licence first: {LICENSE_TEXT}")])
    target.mkdir(parents=True, exist_ok=True)
    try:
        from TTS.utils.manage import ModelManager  # heavy import: only when asked

        manager = ModelManager(output_prefix=str(models_dir / "coqui"), progress_bar=False)
        # The user accepted the licence in the UI; coqui's downloader would otherwise prompt on stdin.
        tos_folder = models_dir / "coqui" / "tts" / XTTS_V2_MODEL_NAME.replace("/", "--")
        tos_folder.mkdir(parents=True, exist_ok=True)
        (tos_folder / "tos_agreed.txt").write_text("Accepted in the XTTS dashboard.\n")
        model_dir, _, _ = manager.download_model(XTTS_V2_MODEL_NAME)
        extra = {
            "dvae.pth": "https://huggingface.co/coqui/XTTS-v2/resolve/main/dvae.pth",
            "mel_stats.pth": "https://huggingface.co/coqui/XTTS-v2/resolve/main/mel_stats.pth",
        }
        for name in ("model.pth", "config.json", "vocab.json", "speakers_xtts.pth"):
            src = Path(model_dir) / name
            if src.is_file() and not (target / name).exists():
                (target / name).symlink_to(src)
        for name, url in extra.items():
            if not (target / name).exists():
                ModelManager._download_model_files([url], str(target), progress_bar=False)
    except Exception as exc:  # no internet, hub refused, interrupted download ...
        raise ConfigInvalid([FieldError("base_model_dir", f"{missing_files_message(target)} (download failed: {exc})")]) from exc
    return resolve_base_model(target)
