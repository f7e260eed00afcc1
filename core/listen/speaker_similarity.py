"""Speaker similarity: the cosine between speaker embeddings of a sample and its reference.

Numbers must compare across checkpoints, so every embedding comes from one fixed encoder: XTTS's
own speaker encoder (the H/ASP ResNet inside its HiFi-GAN decoder, 16 kHz input, 512-d output, as
`Xtts.get_speaker_embedding` calls it), with its weights taken from
1. the base model's model.pth (`hifigan_decoder.speaker_encoder.*`), when the base has one;
2. else (the demo base has none: its run starts from random weights) the run's checkpoint with the
   lowest step (`xtts.hifigan_decoder.speaker_encoder.*`), then the next if that one is unreadable.
GPTTrainer optimises only the GPT and never runs the decoder while training, so every checkpoint
of a run holds the same encoder weights (checked on a real demo run in the tests): whichever file
they are read from, a run's scores stay comparable. Each encoder carries a fingerprint of its
weights, and every result carries it, so scores from two different encoders are never mixed
unnoticed (a cache should key on it).

The demo's encoder is randomly initialised (a new one per demo run): on a real demo run's checkpoint,
every pair of espeak-ng clips came within 0.008 of 1, and two voices saying one sentence each came
out closer (0.998) than one voice saying two (0.9979). It cannot tell voices apart;
`XttsSpeakerEncoder.is_random` says so, for the page to show. `SpectralSpeakerEncoder`
is the fixed, weight-free fallback that can (mean and spread of voiced frames' MFCCs: 0.98 for one
espeak voice across sentences, 0.76-0.88 between voices). Nothing picks it silently: the tests
that check separation pass it, and so may a caller that has no XTTS encoder weights (its id,
"spectral-mfcc-v1", keeps its numbers apart from XTTS ones).

torch and TTS are imported inside functions: the dashboard's UI process never loads them.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.checkpoints import layout
from core.dataset.audio import load_mono, resample

SAMPLE_RATE_HZ = 16000  # what the encoder's mel front end was trained on
MAX_REFERENCE_S = 30  # Xtts.get_conditioning_latents cuts each reference here (max_ref_length)
BASE_PREFIX = "hifigan_decoder.speaker_encoder."  # in a base model.pth (and ready/ bundles)
TRAINER_PREFIX = "xtts.hifigan_decoder.speaker_encoder."  # in the trainer's checkpoints
BASE_MODEL_FILE = "model.pth"
# HifiDecoder's defaults (TTS.tts.layers.xtts.hifigan_decoder); Xtts never overrides them.
ENCODER_AUDIO_CONFIG = {"fft_size": 512, "win_length": 400, "hop_length": 160, "sample_rate": SAMPLE_RATE_HZ,
                        "preemphasis": 0.97, "num_mels": 64}
SPECTRAL_ENCODER_ID = "spectral-mfcc-v1"


class EncoderUnavailable(RuntimeError):
    """No speaker encoder weights could be read; the message says where they were looked for."""


@dataclass(frozen=True)
class SpeakerSimilarity:
    similarity: float  # cosine of the two embeddings, -1..1 (1: the same voice as far as the encoder tells)
    encoder_id: str  # the encoder's fingerprint: only numbers with the same id compare


class SpeakerEncoder(Protocol):
    encoder_id: str

    def embed(self, mono_16k: np.ndarray) -> np.ndarray:
        """An L2-normalised embedding of 16 kHz mono samples."""


class XttsSpeakerEncoder:
    """XTTS's speaker encoder with fixed weights, in eval mode; `embed` is deterministic."""

    def __init__(self, state_dict: dict, *, source: Path, is_random: bool, device: str = "cpu"):
        import torch
        from TTS.encoder.models.resnet import ResNetSpeakerEncoder

        # The same construction as HifiDecoder.__init__, so the state dict fits key for key.
        model = ResNetSpeakerEncoder(input_dim=64, proj_dim=512, log_input=True, use_torch_spec=True,
                                     audio_config=ENCODER_AUDIO_CONFIG)
        model.load_state_dict(state_dict, strict=True)
        self._model = model.to(device).eval()
        self._torch = torch
        self.device = device
        self.source = source
        self.is_random = is_random  # the demo's: cannot tell voices apart (module docstring)
        self.encoder_id = fingerprint(state_dict)

    def embed(self, mono_16k: np.ndarray) -> np.ndarray:
        torch = self._torch
        audio = torch.from_numpy(np.ascontiguousarray(mono_16k, dtype=np.float32))[None].to(self.device)
        with torch.inference_mode():
            embedding = self._model(audio, l2_norm=True)[0]
        return embedding.float().cpu().numpy()


