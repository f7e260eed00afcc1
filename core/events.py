"""Incremental reader of the TensorBoard scalar series in one run folder.

TensorBoard's own loader parses every record with Python (41 s for 700,000 scalars here), far too
slow for a live page. Records are TFRecord-framed (uint64 length, masked CRC32C of the length, the
Event bytes, masked CRC32C of the data) and torch's SummaryWriter writes every scalar with one fixed
layout, so framing, both CRCs and the decoding of that layout run as numpy array operations over
all records at once. Any record that does not match the layout is parsed with protobuf.
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event

EVENT_FILE_PREFIX = "events.out.tfevents."
_HEADER_BYTES = 12  # uint64 length + uint32 masked CRC of the length
_FRAMING_BYTES = 16  # header + uint32 masked CRC of the data
_CHUNK_BYTES = 8 << 20  # bounds peak memory on the first load of a big file
_MAX_RECORD_BYTES = 1 << 30  # larger "lengths" can only come from corruption
_PAD_BYTES = 64  # zeros around a chunk so fixed-width windows never run off either end
_SCALAR_PLUGIN = "scalars"
_TENSOR_DTYPES = {1: np.float32, 2: np.float64, 19: np.float16}  # DT_FLOAT, DT_DOUBLE, DT_HALF

# --- CRC32C, evaluated for many records at once ----------------------------------------------
# CRC is affine over GF(2): crc(m) = raw(m) ^ crc(zeros of len(m)), where raw starts from a zero
# register, so zero bytes before a message add nothing. Messages are right-aligned in 64-byte
# blocks and raw() is the XOR of one table lookup per 2-byte column.
_BLOCK = 64
_POLY = 0x82F63B78


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    byte_table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        byte_table = np.where(byte_table & 1, (byte_table >> 1) ^ _POLY, byte_table >> 1)
    byte_table = byte_table.astype(np.uint32)
    shifted = np.empty((_BLOCK, 256), np.uint32)  # [j][b]: raw of byte b then j zero bytes
    shifted[0] = byte_table
    for j in range(1, _BLOCK):
        shifted[j] = byte_table[shifted[j - 1] & 0xFF] ^ (shifted[j - 1] >> 8)
    v = np.arange(1 << 16)
    pairs = np.stack([shifted[_BLOCK - 1 - 2 * k][v & 0xFF] ^ shifted[_BLOCK - 2 - 2 * k][v >> 8]
                      for k in range(_BLOCK // 2)])
    zeros_crc = np.empty(_BLOCK + 1, np.uint32)  # crc32c of n zero bytes
    reg = 0xFFFFFFFF
    for n in range(_BLOCK + 1):
        zeros_crc[n] = reg ^ 0xFFFFFFFF
        reg = int(byte_table[reg & 0xFF]) ^ (reg >> 8)
    return pairs, zeros_crc


_PAIRS, _ZEROS_CRC = _build_tables()  # 8 MB, built once per process in ~10 ms


def _mask(crc: np.ndarray) -> np.ndarray:
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def _raw_crc_blocks(blocks: np.ndarray, first_pair: int = 0) -> np.ndarray:
    """Raw CRC of each row of an (n, 64) uint8 array whose pairs before `first_pair` are zero."""
    words = blocks.view("<u2")
    acc = np.zeros(len(blocks), np.uint32)
    for k in range(first_pair, _BLOCK // 2):  # column by column keeps each 256 KB table in cache
        acc ^= _PAIRS[k].take(words[:, k], mode="clip")
    return acc


def _masked_crc_short(padded: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Masked CRC32C of the messages padded[end - length:end], each at most 64 bytes."""
    out = np.empty(len(ends), np.uint32)
    windows = np.lib.stride_tricks.sliding_window_view(padded, _BLOCK)
    for a in range(0, len(ends), 1 << 15):  # chunks keep the working set in cache
        e, n = ends[a:a + (1 << 15)], lengths[a:a + (1 << 15)]
        blocks = windows[e - _BLOCK]
        first_pair = (_BLOCK - int(n.max())) // 2  # pairs before it lie before every message
        for col in range(2 * first_pair, _BLOCK - int(n.min())):  # zero bytes before each message
            blocks[:, col] *= n >= _BLOCK - col
        out[a:a + len(e)] = _raw_crc_blocks(blocks, first_pair) ^ _ZEROS_CRC[n]
    return _mask(out)


