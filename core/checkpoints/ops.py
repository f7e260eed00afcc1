"""Changing checkpoint files safely: promote (copy into place), optimize (strip); deleting is in `deletion`.

The trainer writes its files in place, so a crash leaves half a file under a real name. Here every
write goes to a hidden temp file in the target folder, is fsynced and checked, and only then is
renamed over the final name: a kill at any moment leaves the old file or the new one, never half.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


from core.checkpoints.files import CheckpointError, CheckpointInfo, Integrity, read_checkpoint_info
from core.checkpoints.ready_bundles import is_bundle_folder, record_optimized
from core.checkpoints.targets import refuse_trainer_area

ProgressCallback = Callable[[int, int], None]  # (bytes_done, bytes_total)
# Per-call costs of copy_file_range showed up at 64 MiB (5.6 GB copies ran ~20% slower than cp,
# which copies in one call); 512 MiB matches cp and still moves a progress bar about every 0.3 s.
COPY_CHUNK_BYTES = 512 * 1024 * 1024
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)$")


class CheckpointIncompleteError(CheckpointError):
    pass


class TargetExistsError(CheckpointError):
    pass


class SourceChangedError(CheckpointError):
    pass


@dataclass(frozen=True)
class PromoteResult:
    source: Path
    target: Path
    bytes_copied: int
    duration_s: float
    backup: Path | None  # where the replaced target was kept, if there was one


@dataclass(frozen=True)
class OptimizeResult:
    source: Path
    target: Path
    bytes_before: int
    bytes_after: int
    bytes_saved: int
    removed_model_keys: int
    backup: Path | None
    source_deleted: bool
    sha256: str = ""  # of the written model, hashed as torch.save wrote it


def temp_path_for(target: Path) -> Path:
    """Hidden, pid-tagged sibling of target; listings skip it and cleanup can tell if it's stale."""
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def _require_complete(path: Path) -> CheckpointInfo:
    info = read_checkpoint_info(path)
    if info.integrity is not Integrity.COMPLETE:
        fixes = {
            Integrity.BEING_WRITTEN: "The trainer is still writing it; wait until the save finishes.",
            Integrity.TRUNCATED: "The save was cut off; pick an earlier checkpoint or best_model.pth.",
        }
        fix = fixes.get(info.integrity, "Pick another checkpoint; this one can't be read safely.")
        detail = f" ({info.error})" if info.error else ""
        raise CheckpointIncompleteError(f"{path.name} is {info.integrity.value}{detail}.", fix)
    return info


def _refuse_existing(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise TargetExistsError(
            f"{target} already exists.", "Choose another name, or confirm replacing it (a backup is kept)."
        )


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_range(src_fd: int, dst_fd: int, total: int, chunk: int, progress: ProgressCallback | None) -> None:
    # copy_file_range copies inside the kernel (no trip through Python buffers); it is what cp uses.
    # Some filesystems refuse it (EXDEV on old kernels, EINVAL/ENOSYS on FUSE), so fall back to
    # sendfile and then to plain read/write.
    done = 0
    strategy = "copy_file_range" if hasattr(os, "copy_file_range") else "sendfile"
    while done < total:
        want = min(chunk, total - done)
        try:
            if strategy == "copy_file_range":
                n = os.copy_file_range(src_fd, dst_fd, want, done, done)
            elif strategy == "sendfile":
                n = os.sendfile(dst_fd, src_fd, done, want)
            else:
                n = os.pwrite(dst_fd, os.pread(src_fd, want, done), done)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) and strategy != "rw":
                strategy = "sendfile" if strategy == "copy_file_range" else "rw"
                os.lseek(dst_fd, done, os.SEEK_SET)  # sendfile writes at the file position
                continue
            raise
        if n == 0:
            raise SourceChangedError("The source file got shorter while copying.", "Try again.")
        done += n
        if progress is not None:
            progress(done, total)