class SpectralSpeakerEncoder:
    """The weight-free fallback: mean and standard deviation of MFCCs 1-19 over voiced frames.

    MFCCs describe the spectral envelope (the vocal tract, the recording chain), not the pitch, so
    they tell voices apart only coarsely; they need no weights and give the same numbers everywhere.
    """

    encoder_id = SPECTRAL_ENCODER_ID
    is_random = False
    WINDOW, HOP, FFT, MELS, COEFFICIENTS = 400, 160, 512, 40, 20  # 25 ms windows every 10 ms
    VOICED_BELOW_PEAK_DB = 30.0

    def __init__(self):
        self._filters = _mel_filters(self.MELS, self.FFT, SAMPLE_RATE_HZ, 60.0, 7600.0)

    def embed(self, mono_16k: np.ndarray) -> np.ndarray:
        from scipy.fft import dct

        x = np.asarray(mono_16k, dtype=np.float64)
        if x.size < self.WINDOW:
            x = np.pad(x, (0, self.WINDOW - x.size))
        x = np.append(x[0], x[1:] - 0.97 * x[:-1])  # pre-emphasis, as the XTTS encoder does
        frames = np.lib.stride_tricks.sliding_window_view(x, self.WINDOW)[:: self.HOP] * np.hamming(self.WINDOW)
        power = np.abs(np.fft.rfft(frames, self.FFT)) ** 2
        energy_db = 10.0 * np.log10(power.sum(axis=1) + 1e-20)
        voiced = energy_db > energy_db.max() - self.VOICED_BELOW_PEAK_DB
        log_mel = np.log(power[voiced] @ self._filters.T + 1e-10)
        cepstra = dct(log_mel, type=2, norm="ortho", axis=1)[:, 1:self.COEFFICIENTS]  # c0 is loudness
        vector = np.concatenate([cepstra.mean(axis=0), cepstra.std(axis=0)])
        return _unit(vector).astype(np.float32)


def _mel_filters(count: int, fft: int, rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    def mel(hz):
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(low_hz), mel(high_hz), count + 2) / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(fft, 1.0 / rate)
    filters = np.zeros((count, bins.size))
    for i in range(count):
        left, centre, right = edges[i:i + 3]
        filters[i] = np.clip(np.minimum((bins - left) / (centre - left), (right - bins) / (right - centre)), 0, None)
    return filters


