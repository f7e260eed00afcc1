"""Incremental reader of the TensorBoard scalar series (and audio clips) in one run folder.

TensorBoard's own loader parses every record in Python (9 to 41 s for 700,000 scalars on this
project's machines), far too slow for a live page. So, as in TensorBoard's event_processing,
small pieces each do one thing: `tfrecord` frames a chunk of a file into CRC-checked records,
`event_decode` turns the records into scalar points (numpy for torch's fixed scalar layout,
protobuf for the rest) and `series` keeps each tag's points, purged after restarts and capped;
`audio` keeps the audio clips met on the protobuf path the same way.
This module only reads files: from the last offset of each, a chunk at a time, leaving a
half-written last record for the next call.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.checkpoints.layout import EVENT_FILE_PREFIX
from core.monitor.audio import AUDIO_HELD_PER_TAG, AudioSample, AudioStore
from core.monitor.event_decode import ChunkAudio, decode_chunk
from core.monitor.series import MAX_POINTS_PER_TAG, ScalarSeries, SeriesStore, SeriesTail
from core.monitor.tfrecord import PAD_BYTES, split_records

__all__ = ["EVENT_FILE_PREFIX", "AudioSample", "ReaderStatus", "RunEventReader", "ScalarSeries", "SeriesTail"]

_CHUNK_BYTES = 2 << 20  # bounds peak memory; arrays of this many records stay in the CPU cache
_NUMBERS = re.compile(r"(\d+)")


def _creation_order(name: str) -> tuple:
    """Sort key of an event file name (events.out.tfevents.<time>.<host>.<pid>.<counter>...).

    Numbers compare as numbers: by plain name order a process's 10th writer (".10") comes before
    its 9th when both start in the same second, and reading a restart's file first would purge
    the wrong points."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_NUMBERS.split(name)))


@dataclass(frozen=True)
class ReaderStatus:
    """What the reader has seen so far; `missing` means the folder or a read event file vanished."""

    run_dir: Path
    event_files: int
    bytes_read: int
    points: int  # held now, after restart purges and thinning
    corrupt_records: int
    missing: bool


class RunEventReader:
    """Scalar series and audio clips of one run folder, read incrementally; one instance may serve many threads.

    `max_audio_held_per_tag` bounds the audio bytes in memory (older clips are read again from
    their file when asked for; 0 holds none)."""

    def __init__(self, run_dir: Path | str, max_points_per_tag: int = MAX_POINTS_PER_TAG,
                 max_audio_held_per_tag: int = AUDIO_HELD_PER_TAG) -> None:
        self.run_dir = Path(run_dir)
        self._lock = threading.Lock()
        self._offsets: dict[str, tuple[int, int]] = {}  # file name -> (inode, bytes consumed)
        self._store = SeriesStore(max_points_per_tag)
        self._audio = AudioStore(self.run_dir, max_audio_held_per_tag)
        self._plugins: dict[str, str] = {}  # tag -> plugin name, from the first metadata seen
        self._corrupt = 0
        self._missing = False

    def refresh(self) -> int:
        """Read what was appended since the last call; returns the number of new points."""
        with self._lock:
            try:
                names = sorted((n for n in os.listdir(self.run_dir) if n.startswith(EVENT_FILE_PREFIX)),
                               key=_creation_order)
            except OSError:  # folder deleted (or never there): keep what was read
                self._missing = True
                return 0
            self._missing = any(n not in names for n in self._offsets)
            return sum(self._read_file(name) for name in names)

    def tags(self) -> list[str]:
        """Tags that hold at least one scalar point, sorted."""
        with self._lock:
            return self._store.tags()

    def series(self, tag: str) -> ScalarSeries:
        """A copy of one tag's points (empty if the tag is unknown)."""
        with self._lock:
            return self._store.series(tag)

    def series_tail(self, tag: str, start: int = 0, generation: int = -1) -> SeriesTail:
        """The points of a tag from index `start` on: what a consumer that has `start` points of
        `generation` lacks (all of them, from 0, if the history changed since). Costs the new points only."""
        with self._lock:
            return self._store.tail(tag, start, generation)

    def first_wall_time_s(self) -> float:
        """When the run's first point (of any tag) was logged, Unix seconds; 0.0 before any."""
        with self._lock:
            return self._store.first_wall_time_s()

    def audio_tags(self) -> list[str]:
        """Tags that hold at least one audio clip, sorted (the trainer's: TestAudios/0-audio, ...)."""
        with self._lock:
            return self._audio.tags()

    def audio_steps(self, tag: str) -> list[int]:
        """Steps of one tag's clips, newest first (for a step slider), without reading any bytes."""
        with self._lock:
            return [ref.step for ref in self._audio.refs(tag)]

    def audio_samples(self, tag: str | None = None, limit: int | None = None) -> list[AudioSample]:
        """The clips of one tag (or of all), newest first (highest step), at most `limit`.

        Clips whose bytes are no longer held are read again from their event file; one whose file
        has gone or changed since is left out."""
        with self._lock:
            refs = self._audio.refs(tag)[:limit]
            return [s for s in (self._audio.sample(r) for r in refs) if s is not None]

    def audio_sample(self, tag: str, step: int) -> AudioSample | None:
        """The newest clip of `tag` logged at `step`, or None."""
        with self._lock:
            ref = next((r for r in self._audio.refs(tag) if r.step == step), None)
            return self._audio.sample(ref) if ref is not None else None

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
                                self._store.points(), self._corrupt, self._missing)

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
            # first record or run past the last; the chunk starts at PAD_BYTES.
            padded = np.zeros(want + 2 * PAD_BYTES, np.uint8)
            while offset < st.st_size:
                f.seek(offset)
                got = f.readinto(memoryview(padded)[PAD_BYTES:PAD_BYTES + want])
                padded[PAD_BYTES + got:2 * PAD_BYTES + got] = 0
                used, points, need = self._parse_chunk(padded, PAD_BYTES + got, name, st.st_ino, offset)
                offset, added = offset + used, added + points
                if got < want or not got:  # reached the end of what is written
                    break
                if used == 0:  # one record larger than the chunk
                    want = max(2 * want, need)
                    padded = np.zeros(want + 2 * PAD_BYTES, np.uint8)
            self._offsets[name] = (st.st_ino, offset)
        return added

    def _parse_chunk(self, padded: np.ndarray, size: int, name: str, inode: int,
                     file_offset: int) -> tuple[int, int, int]:
        """Decode the complete records in padded[PAD_BYTES:size], read from `file_offset` of file
        `name`: (bytes consumed, points added, bytes wanted for the next record)."""
        records = split_records(padded, PAD_BYTES, size)
        self._corrupt += records.corrupt
        audio: list[ChunkAudio] = []
        points = decode_chunk(padded, records.starts, records.lengths, self._store.slot, self._plugins, audio)
        added = self._store.add(points.tag_id, points.steps, points.wall_times_s, points.values)
        for clip in audio:
            start = int(records.starts[clip.record])
            self._audio.add(clip.tag, clip.step, clip.wall_time_s, clip.clip, file_name=name, inode=inode,
                            data_offset=file_offset + start - PAD_BYTES,
                            data_bytes=int(records.lengths[clip.record]), value_index=clip.value_index)
        return records.end - PAD_BYTES, added, records.next_record_bytes
