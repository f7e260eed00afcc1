"""Scalar points out of the Event records of one chunk: a numpy fast path and a protobuf fallback.

torch's SummaryWriter writes every scalar with one fixed layout,
Event{wall_time, step, summary{value{tag, simple_value}}}, so the fast path decodes all records
of that layout at once with array operations on fixed byte positions. Anything else (step 0,
which has no step field; long tags; tensor scalars; text, audio and metadata records) goes
through protobuf one record at a time, which also hands out the audio clips it meets
(core.monitor.audio). Both paths' points are merged back into record order, because the restart
purge of the series store depends on that order.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event

from core.monitor.audio import AUDIO_PLUGIN, audio_of_tensor, audio_of_value
from core.monitor.tfrecord import BLOCK_BYTES, BYTE_MASKS, u64_words

_SCALAR_PLUGIN = "scalars"
_TENSOR_DTYPES = {1: np.float32, 2: np.float64, 19: np.float16}  # DT_FLOAT, DT_DOUBLE, DT_HALF
_TAG_HASH = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5], np.uint64)  # odd, one per word


@dataclass(frozen=True)
class ChunkPoints:
    """Scalar points decoded from one chunk, in record order."""

    record: np.ndarray  # index of the record in the chunk, to merge fast and slow paths
    tag_id: np.ndarray  # the store's slot of each point's tag
    steps: np.ndarray
    wall_times_s: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class ChunkAudio:
    """One audio clip of a chunk: its record, the value inside the Event, and the clip itself."""

    record: int
    value_index: int
    tag: str
    step: int
    wall_time_s: float
    clip: tuple[bytes, int, str, int]  # encoded bytes, sample rate, content type, frames


def decode_chunk(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                 tag_slot: Callable[[str], int], plugins: dict[str, str],
                 audio: list[ChunkAudio] | None = None) -> ChunkPoints:
    """Scalar points of the records padded[start:start + length], in record order.

    `tag_slot` numbers tags (the series store's slots); `plugins` remembers each tag's plugin
    from its first metadata, across chunks, so later tensor values of a non-scalar tag are skipped.
    Audio clips found on the way are appended to `audio`, in record order."""
    fast, names, slow = _decode_fast(padded, starts, lengths)
    slots = np.array([tag_slot(n) for n in names], np.intp)
    fast = ChunkPoints(fast.record, slots[fast.tag_id] if len(names) else fast.tag_id,
                       fast.steps, fast.wall_times_s, fast.values)
    return _merge(fast, _decode_slow(padded, starts, lengths, slow, tag_slot, plugins, audio))


def _decode_fast(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """Decode records laid out as Event{wall_time, step, summary{value{tag, simple_value}}}.

    Returns (points with chunk-local tag ids, tag names, indices of the records left for protobuf)."""
    rec = np.flatnonzero((lengths >= 22) & (lengths <= BLOCK_BYTES))
    d, n = starts[rec], lengths[rec]
    u64 = np.uint64
    if not len(rec):
        empty = np.zeros(0, np.intp)
        return ChunkPoints(empty, empty, empty.astype(np.int64), np.zeros(0), np.zeros(0)), [], np.arange(len(starts))
    # Bytes 0-23 as three little-endian words: 0x09, wall_time, 0x10, the step varint (k bytes)
    # and the Summary/Value/tag headers; the float32 value is in the record's last 4 bytes.
    all_words = u64_words(padded)
    q0, q1, q2 = (all_words[d + 8 * j] for j in range(3))
    wall = ((q0 >> u64(8)) | (q1 << u64(56))).view("<f8")
    # Step varint (up to 5 bytes, steps below 2**35): the lowest byte without the continuation
    # bit ends it; the bytes up to it hold 7 bits each.
    v = (q1 >> u64(16)) | (q2 << u64(48))
    stop = ~v & u64(0x8080808080)
    stop &= ~stop + u64(1)  # lowest set bit
    v &= (stop << u64(1)) - u64(1)
    steps = np.zeros(len(d), np.uint64)
    for i in range(5):
        steps |= (v >> u64(i)) & u64(0x7F << (7 * i))
    k = np.bitwise_count(stop - u64(1)).astype(np.int64) // 8 + 1  # varint bytes, 1..5
    shift = (8 * k + 16).astype(np.uint64)
    after_step = (q1 >> shift) | (q2 << (u64(64) - shift))  # the 8 bytes from byte 10 + k
    o = d + 10 + k  # Event.summary field
    size = n - 12 - k  # lengths of Summary, Summary.Value and the tag follow from it
    tag_len = size - 9
    expected = (0x2A | (size << 8) | (0x0A << 16) | ((size - 2) << 24) | (0x0A << 32)
                | (tag_len << 40)).astype(np.uint64)
    tail = all_words[d + n - 8]  # 0x15, then the float32 value
    ok = ((stop != 0) & ((q0 & u64(0xFF)) == 0x09) & (((q1 >> u64(8)) & u64(0xFF)) == 0x10)
          & (size < 128) & (tag_len >= 0) & ((after_step & u64(0xFFFFFFFFFFFF)) == expected)
          & (((tail >> u64(24)) & u64(0xFF)) == 0x15))
    # Tags are told apart by a multiplicative hash of bytes 16 .. n-5 (the tag, after a few
    # header bytes fixed by k and the tag's length) plus n and k: a 64-bit sum of words times
    # odd constants, so records differing in one word never collide (others with odds of
    # 2**-64).
    h = n.astype(np.uint64) * _TAG_HASH[0] + k.astype(np.uint64) * _TAG_HASH[1]
    for j in range(2, -(-(int(n.max()) - 5) // 8)):
        word = q2 if j == 2 else all_words[d + 8 * j]
        if 8 * j + 8 > int(n.min()) - 5:  # bytes from the 0x15 on are masked out
            word = word & BYTE_MASKS.take(np.clip(n - 5 - 8 * j, 0, 8))
        h += word * _TAG_HASH[j]
    group, reps = _group_by_hash(h, ok)
    ok &= group >= 0
    sel = slice(None) if ok.all() else np.flatnonzero(ok)  # all: the usual case, no copies
    slow = np.ones(len(starts), bool)
    slow[rec[sel]] = False
    names = [bytes(padded[o[r] + 6:o[r] + 6 + tag_len[r]]).decode("utf-8", "replace") for r in reps]
    values = (tail[sel] >> u64(32)).astype(np.uint32).view("<f4").astype(np.float64)
    points = ChunkPoints(rec[sel], group[sel], steps[sel].astype(np.int64), wall[sel], values)
    return points, names, np.flatnonzero(slow)


def _group_by_hash(h: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Group id of each row with ok set, by equal h (-1: unresolved), and each group's first row.

    12 bits of h pick a bucket in a small table (no sort); rows whose hash differs from their
    bucket's first row collided and try the next 12 bits."""
    group = np.full(len(h), -1, np.intp)
    reps: list[int] = []
    pending = np.flatnonzero(ok)
    for shift in range(52, -1, -12):
        if not len(pending):
            break
        bucket = ((h[pending] >> np.uint64(shift)) & np.uint64(0xFFF)).astype(np.intp)
        first = np.full(1 << 12, -1, np.intp)
        first[bucket[::-1]] = pending[::-1]
        same = h[pending] == h[first[bucket]]
        used = np.flatnonzero(np.bincount(bucket[same], minlength=1 << 12))
        ids = np.zeros(1 << 12, np.intp)
        ids[used] = np.arange(len(reps), len(reps) + len(used))
        reps += first[used].tolist()
        group[pending[same]] = ids[bucket[same]]
        pending = pending[~same]
    return group, reps


def _tensor_scalar(tensor) -> float | None:
    dtype = _TENSOR_DTYPES.get(tensor.dtype)
    if dtype is None or any(dim.size != 1 for dim in tensor.tensor_shape.dim):
        return None
    if tensor.tensor_content:
        values = np.frombuffer(tensor.tensor_content, dtype)
    elif dtype is np.float16:
        values = np.array(tensor.half_val, np.uint16).view(np.float16)
    else:
        values = tensor.double_val if dtype is np.float64 else tensor.float_val
    return float(values[0]) if len(values) == 1 else None


def _decode_slow(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray, which: np.ndarray,
                 tag_slot: Callable[[str], int], plugins: dict[str, str],
                 audio: list[ChunkAudio] | None = None) -> ChunkPoints:
    rows = []
    for i in which.tolist():
        event = Event.FromString(padded[starts[i]:starts[i] + lengths[i]].tobytes())
        for index, v in enumerate(event.summary.value):
            if v.HasField("metadata") and v.metadata.plugin_data.plugin_name:
                plugins.setdefault(v.tag, v.metadata.plugin_data.plugin_name)
            kind = v.WhichOneof("value")
            if audio is not None and kind in ("audio", "tensor"):
                clip = audio_of_value(v) if kind == "audio" else (
                    audio_of_tensor(v.tensor) if plugins.get(v.tag) == AUDIO_PLUGIN else None)
                if clip is not None:
                    audio.append(ChunkAudio(i, index, v.tag, event.step, event.wall_time, clip))
            value = v.simple_value if kind == "simple_value" else None
            if kind == "tensor" and plugins.get(v.tag, _SCALAR_PLUGIN) == _SCALAR_PLUGIN:
                value = _tensor_scalar(v.tensor)
            if value is not None:
                rows.append((i, tag_slot(v.tag), event.step, event.wall_time, value))
    cols = list(zip(*rows)) or [[]] * 5
    return ChunkPoints(*(np.array(c, t) for c, t in zip(cols, (np.intp, np.intp, np.int64, np.float64, np.float64))))


def _merge(a: ChunkPoints, b: ChunkPoints) -> ChunkPoints:
    """Both paths' points in record order (the purge depends on the order)."""
    if not len(b.record):
        return a
    order = np.argsort(np.concatenate([a.record, b.record]), kind="stable")
    return ChunkPoints(*(np.concatenate([x, y])[order] for x, y in zip(
        (a.record, a.tag_id, a.steps, a.wall_times_s, a.values),
        (b.record, b.tag_id, b.steps, b.wall_times_s, b.values))))
