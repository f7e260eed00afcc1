"""TFRecord framing of an event file, checked with CRC32C for thousands of records at once.

A record is a uint64 length, the masked CRC32C of those 8 bytes, the data, and the masked CRC32C
of the data. Walking records one by one in Python (TensorBoard's way) is what makes its loader
slow, so framing and both CRCs run as numpy array operations over a whole chunk of a file.
Everything here works on a chunk held in a "padded" uint8 array: PAD_BYTES zero bytes on either
side of the file's bytes let fixed-width windows start before the first record or run past the
last without bounds checks.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

HEADER_BYTES = 12  # uint64 length + uint32 masked CRC of the length
FRAMING_BYTES = 16  # header + uint32 masked CRC of the data
PAD_BYTES = 64  # zeros on either side of a chunk; at least BLOCK_BYTES
BLOCK_BYTES = 64  # messages up to this long take the fast CRC (every scalar record does)
MAX_RECORD_BYTES = 1 << 30  # larger "lengths" can only come from corruption

# --- CRC32C, evaluated for many records at once ----------------------------------------------
# CRC is affine over GF(2): crc(m) = raw(m) ^ crc(zeros of len(m)), where raw starts from a zero
# register, so zero bytes before a message add nothing. Messages are right-aligned in 64-byte
# blocks and raw() is the XOR of one table lookup per 2-byte column.
_POLY = 0x82F63B78


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    byte_table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        byte_table = np.where(byte_table & 1, (byte_table >> 1) ^ _POLY, byte_table >> 1)
    byte_table = byte_table.astype(np.uint32)
    shifted = np.empty((BLOCK_BYTES, 256), np.uint32)  # [j][b]: raw of byte b then j zero bytes
    shifted[0] = byte_table
    for j in range(1, BLOCK_BYTES):
        shifted[j] = byte_table[shifted[j - 1] & 0xFF] ^ (shifted[j - 1] >> 8)
    v = np.arange(1 << 16)
    pairs = np.stack([shifted[BLOCK_BYTES - 1 - 2 * k][v & 0xFF] ^ shifted[BLOCK_BYTES - 2 - 2 * k][v >> 8]
                      for k in range(BLOCK_BYTES // 2)])
    zeros_crc = np.empty(BLOCK_BYTES + 1, np.uint32)  # crc32c of n zero bytes
    reg = 0xFFFFFFFF
    for n in range(BLOCK_BYTES + 1):
        zeros_crc[n] = reg ^ 0xFFFFFFFF
        reg = int(byte_table[reg & 0xFF]) ^ (reg >> 8)
    return pairs, zeros_crc


_PAIRS, _ZEROS_CRC = _build_tables()  # 8 MB, built once per process in ~10 ms
BYTE_MASKS = np.array([(1 << 8 * n) - 1 for n in range(9)], np.uint64)  # [n] keeps the low n bytes


def _mask(crc: np.ndarray) -> np.ndarray:
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def _raw_crc_blocks(blocks: np.ndarray) -> np.ndarray:
    """Raw CRC of each row of an (n, 64) uint8 array."""
    words = blocks.view("<u2")
    acc = np.zeros(len(blocks), np.uint32)
    for k in range(BLOCK_BYTES // 2):  # column by column keeps each 256 KB table in cache
        acc ^= _PAIRS[k].take(words[:, k], mode="clip")
    return acc


def masked_crc_short(padded: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Masked CRC32C of the messages padded[end - length:end], each at most 64 bytes."""
    words = u64_words(padded)
    acc = np.zeros(len(ends), np.uint32)
    if not len(ends):
        return acc
    starts = ends - BLOCK_BYTES  # each message right-aligned in a 64-byte block
    before = BLOCK_BYTES - lengths  # bytes of each block that precede its message
    for j in range(int(before.min()) // 8, BLOCK_BYTES // 8):  # words before every message add 0
        w = words[starts + 8 * j]
        if 8 * j < int(before.max()):  # clear the bytes that precede the message
            w &= ~BYTE_MASKS.take(np.clip(before - 8 * j, 0, 8))
        pairs = w.view("<u2").reshape(-1, 4)
        for i in range(4):
            acc ^= _PAIRS[4 * j + i].take(pairs[:, i], mode="clip")  # clip: skips bounds checks
    return _mask(acc ^ _ZEROS_CRC[lengths])


def masked_crc_long(data: np.ndarray) -> int:
    """Masked CRC32C of one message of any length (text summaries, audio, ...)."""
    msg = np.zeros(-len(data) % BLOCK_BYTES + len(data), np.uint8)
    msg[len(msg) - len(data):] = data
    msg[len(msg) - len(data):][:4] ^= 0xFF  # folds the 0xFFFFFFFF initial register in
    p0, p1 = _PAIRS[0], _PAIRS[1]
    reg = 0
    for raw in _raw_crc_blocks(msg.reshape(-1, BLOCK_BYTES)).tolist():
        reg = int(p0[reg & 0xFFFF] ^ p1[reg >> 16]) ^ raw  # 64 zero bytes through reg, then the block
    return int(_mask(np.array([reg ^ 0xFFFFFFFF], np.uint32))[0])


# --- Framing -----------------------------------------------------------------------------------
def u64_words(padded: np.ndarray) -> np.ndarray:
    """The little-endian uint64 starting at every byte: words[p] reads bytes p..p+7.

    A stride-1 view, no copy; gathering words from it is several times faster than gathering
    rows of bytes."""
    return np.lib.stride_tricks.sliding_window_view(padded, 8).view("<u8")[:, 0]


def _u64_at(padded: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return u64_words(padded)[positions]


def _frame(padded: np.ndarray, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Header offsets and data lengths of the complete records chained from `start`."""
    # Writers put Event.wall_time (tag byte 0x09) first, so headers sit 12 bytes before a 0x09.
    # Runs of such candidates whose lengths lead exactly to the next are taken whole; a record
    # that is not a candidate (or a stray 0x09 inside data) costs one step of the plain walk.
    cands = np.flatnonzero(padded[start + HEADER_BYTES:size] == 0x09) + start
    ends = cands + FRAMING_BYTES + np.minimum(_u64_at(padded, cands), size).astype(np.int64)
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
        if pos + HEADER_BYTES > size:
            break
        end = pos + FRAMING_BYTES + unpack(padded, pos)[0]
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
    words = u64_words(padded)
    length, crc = words[heads], words[heads + 8] & np.uint64(0xFFFFFFFF)
    raw = np.zeros(len(heads), np.uint32)
    for k in range(4):
        raw ^= _PAIRS[k - 4].take((length >> np.uint64(16 * k)) & np.uint64(0xFFFF))
    return _mask(raw ^ _ZEROS_CRC[8]) == crc


def _resync(padded: np.ndarray, start: int, size: int) -> int:
    """First offset after `start` holding a header whose CRC matches (or `size - 11`)."""
    for a in range(start, size - HEADER_BYTES + 1, 1 << 16):
        heads = np.arange(a, min(a + (1 << 16), size - HEADER_BYTES + 1))
        good = np.flatnonzero(_length_ok(padded, heads) & (_u64_at(padded, heads) < MAX_RECORD_BYTES))
        if len(good):
            return int(heads[good[0]])
    return max(start, size - HEADER_BYTES + 1)


@dataclass(frozen=True)
class ChunkRecords:
    """The intact records of a chunk, and where reading goes on."""

    starts: np.ndarray  # int64, offset of each intact record's data in the padded chunk
    lengths: np.ndarray  # int64, its data bytes
    end: int  # offset just past the last complete record: a half-written one waits for the next read
    next_record_bytes: int  # size of the record at `end` when its header is there (0: not yet)
    corrupt: int  # records skipped: a length or data CRC that does not match


def split_records(padded: np.ndarray, start: int, size: int) -> ChunkRecords:
    """Frame padded[start:size] into records, drop the ones whose CRCs fail, resync after damage."""
    parts, pos, corrupt = [], start, 0
    while True:
        heads, lengths = _frame(padded, pos, size)
        stop = int(heads[-1] + FRAMING_BYTES + lengths[-1]) if len(heads) else pos
        # The header where framing stopped counts too: a damaged length can point past the
        # end of the file and pass for a half-written record.
        checked = np.append(heads, stop) if stop + HEADER_BYTES <= size else heads
        bad = np.flatnonzero(~_length_ok(padded, checked))
        if not len(bad):
            parts.append((heads, lengths))
            pos = stop
            break
        # A damaged length hides where the next record starts: count one corrupt record and
        # look for the next header whose CRC matches.
        parts.append((heads[:bad[0]], lengths[:bad[0]]))
        corrupt += 1
        pos = _resync(padded, int(checked[bad[0]]) + 1, size)
    heads = np.concatenate([h for h, _ in parts])
    lengths = np.concatenate([n for _, n in parts])
    need = FRAMING_BYTES + int(_u64_at(padded, np.array([pos]))[0]) if pos + HEADER_BYTES <= size else 0
    starts, ends = heads + HEADER_BYTES, heads + HEADER_BYTES + lengths
    stored = (u64_words(padded)[ends] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    short = lengths <= BLOCK_BYTES
    good = np.ones(len(heads), bool)
    good[short] = masked_crc_short(padded, ends[short], lengths[short]) == stored[short]
    for i in np.flatnonzero(~short):
        good[i] = masked_crc_long(padded[starts[i]:ends[i]]) == stored[i]
    corrupt += int(len(good) - good.sum())
    return ChunkRecords(starts[good], lengths[good], pos, need, corrupt)
