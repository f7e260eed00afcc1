"""Incremental reader of the TensorBoard scalar series in one run folder.

TensorBoard's own loader parses every record in Python (9 to 41 s for 700,000 scalars on this
project's machines), far too slow for a live page. Records are TFRecord-framed (uint64 length, masked CRC32C of the length, the
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
_CHUNK_BYTES = 2 << 20  # bounds peak memory; arrays of this many records stay in the CPU cache
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
_BYTE_MASKS = np.array([(1 << 8 * n) - 1 for n in range(9)], np.uint64)  # keeps the low n bytes
_TAG_HASH = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5], np.uint64)  # odd, one per word


def _mask(crc: np.ndarray) -> np.ndarray:
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def _raw_crc_blocks(blocks: np.ndarray) -> np.ndarray:
    """Raw CRC of each row of an (n, 64) uint8 array."""
    words = blocks.view("<u2")
    acc = np.zeros(len(blocks), np.uint32)
    for k in range(_BLOCK // 2):  # column by column keeps each 256 KB table in cache
        acc ^= _PAIRS[k].take(words[:, k], mode="clip")
    return acc


def _masked_crc_short(padded: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Masked CRC32C of the messages padded[end - length:end], each at most 64 bytes."""
    words = _words(padded)
    acc = np.zeros(len(ends), np.uint32)
    if not len(ends):
        return acc
    starts = ends - _BLOCK  # each message right-aligned in a 64-byte block
    before = _BLOCK - lengths  # bytes of each block that precede its message
    for j in range(int(before.min()) // 8, _BLOCK // 8):  # words before every message add 0
        w = words[starts + 8 * j]
        if 8 * j < int(before.max()):  # clear the bytes that precede the message
            w &= ~_BYTE_MASKS.take(np.clip(before - 8 * j, 0, 8))
        pairs = w.view("<u2").reshape(-1, 4)
        for i in range(4):
            acc ^= _PAIRS[4 * j + i].take(pairs[:, i], mode="clip")  # clip: skips bounds checks
    return _mask(acc ^ _ZEROS_CRC[lengths])


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
def _words(padded: np.ndarray) -> np.ndarray:
    """The little-endian uint64 starting at every byte: words[p] reads bytes p..p+7.

    A stride-1 view, no copy; gathering words from it is several times faster than gathering
    rows of bytes."""
    return np.lib.stride_tricks.sliding_window_view(padded, 8).view("<u8")[:, 0]


def _u64_at(padded: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return _words(padded)[positions]


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
    words = _words(padded)
    length, crc = words[heads], words[heads + 8] & np.uint64(0xFFFFFFFF)
    raw = np.zeros(len(heads), np.uint32)
    for k in range(4):
        raw ^= _PAIRS[k - 4].take((length >> np.uint64(16 * k)) & np.uint64(0xFFFF))
    return _mask(raw ^ _ZEROS_CRC[8]) == crc


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
    u64 = np.uint64
    if not len(rec):
        empty = np.zeros(0, np.intp)
        return _Points(empty, empty, empty.astype(np.int64), np.zeros(0), np.zeros(0)), [], np.arange(len(starts))
    # Bytes 0-23 as three little-endian words: 0x09, wall_time, 0x10, the step varint (k bytes)
    # and the Summary/Value/tag headers; the float32 value is in the record's last 4 bytes.
    all_words = _words(padded)
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
            word = word & _BYTE_MASKS.take(np.clip(n - 5 - 8 * j, 0, 8))
        h += word * _TAG_HASH[j]
    group, reps = _group_by_hash(h, ok)
    ok &= group >= 0
    sel = slice(None) if ok.all() else np.flatnonzero(ok)  # all: the usual case, no copies
    slow = np.ones(len(starts), bool)
    slow[rec[sel]] = False
    names = [bytes(padded[o[r] + 6:o[r] + 6 + tag_len[r]]).decode("utf-8", "replace") for r in reps]
    values = (tail[sel] >> u64(32)).astype(np.uint32).view("<f4").astype(np.float64)
    points = _Points(rec[sel], group[sel], steps[sel].astype(np.int64), wall[sel], values)
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
        if len(steps) and steps[0] >= last[0] and np.all(steps[1:] >= steps[:-1]):
            self._append(steps, walls, values)  # the usual case: nothing went backwards
            return
        prev = np.concatenate([last, steps[:-1]])
        went_back = np.where(steps < prev, steps, np.iinfo(np.int64).max)
        later_min = np.minimum.accumulate(went_back[::-1])[::-1]
        self.count = int(np.searchsorted(self.steps[:self.count], later_min[0], "left"))
        keep = steps < np.r_[later_min[1:], np.iinfo(np.int64).max]
        self._append(steps[keep], walls[keep], values[keep])

    def _append(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
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
            want, added = min(_CHUNK_BYTES, st.st_size - offset), 0
            # Zeros on both sides of the bytes read let fixed-width windows start before the
            # first record or run past the last; the chunk starts at _PAD_BYTES.
            padded = np.zeros(want + 2 * _PAD_BYTES, np.uint8)
            while offset < st.st_size:
                f.seek(offset)
                got = f.readinto(memoryview(padded)[_PAD_BYTES:_PAD_BYTES + want])
                padded[_PAD_BYTES + got:2 * _PAD_BYTES + got] = 0
                used, points, need = self._parse_chunk(padded, _PAD_BYTES + got)
                offset, added = offset + used, added + points
                if got < want or not got:  # reached the end of what is written
                    break
                if used == 0:  # one record larger than the chunk
                    want = max(2 * want, need)
                    padded = np.zeros(want + 2 * _PAD_BYTES, np.uint8)
            self._offsets[name] = (st.st_ino, offset)
        return added

    def _parse_chunk(self, padded: np.ndarray, size: int) -> tuple[int, int, int]:
        """Decode the complete records in padded[_PAD_BYTES:size]: (bytes consumed, points added,
        bytes wanted for the next record)."""
        heads_parts, pos = [], _PAD_BYTES
        while True:
            heads, lengths = _frame(padded, pos, size)
            stop = int(heads[-1] + _FRAMING_BYTES + lengths[-1]) if len(heads) else pos
            # The header where framing stopped counts too: a damaged length can point past the
            # end of the file and pass for a half-written record.
            checked = np.append(heads, stop) if stop + _HEADER_BYTES <= size else heads
            bad = np.flatnonzero(~_length_ok(padded, checked))
            if not len(bad):
                heads_parts.append((heads, lengths))
                pos = stop
                break
            # A damaged length hides where the next record starts: count one corrupt record and
            # look for the next header whose CRC matches.
            heads_parts.append((heads[:bad[0]], lengths[:bad[0]]))
            self._corrupt += 1
            pos = _resync(padded, int(checked[bad[0]]) + 1, size)
        heads = np.concatenate([h for h, _ in heads_parts])
        lengths = np.concatenate([n for _, n in heads_parts])
        need = 0
        if pos + _HEADER_BYTES <= size:
            need = _FRAMING_BYTES + int(_u64_at(padded, np.array([pos]))[0])
        starts, ends = heads + _HEADER_BYTES, heads + _HEADER_BYTES + lengths
        stored = (_words(padded)[ends] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
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
