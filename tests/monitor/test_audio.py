"""Audio summaries in RunEventReader, against TensorBoard's own reader on files torch's SummaryWriter wrote."""
from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from torch.utils.tensorboard import SummaryWriter

from core.monitor import events
from core.monitor.events import RunEventReader
from core.monitor.listening import measured_test_sentences_s, sentence_clips, sentence_steps, sentence_tags
from tests.monitor.test_events import event_file, records

RATE = 24000
TAGS = ("TestAudios/0-audio", "TestAudios/1-audio")


def tone(step: int, seconds: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.4 * np.sin(2 * np.pi * (200 + step) * t)).astype("float32")


def write_epochs(writer: SummaryWriter, steps, tags=TAGS) -> None:
    """As coqui's trainer logs an epoch: scalars, the eval loss, then one clip per test sentence."""
    for step in steps:
        writer.add_scalar("TrainIterStats/loss", 1.0 / step, step)
        writer.add_scalar("EvalStats/avg_loss", 2.0 / step, step)
        for i, tag in enumerate(tags):
            writer.add_audio(tag, tone(step + i), step, sample_rate=RATE)
    writer.flush()


def accumulator_audio(run_dir) -> dict[str, list[tuple]]:
    acc = EventAccumulator(str(run_dir), size_guidance={"audio": 0})
    acc.Reload()
    return {tag: [(e.step, e.wall_time, e.sample_rate, e.encoded_audio_string, e.content_type, e.length_frames)
                  for e in acc.Audio(tag)] for tag in acc.Tags()["audio"]}


def as_tuples(samples) -> list[tuple]:
    return [(s.step, s.wall_time_s, s.sample_rate_hz, s.wav_bytes, s.content_type, s.length_frames) for s in samples]


def assert_matches_accumulator(reader: RunEventReader, run_dir) -> None:
    expected = accumulator_audio(run_dir)
    assert reader.audio_tags() == sorted(expected)
    for tag, clips in expected.items():
        # TensorBoard lists oldest first; ours are newest first.
        assert as_tuples(reader.audio_samples(tag)) == clips[::-1]


