"""ready/ bundles: the current one, the earlier ones kept in ready/previous/, and their manifests.

The guide's ready/ folder holds one bundle (unoptimize_model.pth, model.pth once optimized,
config.json, vocab.json, speakers_xtts.pth, reference.wav). Every run that ends in the same output
path and every export from the gallery writes a new one. Overwriting file by file would lose the
old model and could leave a model.pth optimized from an older checkpoint beside a newer
unoptimize_model.pth. So before a new bundle goes in, every file of the old one is moved into
ready/previous/<UTC time>/: os.replace within one file system, instant, nothing copied, nothing lost.

Each bundle carries ready/manifest.json: where unoptimize_model.pth came from (file, run, step,
epoch, losses), its sha256, when it was made, its files, and model.pth's source once optimized.
Bundles made before manifests existed have none; they are listed with "origin unknown".
"""
from __future__ import annotations

import os
import stat
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.base.atomic_io import read_json, write_json_atomic
from core.checkpoints.layout import MANIFEST_NAME, PREVIOUS_DIR, READY_DIR, READY_MODEL_NAME, ready_dir
from core.registry.records import list_run_ids, load_record
from core.base.workspace import Workspace

if TYPE_CHECKING:  # only a type here: importing files.py loads torch, which `core.cli list` should not
    from core.checkpoints.files import CheckpointInfo

MANIFEST_VERSION = 1  # manifest.json's format


@dataclass(frozen=True)
class OptimizedModel:
    """model.pth as optimize wrote it into a bundle."""
    file: str
    sha256: str
    source: str  # the checkpoint it was stripped from
    step: int | None
    made_at_s: float
    from_bundle: bool  # stripped from this bundle's own model (else it does not match unoptimize_model.pth)


@dataclass(frozen=True)
class ReadyManifest:
    """What ready/manifest.json records about a bundle; None where it is not known."""
    source: str | None  # the checkpoint copied to unoptimize_model.pth
    run_id: str | None
    step: int | None
    epoch: int | None
    train_loss: float | None
    eval_loss: float | None
    sha256: str | None  # of unoptimize_model.pth
    made_at_s: float | None
    files: tuple[str, ...]
    optimized: OptimizedModel | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = list(self.files)
        data["version"] = MANIFEST_VERSION
        return data

    @classmethod
    def from_json(cls, data: Any) -> "ReadyManifest | None":
        """The manifest, or None for anything that is not one (a hand-edited or foreign file)."""
        if not isinstance(data, dict):
            return None
        try:
            opt = data.get("optimized")
            optimized = OptimizedModel(**opt) if isinstance(opt, dict) else None
        except TypeError:
            optimized = None  # a model.pth record we cannot read says nothing about the rest
        try:
            return cls(source=data.get("source"), run_id=data.get("run_id"), step=data.get("step"),
                       epoch=data.get("epoch"), train_loss=data.get("train_loss"), eval_loss=data.get("eval_loss"),
                       sha256=data.get("sha256"), made_at_s=data.get("made_at_s"),
                       files=tuple(str(f) for f in data.get("files") or ()), optimized=optimized)
        except TypeError:
            return None


def previous_dir(ready: Path) -> Path:
    return Path(ready) / PREVIOUS_DIR


def read_manifest(folder: Path) -> ReadyManifest | None:
    return ReadyManifest.from_json(read_json(Path(folder) / MANIFEST_NAME))


def write_manifest(folder: Path, manifest: ReadyManifest) -> Path:
    """Write <folder>/manifest.json atomically: a reader sees the old manifest or the new one."""
    path = Path(folder) / MANIFEST_NAME
    write_json_atomic(path, manifest.to_json())
    return path


def manifest_for(copied: CheckpointInfo, *, source: Path, sha256: str, files: tuple[str, ...],
                 run_id: str | None, made_at_s: float | None = None) -> ReadyManifest:
    """The manifest of a bundle whose unoptimize_model.pth is `copied` (its metadata read from the copy)."""
    return ReadyManifest(source=str(source), run_id=run_id, step=copied.step, epoch=copied.epoch,
                         train_loss=copied.train_loss, eval_loss=copied.eval_loss, sha256=sha256,
                         made_at_s=time.time() if made_at_s is None else made_at_s, files=files)


