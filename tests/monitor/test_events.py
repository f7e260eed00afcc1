"""RunEventReader against real event files written by torch's SummaryWriter."""
from __future__ import annotations

import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from torch.utils.tensorboard import SummaryWriter

from core.monitor import event_decode, events, tfrecord
from core.monitor.events import RunEventReader

TAGS = ["TrainIterStats/loss", "TrainIterStats/grad_norm", "EvalStats/avg_loss"]


def write_steps(writer: SummaryWriter, steps, tags=TAGS) -> None:
    for step in steps:
        for i, tag in enumerate(tags):
            writer.add_scalar(tag, 1.0 / (step + 1) + i, step)
    writer.flush()


def event_file(run_dir: Path) -> Path:
    (path,) = run_dir.glob("events.out.tfevents.*")
    return path


def records(data: bytes) -> list[tuple[int, int]]:
    """(offset, total length) of each record in an event file's bytes."""
    out, pos = [], 0
    while pos < len(data):
        n = struct.unpack_from("<Q", data, pos)[0]
        out.append((pos, n + 16))
        pos += n + 16
    return out


def accumulator_scalars(run_dir: Path) -> dict[str, list[tuple[int, float, float]]]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value, e.wall_time) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def assert_matches_accumulator(reader: RunEventReader, run_dir: Path) -> None:
    expected = accumulator_scalars(run_dir)
    assert set(reader.tags()) >= set(expected)
    for tag, points in expected.items():
        s = reader.series(tag)
        assert s.steps.tolist() == [p[0] for p in points]
        assert s.values.tolist() == [p[1] for p in points]
        assert s.wall_times_s.tolist() == [p[2] for p in points]


def test_values_equal_event_accumulator(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(0, 300))  # step 0 has no step field: protobuf path
    w.add_text("model-config", "x" * 5000, 0)  # a long text tensor, not a scalar
    w.add_scalar("A/tag_long_enough_to_leave_the_fast_path_of_the_reader", 2.5, 7)
    w.close()
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 300 * len(TAGS) + 1
    assert_matches_accumulator(reader, tmp_path)
    assert reader.corrupt_records == 0
    assert "model-config/text_summary" not in reader.tags()


def test_tensor_scalars_are_read(tmp_path):
    w = SummaryWriter(str(tmp_path))
    for step in range(1, 20):
        w.add_scalar("new_style", step * 0.5, step, new_style=True)
        w.add_scalar("double", step * 0.25, step, new_style=True, double_precision=True)
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert reader.steps("new_style").tolist() == list(range(1, 20))
    assert reader.values("new_style").tolist() == [s * 0.5 for s in range(1, 20)]
    assert reader.values("double").tolist() == [s * 0.25 for s in range(1, 20)]


def test_appends_are_read_incrementally(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(1, 101))
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 100 * len(TAGS)
    consumed = reader.status().bytes_read
    assert reader.refresh() == 0
    write_steps(w, range(101, 111))
    assert reader.refresh() == 10 * len(TAGS)
    assert reader.status().bytes_read > consumed
    w.close()
    assert reader.steps(TAGS[0]).tolist() == list(range(1, 111))
    assert_matches_accumulator(reader, tmp_path)


@pytest.mark.parametrize("cut_into", ["header", "data", "footer"])
def test_half_written_record_waits_for_the_rest(tmp_path, cut_into):
    source = tmp_path / "source"
    w = SummaryWriter(str(source))
    write_steps(w, range(1, 51))
    w.close()
    data = event_file(source).read_bytes()
    last_offset, last_len = records(data)[-1]
    cut = last_offset + {"header": 5, "data": 20, "footer": last_len - 2}[cut_into]
    run = tmp_path / "run"
    run.mkdir()
    target = run / event_file(source).name
    target.write_bytes(data[:cut])
    reader = RunEventReader(run)
    assert reader.refresh() == 50 * len(TAGS) - 1
    assert reader.status().bytes_read == last_offset
    with target.open("ab") as f:
        f.write(data[cut:])
    assert reader.refresh() == 1
    assert reader.corrupt_records == 0
    assert_matches_accumulator(reader, run)


def test_corrupted_data_is_skipped_and_counted(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(1, 101))
    w.close()
    path = event_file(tmp_path)
    data = bytearray(path.read_bytes())
    offset, length = records(bytes(data))[150]
    data[offset + 14] ^= 0xFF  # inside the Event bytes
    path.write_bytes(bytes(data))
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 100 * len(TAGS) - 1
    assert reader.corrupt_records == 1


def test_corrupted_length_resyncs_at_the_next_record(tmp_path):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(1, 101))
    w.close()
    path = event_file(tmp_path)
    data = bytearray(path.read_bytes())
    offset, _ = records(bytes(data))[150]
    data[offset + 1] ^= 0x40  # the length: where the next record starts is now unknown
    path.write_bytes(bytes(data))
    reader = RunEventReader(tmp_path)
    assert reader.refresh() == 100 * len(TAGS) - 1
    assert reader.corrupt_records == 1