def test_audio_equals_event_accumulator_newest_first(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_epochs(w, range(10, 110, 10))
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert_matches_accumulator(reader, tmp_path)
    assert reader.audio_steps(TAGS[0]) == list(range(100, 0, -10))
    newest = reader.audio_samples(limit=2)
    assert [(s.tag, s.step) for s in newest] == [(TAGS[1], 100), (TAGS[0], 100)]
    clip = reader.audio_sample(TAGS[0], 50)
    with wave.open(io.BytesIO(clip.wav_bytes)) as w:  # a playable WAV, as the writer encoded it
        assert (w.getframerate(), w.getnframes()) == (RATE, len(tone(50)))
    assert clip.duration_s == pytest.approx(0.2)
    assert reader.audio_sample(TAGS[0], 55) is None
    assert "TestAudios/0-audio" not in reader.tags()  # audio is not a scalar series
    assert reader.series("EvalStats/avg_loss").steps.tolist() == list(range(10, 110, 10))


def test_only_the_newest_bytes_are_held_older_ones_are_read_again(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_epochs(w, range(1, 21))
    w.close()
    reader = RunEventReader(tmp_path, max_audio_held_per_tag=3)
    reader.refresh()
    held = reader._audio._held  # noqa: SLF001 - the bound is the point of this test
    assert all(len(clips) == 3 for clips in held.values())
    assert_matches_accumulator(reader, tmp_path)  # all 20 per tag, 17 of them read again
    none_held = RunEventReader(tmp_path, max_audio_held_per_tag=0)
    none_held.refresh()
    assert not any(none_held._audio._held.values())  # noqa: SLF001
    assert_matches_accumulator(none_held, tmp_path)


def test_appends_and_a_half_written_clip_are_read_incrementally(tmp_path):
    source = tmp_path / "source"
    w = SummaryWriter(str(source))
    write_epochs(w, range(1, 6))
    w.close()
    data = event_file(source).read_bytes()
    last_offset, last_len = records(data)[-1]  # the last clip
    run = tmp_path / "run"
    run.mkdir()
    target = run / event_file(source).name
    cut = last_offset + last_len // 2
    target.write_bytes(data[:cut])
    reader = RunEventReader(run, max_audio_held_per_tag=1)
    reader.refresh()
    assert reader.audio_steps(TAGS[1]) == [4, 3, 2, 1] and reader.audio_steps(TAGS[0])[0] == 5
    with target.open("ab") as f:
        f.write(data[cut:])
    reader.refresh()
    assert reader.audio_steps(TAGS[1]) == [5, 4, 3, 2, 1]
    assert reader.corrupt_records == 0
    assert_matches_accumulator(reader, run)


def test_clips_larger_than_a_chunk(tmp_path, monkeypatch):
    w = SummaryWriter(str(tmp_path))
    write_epochs(w, range(1, 8))
    w.close()
    monkeypatch.setattr(events, "_CHUNK_BYTES", 700)  # each clip (~10 KB) is many chunks long
    reader = RunEventReader(tmp_path, max_audio_held_per_tag=2)
    reader.refresh()
    assert_matches_accumulator(reader, tmp_path)


def test_a_resumed_run_drops_the_orphaned_clips(tmp_path):
    w = SummaryWriter(str(tmp_path), filename_suffix=".a")
    write_epochs(w, (10, 20, 30))
    w.close()
    w = SummaryWriter(str(tmp_path), filename_suffix=".b")  # resumed from the checkpoint of step 20
    write_epochs(w, (20, 30, 40))
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert reader.audio_steps(TAGS[0]) == [40, 30, 20, 10]
    newest_30 = reader.audio_sample(TAGS[0], 30)
    assert newest_30.wall_time_s > reader.audio_sample(TAGS[0], 10).wall_time_s
    files = sorted(tmp_path.glob("events.out.tfevents.*"))
    assert reader._audio.refs(TAGS[0])[1].file_name == files[-1].name  # noqa: SLF001 - from the resumed file


def test_a_clip_whose_file_is_gone_is_left_out(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_epochs(w, (1, 2, 3))
    w.close()
    reader = RunEventReader(tmp_path, max_audio_held_per_tag=1)
    reader.refresh()
    event_file(tmp_path).unlink()
    assert [s.step for s in reader.audio_samples(TAGS[0])] == [3]  # held; 1 and 2 cannot be read again
    assert reader.audio_sample(TAGS[0], 1) is None


def write_record(path, event: Event) -> None:
    data = event.SerializeToString()
    header = struct.pack("<Q", len(data))
    with open(path, "ab") as f:
        f.write(header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data)))


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def test_tensor_plugin_audio_is_read_too(tmp_path):
    """TensorFlow 2's tf.summary.audio: a [k, 2] string tensor (clip, label) under the audio plugin."""
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    write_record(path, Event(wall_time=1.0, file_version="brain.Event:2"))
    clips = {step: wav_bytes(tone(step), 16000) for step in (1, 2)}
    for step, clip in clips.items():
        value = Summary.Value(tag="speech", tensor=TensorProto(
            dtype=7, tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1), TensorShapeProto.Dim(size=2)]),
            string_val=[clip, b"label"]))
        if step == 1:  # only a tag's first value names its plugin
            value.metadata.CopyFrom(SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="audio")))
        write_record(path, Event(wall_time=10.0 + step, step=step, summary=Summary(value=[value])))
    reader = RunEventReader(tmp_path)
    reader.refresh()
    got = reader.audio_samples("speech")
    assert [(s.step, s.sample_rate_hz, s.wav_bytes, s.length_frames) for s in got] == [
        (2, 16000, clips[2], len(tone(2))), (1, 16000, clips[1], len(tone(1)))]
    assert "speech" not in reader.tags()


def test_sentences_by_step_and_their_measured_cost(tmp_path):
    w = SummaryWriter(str(tmp_path))
    tags = ("TestAudios/10-audio", "TestAudios/2-audio", "TestAudios/0-audio")
    for step, eval_wall in ((60, 1000.0), (120, 2000.0)):
        w.add_scalar("EvalStats/avg_loss", 1.0, step, walltime=eval_wall)
        for i, tag in enumerate(tags):  # synthesis took 12.5 s, then the clips were logged together
            w.add_audio(tag, tone(step), step, sample_rate=RATE, walltime=eval_wall + 12.5 + 0.01 * i)
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert sentence_tags(reader) == ["TestAudios/0-audio", "TestAudios/2-audio", "TestAudios/10-audio"]
    assert sentence_steps(reader) == [120, 60]
    newest = sentence_clips(reader)
    assert newest.step == 120 and [c.tag for c in newest.clips] == sentence_tags(reader)
    assert sentence_clips(reader, 60).wall_time_s == pytest.approx(1012.5)
    assert measured_test_sentences_s(reader) == pytest.approx(12.5)
    assert measured_test_sentences_s(reader, 60) == pytest.approx(12.5)
    assert sentence_clips(RunEventReader(tmp_path / "none")) is None