def _masked_crc_long(data: np.ndarray) -> int:
    """Masked CRC32C of one message of any length (text summaries, audio, ...)."""
    msg = np.zeros(-len(data) % _BLOCK + len(data), np.uint8)
    msg[len(msg) - len(data):] = data
    msg[len(msg) - len(data):][:4] ^= 0xFF  # folds the 0xFFFFFFFF initial register in
    p0, p1 = _PAIRS[0], _PAIRS[1]
    reg = 0
    for raw in _raw_crc_blocks(msg.reshape(-1, _BLOCK)).tolist():
        reg = int(p0[reg & 0xFFFF] ^ p1[reg >> 16]) ^ raw  # 64 zero bytes through reg, then the block
    return int(_mask(np.array([reg ^ 0xFFFFFFFF], np.uint32))[0])


# --- Framing -----------------------------------------------------------------------------------
def _u64_at(padded: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(padded, 8)[positions].view("<u8")[:, 0]


def _frame(padded: np.ndarray, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Header offsets and data lengths of the complete records chained from `start`."""
    # Writers put Event.wall_time (tag byte 0x09) first, so headers sit 12 bytes before a 0x09.
    # Runs of such candidates whose lengths lead exactly to the next are taken whole; a record
    # that is not a candidate (or a stray 0x09 inside data) costs one step of the plain walk.
    cands = np.flatnonzero(padded[start + _HEADER_BYTES:size] == 0x09) + start
    ends = cands + _FRAMING_BYTES + np.minimum(_u64_at(padded, cands), size).astype(np.int64)
    # A stray 0x09 inside data is almost never where another candidate's length leads.
    led_to = np.zeros(size + 1, bool)
    led_to[ends[ends <= size]] = True
    led_to[start] = True
    real = led_to[cands]
    cands, ends = cands[real], ends[real]
    breaks = np.flatnonzero(ends[:-1] != cands[1:])
    unpack = struct.Struct("<Q").unpack_from
    runs, pos = [], start
    while True:
        j = int(np.searchsorted(cands, pos))
        if j < len(cands) and cands[j] == pos:
            b = int(np.searchsorted(breaks, j))
            k = int(breaks[b]) if b < len(breaks) else len(cands) - 1  # last record of the run
            if ends[k] > size:  # the run ends in a half-written record
                runs.append(cands[j:k])
                return _with_lengths(padded, runs)
            runs.append(cands[j:k + 1])
            pos = int(ends[k])
        if pos + _HEADER_BYTES > size:
            break
        end = pos + _FRAMING_BYTES + unpack(padded, pos)[0]
        if end > size:
            break
        runs.append(np.array([pos], np.int64))
        pos = end
    return _with_lengths(padded, runs)


def _with_lengths(padded: np.ndarray, runs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    heads = np.concatenate(runs) if runs else np.zeros(0, np.int64)
    return heads, _u64_at(padded, heads).astype(np.int64)


def _length_ok(padded: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Whether each header's length matches its CRC (8 bytes: the last 4 columns of a block)."""
    words = np.lib.stride_tricks.sliding_window_view(padded, _HEADER_BYTES)[heads]
    pairs = words[:, :8].copy().view("<u2")
    raw = _PAIRS[-4].take(pairs[:, 0]) ^ _PAIRS[-3].take(pairs[:, 1]) ^ _PAIRS[-2].take(pairs[:, 2]) \
        ^ _PAIRS[-1].take(pairs[:, 3])
    return _mask(raw ^ _ZEROS_CRC[8]) == words[:, 8:].copy().view("<u4")[:, 0]


def _resync(padded: np.ndarray, start: int, size: int) -> int:
    """First offset after `start` holding a header whose CRC matches (or `size - 11`)."""
    for a in range(start, size - _HEADER_BYTES + 1, 1 << 16):
        heads = np.arange(a, min(a + (1 << 16), size - _HEADER_BYTES + 1))
        good = np.flatnonzero(_length_ok(padded, heads) & (_u64_at(padded, heads) < _MAX_RECORD_BYTES))
        if len(good):
            return int(heads[good[0]])
    return max(start, size - _HEADER_BYTES + 1)


# --- Values ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalarSeries:
    """One tag's points in step order, after orphaned points of restarts were purged."""

    tag: str
    steps: np.ndarray  # int64
    values: np.ndarray  # float64
    wall_times_s: np.ndarray  # float64, Unix time the trainer logged each point


@dataclass(frozen=True)
class ReaderStatus:
    """What the reader has seen so far; `missing` means the folder or a read event file vanished."""

    run_dir: Path
    event_files: int
    bytes_read: int
    points: int
    corrupt_records: int
    missing: bool


_BYTE_MASKS = np.array([(1 << 8 * n) - 1 for n in range(9)], np.uint64)  # keeps the low n bytes
_TAG_HASH = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53], np.uint64)


