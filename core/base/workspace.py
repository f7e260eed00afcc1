"""The workspace: where the dashboard keeps run records, the demo assets and model caches.

Everything that touches the file system takes a Workspace explicitly, so tests build one on
tmp_path and nothing reads the environment or the working directory at import time.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

# The project folder: child processes of ours run `python -m core...` from here.
PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Workspace:
    root: Path
    python_executable: str = sys.executable
    # Extra environment for the training subprocess (e.g. CUDA_VISIBLE_DEVICES).
    env_overrides: Mapping[str, str] = field(default_factory=dict)
    # Folders the UI may read from and write to; the root is always one of them.
    extra_roots: tuple[Path, ...] = ()

    @classmethod
    def at(cls, root: str | os.PathLike, **kwargs) -> "Workspace":
        """Open (and create) a workspace rooted at `root`."""
        ws = cls(root=Path(root).expanduser().resolve(), **kwargs)
        for folder in (ws.runs_dir, ws.outputs_dir, ws.models_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return ws

    @property
    def runs_dir(self) -> Path:
        """One folder per launched run: record.json, status.json, train.log."""
        return self.root / "runs"

    @property
    def outputs_dir(self) -> Path:
        """Default parent of output paths."""
        return self.root / "outputs"

    @property
    def models_dir(self) -> Path:
        """Downloaded base models (XTTS v2) and promoted custom models."""
        return self.root / "models"

    @property
    def custom_models_dir(self) -> Path:
        """Promoted checkpoints: the custom model path of the guide."""
        return self.models_dir / "custom"

    @property
    def dataset_checks_dir(self) -> Path:
        """Cached dataset reports, keyed by the content of what was checked."""
        return self.root / "cache" / "dataset-checks"

    @property
    def samples_dir(self) -> Path:
        """Synthesised samples, one folder per checkpoint content (core.listen.samples)."""
        return self.root / "cache" / "samples"

    @property
    def test_sentences_file(self) -> Path:
        """The sentences the Listen page synthesises, per language, as the user edited them."""
        return self.root / "test_sentences.json"

    @property
    def demo_dir(self) -> Path:
        return self.root / "demo"

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.root, *self.extra_roots)

    def subprocess_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env_overrides)
        # The training module is imported as `core.runs.train_process` from the project folder.
        project_dir = str(PROJECT_DIR)
        env["PYTHONPATH"] = project_dir + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env
