"""The only module that knows the trainer's folder and file names, and ours beside them.

An output path, as the guide lays it out and coqui's trainer writes it (docs/trainer-facts.md):

    <output>/run/training/<run folder>/     the trainer's: checkpoint_<step>.pth, best_model_<step>.pth,
                                            best_model.pth, config.json, trainer_0_log.txt, events.out.tfevents.*
    <output>/run/training/<run folder>/kept/  ours: retention hard links (the trainer never looks in subfolders)
    <output>/run/training/<run folder>/incomplete/  ours: saves a crash cut short, set aside by a continue
    <output>/ready/                          ours: unoptimize_model.pth, model.pth (optimize), config.json,
                                            vocab.json, speakers_xtts.pth, reference.wav, manifest.json
    <output>/ready/previous/<time>/          ours: earlier bundles, set aside by a later export

The trainer's rotation deletes any `checkpoint_*` or `best_model*` file in a run folder, whatever
follows the prefix, so nothing of ours may be named like that there; everything of ours lives in a
subfolder or outside. (A cut `checkpoint_200.pth.incomplete` left beside a fresh `checkpoint_200.pth`
made the trainer delete the fresh one at keep=1; `INCOMPLETE_SUFFIX` now only names such leftovers.)
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

TRAINING_SUBPATH = ("run", "training")
READY_DIR = "ready"
KEPT_DIR = "kept"
BEST_MODEL_NAME = "best_model.pth"
READY_MODEL_NAME = "unoptimize_model.pth"  # the guide's name for the full model in ready/
OPTIMIZED_MODEL_NAME = "model.pth"  # ready/model.pth: inference weights only
INCOMPLETE_SUFFIX = ".incomplete"  # how earlier versions renamed a cut save in place (still in the trainer's reach)
INCOMPLETE_DIR = "incomplete"  # where a continue sets cut saves aside, under their own names
MANIFEST_NAME = "manifest.json"  # ready/manifest.json: where a bundle came from (core.checkpoints.ready_bundles)
PREVIOUS_DIR = "previous"  # ready/previous/<time>/: bundles a later export set aside
EVENT_FILE_PREFIX = "events.out.tfevents."
TRAINER_LOG_NAME = "trainer_0_log.txt"

_STEP_FILE = re.compile(r"^(?P<kind>checkpoint|best_model)_(?P<step>\d+)\.pth$")


def trainer_output_dir(output_path: str | Path) -> Path:
    """Where the trainer's run folders of an output path live: <output>/run/training/."""
    return Path(output_path).joinpath(*TRAINING_SUBPATH)


def ready_dir(output_path: str | Path) -> Path:
    return Path(output_path) / READY_DIR


def kept_dir(run_folder: Path) -> Path:
    return run_folder / KEPT_DIR


def incomplete_dir(run_folder: Path) -> Path:
    return run_folder / INCOMPLETE_DIR


def incomplete_names(name: str) -> Iterator[str]:
    """Names for a cut save in incomplete/: its own, then "<stem>.2.pth", "<stem>.3.pth", ...

    A step can be cut twice (a crash, a continue, the same crash again); the second file must not
    replace the first. The names keep ".pth" so the gallery lists them as model files.
    """
    yield name
    stem, dot, suffix = name.partition(".")
    for n in itertools.count(2):
        yield f"{stem}.{n}{dot}{suffix}"


def name_without_incomplete_suffix(name: str) -> str:
    """The trainer's name of a file an earlier version renamed in place to "<name>.incomplete"."""
    return name.removesuffix(INCOMPLETE_SUFFIX)


def output_path_of(run_folder: Path) -> Path | None:
    """The output path a trainer run folder belongs to (the inverse of `trainer_output_dir`).

    None for a folder that is not laid out as <output>/run/training/<run folder>.
    """
    parent = run_folder.parent
    if len(parent.parts) <= len(TRAINING_SUBPATH) or parent.parts[-len(TRAINING_SUBPATH):] != TRAINING_SUBPATH:
        return None
    return parent.parents[len(TRAINING_SUBPATH) - 1]


def trainer_run_folders(output_path: str | Path) -> list[Path]:
    """The trainer's run folders of an output path, newest (by mtime) first."""
    root = trainer_output_dir(output_path).expanduser()
    if not root.is_dir():
        return []
    folders = []
    for path in root.iterdir():
        try:
            if path.is_dir():
                folders.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue  # removed while we listed
    return [path for _, path in sorted(folders, key=lambda pair: pair[0], reverse=True)]


def checkpoint_name(step: int) -> str:
    return f"checkpoint_{step}.pth"


def best_step_name(step: int) -> str:
    return f"best_model_{step}.pth"


def parse_step_file(name: str) -> tuple[str, int] | None:
    """("checkpoint" | "best_model", step) for the trainer's step-numbered files, else None."""
    match = _STEP_FILE.match(name)
    return (match["kind"], int(match["step"])) if match else None


def step_of(path: Path) -> int | None:
    """The step in a checkpoint_<step>.pth or best_model_<step>.pth name."""
    parsed = parse_step_file(path.name)
    return parsed[1] if parsed else None


def _step_files(folder: Path, kind: str) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob(f"{kind}_*.pth"):
        parsed = parse_step_file(path.name)
        if parsed and parsed[0] == kind:
            found.append((parsed[1], path))
    return sorted(found)


def periodic_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint_<step>.pth in a run folder, lowest step first."""
    return _step_files(folder, "checkpoint")


def best_step_files(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every best_model_<step>.pth in a run folder, lowest step first."""
    return _step_files(folder, "best_model")


def best_model_files(folder: Path) -> list[Path]:
    """best_model.pth and every best_model_<step>.pth: the files the trainer's best-model save replaces."""
    return sorted(folder.glob("best_model*.pth"))
