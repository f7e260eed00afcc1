"""Speaker similarity on espeak-ng voices: XTTS's own encoder (from a real demo run) and the spectral fallback."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.checkpoints import layout
from core.listen.speaker_similarity import (BASE_PREFIX, SPECTRAL_ENCODER_ID, TRAINER_PREFIX, EncoderUnavailable,
                                            SpectralSpeakerEncoder, XttsSpeakerEncoder, cosine, embed_file,
                                            embed_samples, encoder_weight_files, fingerprint, load_speaker_encoder,
                                            read_encoder_state, reference_embedding, speaker_similarity)
from tests.dataset.speech import SENTENCES, speak

VOICES = ("en-us", "en+f3")  # espeak-ng's American male and a female variant


@pytest.fixture(scope="module")
def clips() -> dict[tuple[str, int], tuple[np.ndarray, int]]:
    """Two sentences in each of two voices: (voice, sentence index) -> (samples, rate)."""
    return {(voice, i): speak(SENTENCES[i], voice) for voice in VOICES for i in (0, 1)}


def test_spectral_encoder_tells_two_espeak_voices_apart(clips):
    encoder = SpectralSpeakerEncoder()
    embeddings = {key: embed_samples(encoder, *clip) for key, clip in clips.items()}
    for key, embedding in embeddings.items():
        assert cosine(embedding, embedding) == pytest.approx(1.0, abs=1e-6)
        assert cosine(embedding, embed_samples(encoder, *clips[key])) == pytest.approx(1.0, abs=1e-6)  # deterministic
    pairs = list(itertools.combinations(embeddings, 2))
    same_voice = [cosine(embeddings[a], embeddings[b]) for a, b in pairs if a[0] == b[0]]
    other_voice = [cosine(embeddings[a], embeddings[b]) for a, b in pairs if a[0] != b[0]]
    # One voice saying two sentences stays closer than two voices saying anything (measured 0.98 vs <= 0.88).
    assert min(same_voice) > max(other_voice) + 0.05
    result = speaker_similarity(encoder, *clips[("en+f3", 0)], embeddings[("en-us", 0)])
    assert result.encoder_id == SPECTRAL_ENCODER_ID and result.similarity < min(same_voice)


def test_spectral_encoder_handles_silence_and_tiny_clips():
    encoder = SpectralSpeakerEncoder()
    assert np.all(np.isfinite(encoder.embed(np.zeros(100, np.float32))))
    assert cosine(np.zeros(3), np.ones(3)) == 0.0


def _encoder_state(seed: int) -> dict:
    import torch
    from TTS.encoder.models.resnet import ResNetSpeakerEncoder

    from core.listen.speaker_similarity import ENCODER_AUDIO_CONFIG

    torch.manual_seed(seed)
    model = ResNetSpeakerEncoder(input_dim=64, proj_dim=512, log_input=True, use_torch_spec=True,
                                 audio_config=ENCODER_AUDIO_CONFIG)
    return model.state_dict()


def _save(path, state: dict, prefix: str, **extra) -> None:
    import torch

    model = {prefix + k: v for k, v in state.items()}
    model["xtts.gpt.text_embedding.weight" if prefix == TRAINER_PREFIX else "gpt.text_embedding.weight"] = torch.ones(3)
    torch.save({"model": model, "step": 0, **extra}, path)


def test_weights_come_from_the_base_model_pth_before_any_checkpoint(tmp_path):
    base, run = tmp_path / "base", tmp_path / "run"
    base.mkdir()
    run.mkdir()
    base_state, run_state = _encoder_state(1), _encoder_state(2)
    _save(base / "model.pth", base_state, BASE_PREFIX)
    _save(run / layout.checkpoint_name(100), run_state, TRAINER_PREFIX)
    assert encoder_weight_files(base, run) == [base / "model.pth"]
    encoder = load_speaker_encoder(base, run)
    assert encoder.encoder_id == fingerprint(base_state) != fingerprint(run_state)
    assert not encoder.is_random and encoder.source == base / "model.pth"
    # Only the encoder's tensors are read, without their prefix.
    assert read_encoder_state(base / "model.pth").keys() == base_state.keys()


def test_without_a_base_model_pth_the_lowest_readable_step_of_the_run_is_used(tmp_path):
    run = tmp_path / "run"
    (run / layout.KEPT_DIR).mkdir(parents=True)
    state = _encoder_state(3)
    for name in (layout.checkpoint_name(300), layout.best_step_name(200), layout.BEST_MODEL_NAME):
        _save(run / name, state, TRAINER_PREFIX)
    (run / layout.checkpoint_name(100)).write_bytes(b"PK\x03\x04 cut short by a crash")
    assert [p.name for p in encoder_weight_files(tmp_path / "demo-base", run)] == [
        "checkpoint_100.pth", "best_model_200.pth", "checkpoint_300.pth", "best_model.pth"]
    encoder = load_speaker_encoder(tmp_path / "demo-base", run)
    assert encoder.source.name == "best_model_200.pth"  # the cut checkpoint_100 is passed over
    assert encoder.is_random and encoder.encoder_id == fingerprint(state)


def test_no_encoder_weights_is_a_typed_error_naming_where_it_looked(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _save(run / layout.checkpoint_name(100), {}, TRAINER_PREFIX)  # a model without the decoder
    with pytest.raises(EncoderUnavailable, match="model.pth or one saved checkpoint") as caught:
        load_speaker_encoder(tmp_path / "base", run)
    assert "checkpoint_100.pth: checkpoint_100.pth holds no speaker encoder weights" in str(caught.value)
    with pytest.raises(EncoderUnavailable):
        load_speaker_encoder(None, None)


def test_reference_embedding_averages_clips(tmp_path, clips):
    import soundfile

    paths = []
    for i in (0, 1):
        samples, rate = clips[("en-us", i)]
        paths.append(tmp_path / f"ref{i}.wav")
        soundfile.write(str(paths[-1]), samples, rate)
    encoder = SpectralSpeakerEncoder()
    one, two = embed_file(encoder, paths[0]), embed_file(encoder, paths[1])
    mean = reference_embedding(encoder, paths)
    assert np.linalg.norm(mean) == pytest.approx(1.0, abs=1e-6)
    assert cosine(mean, one + two) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        reference_embedding(encoder, [])


def test_xtts_encoder_of_a_real_demo_run(demo_run, clips):
    """The real path: a demo run's own encoder. Random, so it cannot tell voices apart (module docstring)."""
    files = encoder_weight_files(demo_run.demo.base_dir, demo_run.run_folder)
    assert files and files[0].name == layout.checkpoint_name(layout.periodic_checkpoints(demo_run.run_folder)[0][0])
    # GPTTrainer never trains the decoder: every file of the run holds the same encoder.
    assert len({fingerprint(read_encoder_state(path)) for path in files}) == 1
    encoder = load_speaker_encoder(demo_run.demo.base_dir, demo_run.run_folder)
    assert isinstance(encoder, XttsSpeakerEncoder) and encoder.is_random and encoder.source == files[0]
    reference = embed_samples(encoder, *clips[("en-us", 0)])
    assert reference.shape == (512,) and np.linalg.norm(reference) == pytest.approx(1.0, abs=1e-5)
    itself = speaker_similarity(encoder, *clips[("en-us", 0)], reference)
    other = speaker_similarity(encoder, *clips[("en+f3", 0)], reference)
    assert itself.encoder_id == other.encoder_id == encoder.encoder_id
    assert itself.similarity == pytest.approx(1.0, abs=1e-5)
    assert other.similarity < itself.similarity - 1e-4  # lower, if only just (measured 0.997)