def bundle_files(folder: Path) -> list[Path]:
    """The files of the bundle in `folder`: every visible file in it, not previous/ and not hidden temp files."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    # Hidden names are writes in flight (".<name>.partial-<pid>"): they belong to whoever writes them.
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.name != PREVIOUS_DIR and (p.is_symlink() or p.is_file()))


def _stamp(now_s: float) -> str:
    # UTC to the microsecond: names sort by time, and mkdir's exclusivity settles any tie.
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now_s)) + f".{int(now_s % 1 * 1e6):06d}Z"


def _new_previous_folder(ready: Path, now_s: float) -> Path:
    root = previous_dir(ready)
    root.mkdir(exist_ok=True)
    stamp, n = _stamp(now_s), 0
    while True:
        folder = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            n += 1


def set_aside_bundle(ready: Path, *, now_s: float | None = None) -> Path | None:
    """Move the bundle in `ready` (if any) to ready/previous/<UTC time>/; returns that folder.

    os.replace within one folder tree: instant whatever the model's size, and never a copy.
    """
    ready = Path(ready)
    files = bundle_files(ready)
    if not files:
        return None
    folder = _new_previous_folder(ready, time.time() if now_s is None else now_s)
    for path in files:
        try:
            os.replace(path, folder / path.name)
        except FileNotFoundError:
            continue  # removed while we moved the others
    _fsync_dirs(ready, folder)
    return folder


def _fsync_dirs(*folders: Path) -> None:
    # The renames are what keeps the old bundle; make them survive a power cut like the files do.
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_bundle_folder(folder: Path) -> bool:
    """A ready/ folder, or any folder an export wrote a bundle into (it holds a manifest)."""
    folder = Path(folder)
    return folder.name == READY_DIR or (folder / MANIFEST_NAME).is_file()


def record_optimized(folder: Path, model: Path, *, sha256: str, source: Path, source_info: CheckpointInfo) -> ReadyManifest:
    """Add model.pth (as optimize wrote it) to the bundle's manifest; a bundle without one gets one."""
    folder = Path(folder)
    manifest = read_manifest(folder) or ReadyManifest(None, None, None, None, None, None, None, None, ())
    own_model = Path(source).resolve() == (folder / READY_MODEL_NAME).resolve()
    same_origin = manifest.source is not None and Path(source).resolve() == Path(manifest.source).resolve()
    from_bundle = own_model or (same_origin and source_info.step == manifest.step)
    optimized = OptimizedModel(Path(model).name, sha256, str(source), source_info.step, time.time(), from_bundle)
    files = tuple(sorted({*manifest.files, *(p.name for p in bundle_files(folder) if p.name != MANIFEST_NAME)}))
    updated = replace(manifest, files=files, optimized=optimized)
    write_manifest(folder, updated)
    return updated


@dataclass(frozen=True)
class ReadyBundleInfo:
    """One bundle as the Checkpoints page lists it."""
    folder: Path
    is_current: bool  # ready/ itself; else one of ready/previous/<time>/
    manifest: ReadyManifest | None  # None: made by a version without manifests
    files: tuple[str, ...]
    size_bytes: int

    @property
    def label(self) -> str:
        return "current" if self.is_current else f"{PREVIOUS_DIR}/{self.folder.name}"


def _bundle_info(folder: Path, is_current: bool) -> ReadyBundleInfo | None:
    files, size = [], 0
    for path in bundle_files(folder):
        try:
            size += path.lstat().st_size
        except FileNotFoundError:
            continue
        files.append(path.name)
    if not files:
        return None
    return ReadyBundleInfo(folder, is_current, read_manifest(folder), tuple(files), size)


def list_ready_bundles(output_path: str | Path) -> list[ReadyBundleInfo]:
    """The output path's current ready/ bundle first, then the earlier ones, newest first."""
    ready = ready_dir(output_path).expanduser()
    found = [_bundle_info(ready, True)]
    previous = previous_dir(ready)
    if previous.is_dir():
        folders = sorted((p for p in previous.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.name, reverse=True)
        found += [_bundle_info(folder, False) for folder in folders]
    return [bundle for bundle in found if bundle is not None]


@dataclass(frozen=True)
class OutputBundles:
    output_path: Path
    bundles: tuple[ReadyBundleInfo, ...]


def workspace_ready_bundles(ws: Workspace) -> list[OutputBundles]:
    """The ready/ bundles of every output path the workspace's runs used, newest run's output first."""
    outputs: list[Path] = []
    for run_id in list_run_ids(ws):
        record = load_record(ws, run_id)
        if record is not None and record.output_path and Path(record.output_path) not in outputs:
            outputs.append(Path(record.output_path))
    return [OutputBundles(output, tuple(list_ready_bundles(output))) for output in outputs]


def ready_folder_bytes(output_path: str | Path) -> int:
    """Bytes under <output>/ready/ (current bundle, ready/previous/, anything else), each file once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, names in os.walk(ready_dir(output_path).expanduser()):
        for name in names:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            # Regular files, each inode once (promote backups are hard links): as core.disk.tracking measures.
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