@dataclass(frozen=True)
class _Points:
    """Scalar points decoded from one chunk, in record order."""

    record: np.ndarray  # index of the record in the chunk, to merge fast and slow paths
    tag_id: np.ndarray
    steps: np.ndarray
    wall_times_s: np.ndarray
    values: np.ndarray


def _decode_fast(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """Decode records laid out as Event{wall_time, step, summary{value{tag, simple_value}}}.

    Returns (points, tag names, indices of the records left for protobuf)."""
    rec = np.flatnonzero((lengths >= 22) & (lengths <= _BLOCK))
    d, n = starts[rec], lengths[rec]
    win = np.lib.stride_tricks.sliding_window_view
    head = win(padded, 10)[d]  # 0x09, wall_time, 0x10
    # Step varint (up to 5 bytes, steps below 2**35): the lowest byte without the continuation
    # bit ends it; the bytes up to it hold 7 bits each.
    v = win(padded, 8)[d + 10].view("<u8")[:, 0]
    stop = ~v & np.uint64(0x8080808080)
    stop &= ~stop + np.uint64(1)  # lowest set bit
    v &= (stop << np.uint64(1)) - np.uint64(1)
    steps = np.zeros(len(d), np.uint64)
    for i in range(5):
        steps |= (v >> np.uint64(i)) & np.uint64(0x7F << (7 * i))
    k = np.bitwise_count(stop - np.uint64(1)).astype(np.int64) // 8 + 1  # varint bytes
    o = d + 10 + k  # Event.summary field
    size = n - 12 - k  # lengths of Summary, Summary.Value and the tag follow from it
    tag_len = size - 9
    expected = (0x2A | (size << 8) | (0x0A << 16) | ((size - 2) << 24) | (0x0A << 32)
                | (tag_len << 40)).astype(np.uint64)
    ok = ((stop != 0) & (head[:, 0] == 0x09) & (head[:, 9] == 0x10) & (size < 128) & (tag_len >= 0)
          & ((win(padded, 8)[o].view("<u8")[:, 0] & np.uint64(0xFFFFFFFFFFFF)) == expected)
          & (padded[d + n - 5] == 0x15))
    # Tags are told apart by a multiplicative hash of their bytes: a 64-bit sum of words times odd
    # constants, so tags differing in one word never collide (and others with odds of 2**-64).
    # Its top 16 bits pick a bucket; a record whose hash differs from its bucket's first record
    # (a bucket collision) is left to protobuf.
    width = 8 * -(-int(tag_len[ok].max(initial=1)) // 8)
    words = win(padded, width)[o + 6].view("<u8")
    h = np.zeros(len(d), np.uint64)
    for w in range(width // 8):  # bytes past the tag's end are masked out
        h += (words[:, w] & _BYTE_MASKS.take(np.clip(tag_len - 8 * w, 0, 8))) * _TAG_HASH[w]
    h += tag_len.astype(np.uint64)
    bucket = (h >> np.uint64(48)).astype(np.intp)
    first = np.full(1 << 16, -1, np.intp)
    first[bucket[::-1]] = np.arange(len(bucket))[::-1]
    ok &= h == h[first[bucket]]
    sel = np.flatnonzero(ok)
    bucket = bucket[sel]
    ids = np.flatnonzero(np.bincount(bucket, minlength=1 << 16))
    slot = np.zeros(1 << 16, np.intp)
    slot[ids] = np.arange(len(ids))
    names = [bytes(padded[o[r] + 6:o[r] + 6 + tag_len[r]]).decode("utf-8", "replace") for r in first[ids]]
    wall = head[sel, 1:9].copy().view("<f8")[:, 0]
    values = win(padded, 4)[d[sel] + n[sel] - 4].view("<f4")[:, 0].astype(np.float64)
    slow = np.ones(len(starts), bool)
    slow[rec[sel]] = False
    points = _Points(rec[sel], slot[bucket], steps[sel].astype(np.int64), wall, values)
    return points, names, np.flatnonzero(slow)


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


class _Series:
    """Growable arrays for one tag (amortised appends, TensorBoard's restart purge)."""

    def __init__(self) -> None:
        self.count = 0
        self.steps = np.zeros(0, np.int64)
        self.values = np.zeros(0, np.float64)
        self.walls = np.zeros(0, np.float64)

    def extend(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        # A point j survives unless a later point i went backwards (step_i < step_{i-1}) to a
        # step <= step_j: that is what TensorBoard's sequential purge leaves behind.
        last = self.steps[self.count - 1:self.count] if self.count else [np.iinfo(np.int64).min]
        prev = np.concatenate([last, steps[:-1]])
        went_back = np.where(steps < prev, steps, np.iinfo(np.int64).max)
        later_min = np.minimum.accumulate(went_back[::-1])[::-1]
        self.count = int(np.searchsorted(self.steps[:self.count], later_min[0], "left"))
        keep = steps < np.r_[later_min[1:], np.iinfo(np.int64).max]
        steps, walls, values = steps[keep], walls[keep], values[keep]
        need = self.count + len(steps)
        if need > len(self.steps):
            cap = max(need, 2 * len(self.steps), 1024)
            for name in ("steps", "values", "walls"):
                grown = np.empty(cap, getattr(self, name).dtype)
                grown[:self.count] = getattr(self, name)[:self.count]
                setattr(self, name, grown)
        self.steps[self.count:need], self.walls[self.count:need] = steps, walls
        self.values[self.count:need] = values
        self.count = need


class RunEventReader:
    """Scalar series of one run folder, read incrementally; one instance may serve many threads."""

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir)
        self._lock = threading.Lock()
        self._offsets: dict[str, tuple[int, int]] = {}  # file name -> (inode, bytes consumed)
        self._series: dict[str, _Series] = {}  # insertion order gives each tag its slot number
        self._slots: dict[str, int] = {}
        self._plugins: dict[str, str] = {}  # tag -> plugin name, from the first metadata seen
        self._corrupt = 0
        self._missing = False

    def refresh(self) -> int:
        """Read what was appended since the last call; returns the number of new points."""
        with self._lock:
            try:
                names = sorted(n for n in os.listdir(self.run_dir) if n.startswith(EVENT_FILE_PREFIX))
            except OSError:  # folder deleted (or never there): keep what was read
                self._missing = True
                return 0
            self._missing = any(n not in names for n in self._offsets)
            return sum(self._read_file(name) for name in names)

    def tags(self) -> list[str]:
        """Tags that hold at least one scalar point, sorted."""
        with self._lock:
            return sorted(t for t, s in self._series.items() if s.count)

    def series(self, tag: str) -> ScalarSeries:
        """A copy of one tag's points (empty if the tag is unknown)."""
        with self._lock:
            s = self._series.get(tag) or _Series()
            return ScalarSeries(tag, s.steps[:s.count].copy(), s.values[:s.count].copy(),
                                s.walls[:s.count].copy())

    def steps(self, tag: str) -> np.ndarray:
        return self.series(tag).steps

    def values(self, tag: str) -> np.ndarray:
        return self.series(tag).values

    def wall_times_s(self, tag: str) -> np.ndarray:
        return self.series(tag).wall_times_s

    @property
    def corrupt_records(self) -> int:
        return self._corrupt

    @property
    def missing(self) -> bool:
        return self._missing

    def status(self) -> ReaderStatus:
        with self._lock:
            return ReaderStatus(self.run_dir, len(self._offsets), sum(o for _, o in self._offsets.values()),
                                sum(s.count for s in self._series.values()), self._corrupt, self._missing)

    def _read_file(self, name: str) -> int:
        try:
            fd = os.open(self.run_dir / name, os.O_RDONLY)
        except OSError:
            self._missing = True
            return 0
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            inode, offset = self._offsets.get(name, (st.st_ino, 0))
            if inode != st.st_ino or st.st_size < offset:  # replaced or truncated: start over
                offset = 0
            want, added = _CHUNK_BYTES, 0
            while offset < st.st_size:
                f.seek(offset)
                chunk = f.read(want)
                used, points, need = self._parse_chunk(chunk)
                offset, added = offset + used, added + points
                if len(chunk) < want:  # reached the end of what is written
                    break
                if used == 0:  # one record larger than the chunk
                    want = max(2 * want, need)
            self._offsets[name] = (st.st_ino, offset)
        return added

    def _parse_chunk(self, chunk: bytes) -> tuple[int, int, int]:
        """Decode the complete records in `chunk`: (bytes consumed, points added, bytes wanted)."""
        # Zeros on both sides let fixed-width windows start before the first record or run past
        # the last; positions below are in `padded`, the chunk starts at _PAD_BYTES.
        size = _PAD_BYTES + len(chunk)
        padded = np.zeros(size + _PAD_BYTES, np.uint8)
        padded[_PAD_BYTES:size] = np.frombuffer(chunk, np.uint8)
        heads_parts, pos = [], _PAD_BYTES
        while True:
            heads, lengths = _frame(padded, pos, size)
            bad = np.flatnonzero(~_length_ok(padded, heads)) if len(heads) else heads
            if not len(bad):
                heads_parts.append((heads, lengths))
                pos = int(heads[-1] + _FRAMING_BYTES + lengths[-1]) if len(heads) else pos
                break
            # A damaged length hides where the next record starts: count one corrupt record and
            # look for the next header whose CRC matches.
            heads_parts.append((heads[:bad[0]], lengths[:bad[0]]))
            self._corrupt += 1
            pos = _resync(padded, int(heads[bad[0]]) + 1, size)
        heads = np.concatenate([h for h, _ in heads_parts])
        lengths = np.concatenate([n for _, n in heads_parts])
        need = 0
        if pos + _HEADER_BYTES <= size:
            need = _FRAMING_BYTES + int(_u64_at(padded, np.array([pos]))[0])
        starts, ends = heads + _HEADER_BYTES, heads + _HEADER_BYTES + lengths
        stored = np.lib.stride_tricks.sliding_window_view(padded, 4)[ends].view("<u4")[:, 0]
        short = lengths <= _BLOCK
        good = np.ones(len(heads), bool)
        good[short] = _masked_crc_short(padded, ends[short], lengths[short]) == stored[short]
        for i in np.flatnonzero(~short):
            good[i] = _masked_crc_long(padded[starts[i]:ends[i]]) == stored[i]
        self._corrupt += int(len(good) - good.sum())
        starts, lengths = starts[good], lengths[good]
        fast, names, slow = _decode_fast(padded, starts, lengths)
        tag_ids = np.array([self._tag_slot(n) for n in names], np.intp)
        fast = _Points(fast.record, tag_ids[fast.tag_id] if len(names) else fast.tag_id,
                       fast.steps, fast.wall_times_s, fast.values)
        points = _merge(fast, self._decode_slow(padded, starts, lengths, slow))
        return pos - _PAD_BYTES, self._store(points), need

    def _tag_slot(self, tag: str) -> int:
        if tag not in self._slots:
            self._slots[tag] = len(self._series)
            self._series[tag] = _Series()
        return self._slots[tag]

    def _decode_slow(self, padded, starts, lengths, which) -> _Points:
        rows = []
        for i in which.tolist():
            event = Event.FromString(padded[starts[i]:starts[i] + lengths[i]].tobytes())
            for v in event.summary.value:
                if v.HasField("metadata") and v.metadata.plugin_data.plugin_name:
                    self._plugins.setdefault(v.tag, v.metadata.plugin_data.plugin_name)
                kind = v.WhichOneof("value")
                value = v.simple_value if kind == "simple_value" else None
                if kind == "tensor" and self._plugins.get(v.tag, _SCALAR_PLUGIN) == _SCALAR_PLUGIN:
                    value = _tensor_scalar(v.tensor)
                if value is not None:
                    rows.append((i, self._tag_slot(v.tag), event.step, event.wall_time, value))
        cols = list(zip(*rows)) or [[]] * 5
        return _Points(*(np.array(c, t) for c, t in zip(cols, (np.intp, np.intp, np.int64, np.float64, np.float64))))

    def _store(self, points: _Points) -> int:
        series = list(self._series.values())
        order = np.argsort(points.tag_id.astype(np.uint16), kind="stable")  # radix sort
        bounds = np.flatnonzero(np.diff(points.tag_id[order])) + 1
        for group in np.split(order, bounds) if len(order) else []:
            series[points.tag_id[group[0]]].extend(points.steps[group], points.wall_times_s[group],
                                                   points.values[group])
        return len(order)


def _merge(a: _Points, b: _Points) -> _Points:
    """Both paths' points in record order (the purge depends on the order)."""
    if not len(b.record):
        return a
    order = np.argsort(np.concatenate([a.record, b.record]), kind="stable")
    return _Points(*(np.concatenate([x, y])[order] for x, y in zip(
        (a.record, a.tag_id, a.steps, a.wall_times_s, a.values),
        (b.record, b.tag_id, b.steps, b.wall_times_s, b.values))))
