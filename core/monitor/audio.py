"""Audio summaries of a run's event files: the test sentences the trainer speaks after each epoch.

coqui's trainer logs them through torch's SummaryWriter as classic audio values
(`Summary.Value.audio`: WAV bytes, sample rate, length); TensorFlow 2 writers log a string tensor
`[k, 2]` of (encoded clip, label) under the "audio" plugin instead, read here too (its first
clip, with the rate from the WAV header). A clip is a few hundred KB and a long run logs
thousands, so memory stays bounded as TensorBoard's reservoirs keep it: every sample's place in
its file is remembered (a few dozen bytes), its bytes only for the newest `max_held_per_tag` of a
tag; older ones are read again from the file when asked for. As for scalars (core.monitor.series),
a step that goes backwards within a tag (a resumed run) drops the samples at and after it.
"""
from __future__ import annotations

import io
import os
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event

TEST_AUDIO_PREFIX = "TestAudios/"  # the trainer's tags for test sentences: TestAudios/0-audio, ...
AUDIO_PLUGIN = "audio"
AUDIO_HELD_PER_TAG = 8  # bytes kept in memory per tag; the rest are re-read on demand
AUDIO_REFS_PER_TAG = 100_000  # places remembered per tag (about 10 MB at most); the oldest go first
_DT_STRING = 7


@dataclass(frozen=True)
class AudioSample:
    """One logged clip, ready to play: `wav_bytes` is the encoded file (WAV for coqui's trainer)."""

    tag: str
    step: int
    wall_time_s: float
    sample_rate_hz: int
    wav_bytes: bytes
    content_type: str = "audio/wav"
    length_frames: int = 0  # samples per channel, as the writer recorded it (0: not recorded)

    @property
    def duration_s(self) -> float:
        return self.length_frames / self.sample_rate_hz if self.sample_rate_hz else 0.0


@dataclass(frozen=True)
class AudioRef:
    """Where a clip lies: the record's data in an event file, and the value inside that Event."""

    tag: str
    step: int
    wall_time_s: float
    sample_rate_hz: int
    content_type: str
    length_frames: int
    file_name: str
    inode: int
    data_offset: int  # the record's Event bytes start here in the file ...
    data_bytes: int  # ... and run this long
    value_index: int  # which Summary.Value of the Event
    arrival: int  # order of reading, to break ties between equal steps


def audio_of_value(value) -> tuple[bytes, int, str, int] | None:
    """(encoded bytes, sample rate, content type, length in frames) of a classic audio value, or None.

    Tensor values are audio when their tag's first metadata named the audio plugin (only the first
    value of a tag carries it): the caller knows that and uses `audio_of_tensor`."""
    if value.WhichOneof("value") == "audio":
        audio = value.audio
        return audio.encoded_audio_string, int(audio.sample_rate), audio.content_type, int(audio.length_frames)
    return None


def audio_of_tensor(tensor) -> tuple[bytes, int, str, int] | None:
    """The first clip of an audio-plugin string tensor ([k, 2]: clip, label), its rate and length from the WAV."""
    if tensor.dtype != _DT_STRING or not tensor.string_val:
        return None
    data = tensor.string_val[0]
    try:
        with wave.open(io.BytesIO(data)) as clip:
            return data, clip.getframerate(), "audio/wav", clip.getnframes()
    except (wave.Error, EOFError):
        return None  # not a WAV: the plugin's other encodings carry no rate we could show


class AudioStore:
    """Every tag's clips: all places, the newest bytes. Not thread-safe: the reader holds its lock."""

    def __init__(self, run_dir: Path, max_held_per_tag: int = AUDIO_HELD_PER_TAG,
                 max_refs_per_tag: int = AUDIO_REFS_PER_TAG) -> None:
        self.run_dir = run_dir
        self.max_held_per_tag = max_held_per_tag
        self.max_refs_per_tag = max_refs_per_tag
        self._refs: dict[str, list[AudioRef]] = {}
        self._held: dict[str, OrderedDict[int, bytes]] = {}  # tag -> arrival -> bytes, oldest first
        self._arrivals = 0

    def add(self, tag: str, step: int, wall_time_s: float, clip: tuple[bytes, int, str, int], *,
            file_name: str, inode: int, data_offset: int, data_bytes: int, value_index: int) -> None:
        """Record one clip read from a file, in the order the records were written."""
        data, rate, content_type, frames = clip
        refs = self._refs.setdefault(tag, [])
        held = self._held.setdefault(tag, OrderedDict())
        if refs and step <= refs[-1].step and any(r.step >= step for r in refs):
            # A step at or before one already seen: the run resumed from an earlier checkpoint.
            kept = [r for r in refs if r.step < step]
            for ref in refs[len(kept):]:
                held.pop(ref.arrival, None)
            refs[:] = kept
        ref = AudioRef(tag, int(step), float(wall_time_s), rate, content_type, frames, file_name, inode,
                       data_offset, data_bytes, value_index, self._arrivals)
        self._arrivals += 1
        refs.append(ref)
        if len(refs) > self.max_refs_per_tag:
            held.pop(refs.pop(0).arrival, None)
        if self.max_held_per_tag:
            held[ref.arrival] = bytes(data)
            while len(held) > self.max_held_per_tag:
                held.popitem(last=False)

    def tags(self) -> list[str]:
        return sorted(tag for tag, refs in self._refs.items() if refs)

    def refs(self, tag: str | None = None) -> list[AudioRef]:
        """Places of the clips of one tag (or all), newest first: highest step, then latest read."""
        chosen = self._refs.get(tag, []) if tag is not None else [r for refs in self._refs.values() for r in refs]
        return sorted(chosen, key=lambda r: (r.step, r.arrival), reverse=True)

    def sample(self, ref: AudioRef) -> AudioSample | None:
        """The clip at `ref` with its bytes, from memory or read again (None: its file has gone or changed)."""
        data = self._held.get(ref.tag, {}).get(ref.arrival)
        if data is None:
            data = self._read_again(ref)
        if data is None:
            return None
        return AudioSample(ref.tag, ref.step, ref.wall_time_s, ref.sample_rate_hz, data, ref.content_type,
                           ref.length_frames)

    def _read_again(self, ref: AudioRef) -> bytes | None:
        try:
            with open(self.run_dir / ref.file_name, "rb") as f:
                if os.fstat(f.fileno()).st_ino != ref.inode:
                    return None
                f.seek(ref.data_offset)
                raw = f.read(ref.data_bytes)
            event = Event.FromString(raw)
            value = event.summary.value[ref.value_index]
        except Exception:  # noqa: BLE001 - a file gone, cut or overwritten reads as gone
            return None
        if value.tag != ref.tag or event.step != ref.step:
            return None
        clip = audio_of_value(value) or audio_of_tensor(value.tensor)
        return clip[0] if clip else None
