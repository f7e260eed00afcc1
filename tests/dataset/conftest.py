"""Fixtures shared by the dataset tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataset.tiny_whisper import make_tiny_whisper


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory) -> Path:
    """A tiny random Whisper made locally (no hub), shared by every test that transcribes."""
    return make_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper") / "model")