def test_resumed_run_drops_orphaned_points(tmp_path):
    first = SummaryWriter(str(tmp_path), filename_suffix=".a")
    write_steps(first, range(1, 21))
    first.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    # The resumed trainer restarts from its step-12 checkpoint and writes a second file.
    second = SummaryWriter(str(tmp_path), filename_suffix=".b")
    write_steps(second, range(13, 31))
    second.close()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    reader.refresh()
    for tag in TAGS:
        assert reader.steps(tag).tolist() == list(range(1, 31))
    # A fresh reader of both files at once ends the same way.
    again = RunEventReader(tmp_path)
    again.refresh()
    assert again.steps(TAGS[1]).tolist() == list(range(1, 31))
    assert again.values(TAGS[1]).tolist() == reader.values(TAGS[1]).tolist()


def test_equal_steps_are_kept_unless_a_restart_follows(tmp_path):
    w = SummaryWriter(str(tmp_path))
    for step, value in [(1, 1.0), (2, 2.0), (2, 3.0), (3, 4.0), (2, 5.0), (3, 6.0)]:
        w.add_scalar("t", value, step)
    w.close()
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert reader.steps("t").tolist() == [1, 2, 3]
    assert reader.values("t").tolist() == [1.0, 5.0, 6.0]


def test_vanished_folder_is_reported_not_raised(tmp_path):
    run = tmp_path / "run"
    w = SummaryWriter(str(run))
    write_steps(w, range(1, 11))
    w.close()
    reader = RunEventReader(run)
    reader.refresh()
    shutil.rmtree(run)
    assert reader.refresh() == 0
    assert reader.missing and reader.status().missing
    assert len(reader.steps(TAGS[0])) == 10
    assert RunEventReader(tmp_path / "never").refresh() == 0


def test_small_chunks_give_the_same_series(tmp_path, monkeypatch):
    w = SummaryWriter(str(tmp_path))
    write_steps(w, range(1, 400))
    w.add_text("config", "y" * 3000, 1)
    w.close()
    whole = RunEventReader(tmp_path)
    whole.refresh()
    monkeypatch.setattr(events, "_CHUNK_BYTES", 700)  # many chunk edges, and records above it
    chunked = RunEventReader(tmp_path)
    chunked.refresh()
    for tag in TAGS:
        assert chunked.series(tag).values.tolist() == whole.series(tag).values.tolist()
        assert chunked.series(tag).steps.tolist() == whole.series(tag).steps.tolist()


def test_shared_reader_under_concurrent_refreshes(tmp_path):
    w = SummaryWriter(str(tmp_path))
    reader = RunEventReader(tmp_path)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            reader.refresh()
            s = reader.series(TAGS[0])
            assert len(s.steps) == len(s.values)

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(1, 200, 20):
        write_steps(w, range(start, start + 20))
    stop.set()
    for t in threads:
        t.join()
    w.close()
    reader.refresh()
    assert reader.steps(TAGS[0]).tolist() == list(range(1, 201))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_crc_matches_tensorboard(data):
    padded = np.zeros(len(data) + 128, np.uint8)
    padded[64:64 + len(data)] = np.frombuffer(data, np.uint8)
    expected = masked_crc32c(data)
    if len(data) <= 64:
        got = tfrecord.masked_crc_short(padded, np.array([64 + len(data)]), np.array([len(data)]))[0]
        assert int(got) == expected
    if len(data) >= 4:
        assert tfrecord.masked_crc_long(padded[64:64 + len(data)]) == expected


def _record(event: Event) -> bytes:
    data = event.SerializeToString()
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "loss", "b/é", "x" * 40, "y" * 60]),
                          st.integers(0, 2**40), st.floats(width=32, allow_nan=False)), max_size=60))
def test_fast_path_equals_protobuf(tmp_path_factory, points):
    # Steps never go backwards here: restarts are covered above, and TensorBoard's purge for
    # files without a version record differs in details (it compares with a global step that
    # starts at -1, so it drops repeated negative steps; the trainer never writes those).
    points = sorted(points, key=lambda p: p[1])
    run = tmp_path_factory.mktemp("run")
    with open(run / "events.out.tfevents.1.host", "wb") as f:
        for i, (tag, step, value) in enumerate(points):
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            f.write(_record(Event(wall_time=1000.0 + i, step=step, summary=summary)))
    reader = RunEventReader(run)
    reader.refresh()
    assert_matches_accumulator(reader, run)


def test_hash_bucket_collisions_are_resolved_not_dropped():
    # Same top 12 bits, different hashes: the second pass tells them apart.
    h = np.array([0xABC0000000000001, 0xABC0000000000002, 0xABC0000000000001, 7], np.uint64)
    group, reps = event_decode._group_by_hash(h, np.array([True, True, True, False]))
    assert group[0] == group[2] != group[1] and group[3] == -1
    assert sorted(reps) == [0, 1]


def test_files_are_read_in_the_order_they_were_created(tmp_path):
    # One process's 9th and 10th writers in the same second: ".10" sorts before ".9" as text.
    for name, steps in (("9.a", range(1, 21)), ("10.b", range(13, 31))):
        with open(tmp_path / f"events.out.tfevents.1700000000.host.4242.{name}", "wb") as f:
            for step in steps:
                summary = Summary(value=[Summary.Value(tag="t", simple_value=float(step))])
                f.write(_record(Event(wall_time=1.7e9 + step, step=step, summary=summary)))
    reader = RunEventReader(tmp_path)
    reader.refresh()
    assert reader.steps("t").tolist() == list(range(1, 31))
