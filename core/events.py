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
_PAD_BYTES = 64  # zeros after a chunk so fixed-width windows never run off its end
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


def _raw_crc_blocks(blocks: np.ndarray) -> np.ndarray:
    """Raw CRC of each row of an (n, 64) uint8 array."""
    words = blocks.view("<u2")
    acc = np.zeros(len(blocks), np.uint32)
    for k in range(_BLOCK // 2):  # column by column keeps each 256 KB table in cache
        acc ^= _PAIRS[k].take(words[:, k], mode="clip")
    return acc


def _masked_crc_short(padded: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Masked CRC32C of the messages padded[end - length:end], each at most 64 bytes."""
    out = np.empty(len(ends), np.uint32)
    windows = np.lib.stride_tricks.sliding_window_view(padded, _BLOCK)
    for a in range(0, len(ends), 1 << 15):  # chunks keep the working set in cache
        e, n = ends[a:a + (1 << 15)], lengths[a:a + (1 << 15)]
        blocks = windows[e - _BLOCK]
        for col in range(_BLOCK - int(n.min())):  # zero the bytes before each message
            blocks[:, col] *= n >= _BLOCK - col
        out[a:a + len(e)] = _raw_crc_blocks(blocks) ^ _ZEROS_CRC[n]
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
    # If those candidates chain exactly (each length leads to the next), they are the records;
    # otherwise walk the lengths one by one.
    heads = np.flatnonzero(padded[start + _HEADER_BYTES:size] == 0x09) + start
    if len(heads) and heads[0] == start:
        ends = heads + _FRAMING_BYTES + np.minimum(_u64_at(padded, heads), size).astype(np.int64)
        if len(heads) == 1 or np.array_equal(ends[:-1], heads[1:]):
            if ends[-1] > size:
                heads, ends = heads[:-1], ends[:-1]
            last = int(ends[-1]) if len(ends) else start
            if size - last < _HEADER_BYTES or last + _FRAMING_BYTES + int(_u64_at(padded, np.array([last]))[0]) > size:
                return heads, ends - heads - _FRAMING_BYTES
    unpack = struct.Struct("<Q").unpack_from
    found, pos = [], start
    while pos + _HEADER_BYTES <= size:
        end = pos + _FRAMING_BYTES + unpack(padded, pos)[0]
        if end > size:
            break
        found.append(pos)
        pos = end
    heads = np.array(found, np.int64)
    return heads, _u64_at(padded, heads).astype(np.int64)


def _length_ok(padded: np.ndarray, heads: np.ndarray) -> np.ndarray:
    return _masked_crc_short(padded, heads + 8, np.full(len(heads), 8)) == \
        np.lib.stride_tricks.sliding_window_view(padded, 4)[heads + 8].view("<u4")[:, 0]


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