def fingerprint(state_dict: dict) -> str:
    """A short hash of the weights (names, shapes and bytes): equal ids mean the same encoder."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return "xtts-" + digest.hexdigest()[:12]


def encoder_weight_files(base_model_dir: str | os.PathLike | None, run_folder: str | os.PathLike | None) -> list[Path]:
    """Where the encoder's weights are looked for, in order: the base model.pth, else the run's checkpoints by step."""
    if base_model_dir is not None:
        base = Path(base_model_dir) / BASE_MODEL_FILE
        if base.is_file():
            return [base]  # never a run's checkpoint instead: a base's runs all share its encoder
    if run_folder is None:
        return []
    folder = Path(run_folder)
    # best_model.pth is a copy of a best_model_<step>.pth; kept/ holds retention links of both kinds.
    stepped = [*layout.periodic_checkpoints(folder), *layout.best_step_files(folder),
               *layout.periodic_checkpoints(layout.kept_dir(folder)), *layout.best_step_files(layout.kept_dir(folder))]
    ordered = [path for _, path in sorted(stepped, key=lambda pair: (pair[0], pair[1].name))]
    return ordered + [p for p in layout.best_model_files(folder) if layout.step_of(p) is None]


def read_encoder_state(path: str | os.PathLike) -> dict:
    """Only the speaker encoder's tensors of a model file (names without their prefix); ValueError if it has none."""
    import torch

    path = Path(path)
    try:
        checkpoint = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        # coqui's original XTTS v2 model.pth pickles its XttsConfig: allow exactly those classes.
        from TTS.tts.models.xtts import _legacy_safe_globals

        with _legacy_safe_globals():
            checkpoint = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    model = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(model, dict):
        raise ValueError(f"{path.name} holds no model state dict")
    for prefix in (TRAINER_PREFIX, BASE_PREFIX):
        picked = {k[len(prefix):]: v.clone() for k, v in model.items() if k.startswith(prefix)}
        if picked:
            return picked  # cloned: nothing keeps the (maybe multi-GB) file mapped
    raise ValueError(f"{path.name} holds no speaker encoder weights ({BASE_PREFIX}*)")


def load_speaker_encoder(base_model_dir: str | os.PathLike | None, run_folder: str | os.PathLike | None = None,
                         *, device: str = "cpu") -> XttsSpeakerEncoder:
    """The run's fixed encoder (see the module docstring); EncoderUnavailable when no file holds it."""
    candidates = encoder_weight_files(base_model_dir, run_folder)
    problems = []
    for path in candidates:
        try:
            state = read_encoder_state(path)
        except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
            problems.append(f"{path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue  # a checkpoint being written or cut short: the next one holds the same weights
        return XttsSpeakerEncoder(state, source=path, is_random=path.name != BASE_MODEL_FILE, device=device)
    where = f"{Path(base_model_dir) / BASE_MODEL_FILE}" if base_model_dir is not None else "no base model"
    tried = f" (tried {'; '.join(problems)})" if problems else ""
    raise EncoderUnavailable(
        f"No speaker encoder weights: looked in {where} and the run's checkpoints{tried}. "
        "Speaker similarity needs the base model's model.pth or one saved checkpoint of the run.")


def embed_file(encoder: SpeakerEncoder, path: str | os.PathLike, max_s: float | None = MAX_REFERENCE_S) -> np.ndarray:
    """The embedding of an audio file (resampled to 16 kHz, cut at `max_s` like XTTS's references)."""
    mono, _ = load_mono(path, SAMPLE_RATE_HZ)
    return embed_samples(encoder, mono, SAMPLE_RATE_HZ, max_s)


def embed_samples(encoder: SpeakerEncoder, mono: np.ndarray, rate_hz: int,
                  max_s: float | None = MAX_REFERENCE_S) -> np.ndarray:
    mono_16k = resample(np.asarray(mono, dtype=np.float32), rate_hz, SAMPLE_RATE_HZ)
    if max_s is not None:
        mono_16k = mono_16k[: int(max_s * SAMPLE_RATE_HZ)]
    return encoder.embed(mono_16k)


def reference_embedding(encoder: SpeakerEncoder, paths: Sequence[str | os.PathLike]) -> np.ndarray:
    """One embedding for several reference clips: their mean, normalised (as XTTS averages them)."""
    if not paths:
        raise ValueError("no reference clips")
    return _unit(np.mean([embed_file(encoder, p) for p in paths], axis=0))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; 0.0 when either vector is all zeros."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.clip(a @ b / norms, -1.0, 1.0)) if norms > 0 else 0.0


def speaker_similarity(encoder: SpeakerEncoder, sample: np.ndarray, rate_hz: int,
                       reference: np.ndarray) -> SpeakerSimilarity:
    """How close a sample's voice is to the reference embedding, by the given fixed encoder."""
    return SpeakerSimilarity(cosine(embed_samples(encoder, sample, rate_hz), reference), encoder.encoder_id)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
