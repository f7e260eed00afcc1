"""Base-model folders and the XTTS v2 download (this machine has no internet: the offline path)."""
import pytest

from core.trainer.base_model import download_xtts_v2, resolve_base_model
from core.base.errors import ConfigInvalid


def test_demo_base_resolves_without_model_pth(demo_workspace):
    base = resolve_base_model(demo_workspace[1].base_dir)
    assert base.is_demo and base.model_pth is None and base.model_args()["gpt_layers"] == 2


def test_local_folder_names_missing_files(tmp_path):
    for name in ("model.pth", "config.json", "vocab.json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(ConfigInvalid) as info:
        resolve_base_model(tmp_path)
    message = info.value.errors[0].message
    assert "dvae.pth" in message and "mel_stats.pth" in message and "vocab.json" not in message.split("missing")[1]


def test_complete_local_folder_with_optional_speakers(tmp_path):
    for name in ("model.pth", "config.json", "vocab.json", "dvae.pth", "mel_stats.pth", "speakers_xtts.pth"):
        (tmp_path / name).write_text("{}")
    base = resolve_base_model(tmp_path)
    assert base.model_pth == tmp_path / "model.pth" and base.speakers_pth == tmp_path / "speakers_xtts.pth"


def test_download_needs_the_licence_accepted(tmp_path):
    with pytest.raises(ConfigInvalid) as info:
        download_xtts_v2(tmp_path, license_accepted=False)
    assert "licence" in str(info.value)


def _has_internet() -> bool:
    import socket

    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_has_internet(), reason="this test checks the offline message; this machine is online")
def test_download_without_internet_says_which_files_to_place_where(tmp_path):
    with pytest.raises(ConfigInvalid) as info:
        download_xtts_v2(tmp_path, license_accepted=True)
    message = str(info.value)
    assert str(tmp_path / "xtts_v2") in message
    for name in ("model.pth", "config.json", "vocab.json", "dvae.pth", "mel_stats.pth"):
        assert name in message