def _backup_name(target: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = target.with_name(f"{target.name}.bak-{stamp}"), 1
    while backup.exists():
        backup, n = target.with_name(f"{target.name}.bak-{stamp}-{n}"), n + 1
    return backup


def _install(temp: Path, target: Path, overwrite: bool) -> Path | None:
    """Rename a checked temp file over target, first keeping any old target as a backup."""
    backup = None
    if target.exists():
        _refuse_existing(target, overwrite)
        backup = _backup_name(target)
        # A hard link keeps the old file under the backup name at no cost, and the target name
        # still points at the old file until os.replace swaps in the new one in a single step.
        try:
            os.link(target, backup)
        except OSError:
            # No hard links here (some network or FAT filesystems): move it aside instead; the
            # target name is then briefly empty, but the old file is never lost.
            os.rename(target, backup)
    os.replace(temp, target)
    _fsync_dir(target.parent)
    return backup


def _verify_temp(temp: Path, expected_bytes: int | None) -> None:
    size = temp.stat().st_size
    if expected_bytes is not None and size != expected_bytes:
        raise SourceChangedError(
            f"The copy has {size} bytes, the source {expected_bytes}.", "The source changed while copying; try again."
        )
    info = read_checkpoint_info(temp)
    if info.integrity is not Integrity.COMPLETE:
        raise CheckpointIncompleteError(
            f"The written file did not verify ({info.error}).", "Check free disk space and try again."
        )


def promote(
    src: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    chunk_bytes: int = COPY_CHUNK_BYTES,
) -> PromoteResult:
    """Copy a complete checkpoint to target atomically, keeping any replaced target as a backup."""
    src, target = Path(src), Path(target)
    started = time.monotonic()
    refuse_trainer_area(target)
    checked = _require_complete(src)
    total = checked.size_bytes
    _refuse_existing(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(target)
    try:
        with open(src, "rb") as fin:
            before = os.fstat(fin.fileno())
            with open(temp, "wb") as fout:
                _copy_range(fin.fileno(), fout.fileno(), total, chunk_bytes, progress)
                os.fsync(fout.fileno())
            after = os.fstat(fin.fileno())
        # The trainer may replace best_model.pth at any moment: the file we copied must be the
        # one we checked, unchanged from start to end.
        states = {(st.st_size, st.st_mtime) for st in (before, after)} | {(total, checked.mtime_s)}
        if len(states) != 1:
            raise SourceChangedError(f"{src.name} changed while it was copied.", "Try again once training saved.")
        _verify_temp(temp, total)
        backup = _install(temp, target, overwrite)
    finally:
        temp.unlink(missing_ok=True)
    keep_vocab_beside(target, checked)
    return PromoteResult(src, target, total, time.monotonic() - started, backup)


def optimize(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    delete_source: bool = False,
) -> OptimizeResult:
    """Write src without optimizer state and DVAE weights (the inference-only model.pth).

    Into a ready/ bundle, model.pth is recorded in the bundle's manifest (sha256 and source).
    """
    src, dst = Path(src), Path(dst)
    refuse_trainer_area(dst)
    checked = _require_complete(src)
    bytes_before = checked.size_bytes
    _refuse_existing(dst, overwrite)
    dst.parent.mkdir(parents=True, exist_ok=True)
    # mmap keeps every tensor backed by the source file: torch.save then streams pages from the
    # page cache, so resident anonymous memory stays flat however large the checkpoint is. The
    # trainer replaces files by deleting and rewriting (a new inode), which leaves our mapping valid.
    import torch  # here, not at the top: the UI process imports this module for its types and errors

    checkpoint: dict[str, Any] = torch.load(src, mmap=True, weights_only=True, map_location="cpu")
    model = checkpoint["model"]
    # Same rule as the original Step 2.5: every key mentioning "dvae" goes (this includes
    # torch_mel_spectrogram_dvae.*); inference rebuilds what it needs from dvae.pth.
    kept_model = {k: v for k, v in model.items() if "dvae" not in k}
    reduced = {k: v for k, v in checkpoint.items() if k not in ("optimizer", "model")}
    reduced["model"] = kept_model
    removed_model_keys = len(model) - len(kept_model)
    temp = temp_path_for(dst)
    try:
        with open(temp, "wb") as fout:
            hashing = _HashingWriter(fout)
            torch.save(reduced, hashing)
            fout.flush()
            os.fsync(fout.fileno())
        del checkpoint, model, kept_model, reduced
        _verify_temp(temp, None)
        bytes_after = temp.stat().st_size
        backup = _install(temp, dst, overwrite)
    finally:
        temp.unlink(missing_ok=True)
    sha256 = hashing.digest.hexdigest()
    if is_bundle_folder(dst.parent):
        record_optimized(dst.parent, dst, sha256=sha256, source=src, source_info=checked)
    else:
        keep_vocab_beside(dst, checked)  # a ready/ bundle has its vocab.json already
    source_deleted = delete_source and src.resolve() != dst.resolve()
    if source_deleted:
        src.unlink()
    return OptimizeResult(
        src, dst, bytes_before, bytes_after, bytes_before - bytes_after, removed_model_keys, backup, source_deleted,
        sha256,
    )


def vocab_beside(model_file: Path) -> Path:
    """Where a promoted or optimized model keeps the vocabulary it was trained with: `<stem>.vocab.json`."""
    return model_file.with_name(f"{model_file.stem}.vocab.json")


def keep_vocab_beside(model_file: Path, info: CheckpointInfo) -> Path | None:
    """Copy the checkpoint's own vocab.json next to the copy of it, so an extended vocabulary (a new
    language's) travels with its weights; a vocabulary file that is gone by now is skipped."""
    source = Path(info.tokenizer_file) if info.tokenizer_file else None
    if source is None or not source.is_file():
        return None
    target = vocab_beside(model_file)
    temp = temp_path_for(target)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


class _HashingWriter:
    """Hands torch.save's writes to a file and hashes them on the way: no second pass over the file."""

    def __init__(self, raw: Any):
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def clean_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove ".<name>.partial-<pid>" files whose writer process is gone; returns what was removed."""
    removed = []
    for path in Path(folder).iterdir():
        match = _TEMP_NAME.match(path.name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _pid_alive(pid: int) -> bool:
    # A reused pid makes a stale file look alive; that only delays cleanup, it never loses data.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
