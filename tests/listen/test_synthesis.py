"""Synthesis from real demo checkpoints through coqui's inference: a detached job, the cache, reloads, cleanup.

One job synthesises one sentence from two model files of the shared demo run (an optimized
model.pth outside the run, and the run's best_model.pth); the tests then read what it left on
disk. The demo GPT never learnt to stop, so every sample is capped at 24 audio tokens (~1 s).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from core.checkpoints.ops import optimize
from core.jobs.files import JobRecord
from core.jobs.launcher import wait_for_job
from core.jobs.state import JobPhase
from core.listen.samples import cached_sample, clean_orphan_samples, list_samples_for
from core.listen.sampling import SamplingSettings
from core.listen.synthesis import (SampleRequest, job_samples, plan_samples, request_samples, synthesis_jobs,
                                   training_runs_on_gpu)
from core.registry.process_identity import identify
from core.registry.records import RunRecord, save_record
from core.base.workspace import Workspace

PROJECT = Path(__file__).resolve().parents[2]
SENTENCE = "Hello there, how are you today?"
SETTINGS = SamplingSettings(max_audio_tokens=24)
# A page reload: a fresh interpreter that knows only the workspace folder finds the job from disk.
READER = """
import json, sys
from pathlib import Path
from core.base.workspace import Workspace
from core.listen.synthesis import live_synthesis_job, synthesis_jobs, synthesis_state
ws = Workspace(root=Path(sys.argv[1]))
live, ids = live_synthesis_job(ws), synthesis_jobs(ws)
state = synthesis_state(ws, ids[0])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "TTS", "trainer", "transformers"})
print(json.dumps({"live": live, "ids": ids, "phase": state.phase.value, "total": state.progress.total, "heavy": heavy}))
"""


@dataclass
class Synthesised:
    ws: Workspace
    request: SampleRequest
    record: JobRecord
    phase: JobPhase
    reader: dict
    optimized: Path
    best: Path


@pytest.fixture(scope="module")
def synthesised(demo_run, tmp_path_factory) -> Synthesised:
    ws = Workspace.at(tmp_path_factory.mktemp("listen-ws"))
    optimized = optimize(demo_run.run_folder / "checkpoint_100.pth", tmp_path_factory.mktemp("custom") / "model.pth")
    best = demo_run.run_folder / "best_model.pth"
    request = SampleRequest(checkpoints=(str(optimized.target), str(best)), sentences=(SENTENCE,), language="en",
                            settings=SETTINGS)
    record = request_samples(ws, request)
    assert isinstance(record, JobRecord)
    reader = subprocess.run([sys.executable, "-c", READER, str(ws.root)], cwd=PROJECT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert reader.returncode == 0, reader.stderr
    phase = wait_for_job(ws, record.job_id, timeout_s=900)
    return Synthesised(ws, request, record, phase, json.loads(reader.stdout.strip().splitlines()[-1]),
                       optimized.target, best)


def _read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as f:
        frames = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32767
        return frames, f.getframerate(), f.getnchannels()


def test_demo_checkpoints_synthesise_real_wavs_through_coquis_inference(synthesised, demo_run):
    log = (synthesised.ws.root / "jobs" / synthesised.record.job_id / "job.log").read_text()
    assert synthesised.phase is JobPhase.FINISHED, log[-3000:]
    samples = job_samples(synthesised.ws, synthesised.record.job_id)
    assert [s.text for s in samples] == [SENTENCE, SENTENCE]
    audio = []
    for sample in samples:
        frames, rate, channels = _read_wav(sample.wav_path)
        assert rate == sample.sample_rate_hz == 24000 and channels == 1
        assert frames.size > 0 and np.isfinite(frames).all() and np.abs(frames).max() > 0
        assert sample.duration_s == pytest.approx(frames.size / 24000)
        assert sample.seed == SETTINGS.seed and sample.device == "cpu"
        assert sample.references == (str((Path(demo_run.config.output_path) / "ready" / "reference.wav").resolve()),)
        audio.append(frames)
    # Two checkpoints, the same seed and settings: the weights are what differ.
    assert samples[0].key.checkpoint_hash != samples[1].key.checkpoint_hash
    assert audio[0].size != audio[1].size or not np.array_equal(audio[0], audio[1])
    assert log.count("GB of inference weights") == 2  # each model loaded once


def test_a_page_reload_finds_the_job_and_its_progress_on_disk(synthesised):
    reader = synthesised.reader
    assert reader["ids"] == [synthesised.record.job_id]
    assert reader["phase"] in ("running", "finished") and reader["total"] in (0, 2)
    if reader["phase"] == "running":
        assert reader["live"] == synthesised.record.job_id
    assert reader["heavy"] == []  # looking a job up never loads torch or coqui into the dashboard


def test_asking_again_is_a_cache_hit_also_under_another_name_of_the_same_content(synthesised, demo_run):
    ws = synthesised.ws
    again = request_samples(ws, synthesised.request)
    assert isinstance(again, list)  # answered from the cache: no job (checked below)
    assert [s.key for s in again] == [s.key for s in job_samples(ws, synthesised.record.job_id)]
    # ready/unoptimize_model.pth is a copy of best_model.pth: same content, same samples.
    ready_copy = Path(demo_run.config.output_path) / "ready" / "unoptimize_model.pth"
    hit = request_samples(ws, SampleRequest(checkpoints=(str(ready_copy),), sentences=(SENTENCE,), language="en",
                                            settings=SETTINGS))
    assert isinstance(hit, list) and hit[0].wav_path == again[1].wav_path
    assert [s.wav_path for s in list_samples_for(ws, ready_copy)] == [again[1].wav_path]
    assert synthesis_jobs(ws) == [synthesised.record.job_id]
    # Another seed, another sentence or another reference is another sample.
    clip = demo_run.demo.train_csv.parent / "wavs" / "train_000.wav"
    for changed in (replace(synthesised.request, settings=replace(SETTINGS, seed=7)),
                    replace(synthesised.request, sentences=("Good night.",)),
                    replace(synthesised.request, references=(str(clip),))):
        _, planned = plan_samples(ws, changed)
        assert [cached_sample(ws, p.key) for p in planned] == [None, None]


def test_a_deleted_checkpoints_samples_are_cleaned_up_and_the_others_stay(synthesised):
    ws = synthesised.ws
    gone = list_samples_for(ws, synthesised.optimized)
    kept = list_samples_for(ws, synthesised.best)
    assert len(gone) == len(kept) == 1
    assert clean_orphan_samples(ws).samples_removed == 0  # every file is still there
    synthesised.optimized.unlink()
    result = clean_orphan_samples(ws)
    assert (result.checkpoints_removed, result.samples_removed) == (1, 1) and result.bytes_freed > 0
    assert not gone[0].wav_path.exists() and kept[0].wav_path.exists()
    assert list_samples_for(ws, synthesised.best) == kept


def test_a_gpu_in_use_by_a_live_training_run_queues_synthesis(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    me = identify(os.getpid())  # a live process stands in for the trainer
    for run_id, pid, start, gpus in (("20260101-000000-aaaaaa", me.pid, me.start_time, [0]),
                                     ("20260101-000001-bbbbbb", me.pid, me.start_time, [1]),
                                     ("20260101-000002-cccccc", me.pid, me.start_time + 1000, [0])):  # pid reused
        save_record(ws, RunRecord(run_id=run_id, output_path=str(tmp_path / "out"), config={}, command=[], pid=pid,
                                  process_start_time=start, started_at=start, gpus=gpus))
    assert training_runs_on_gpu(ws, 0) == ["20260101-000000-aaaaaa"]
    assert training_runs_on_gpu(ws, 1) == ["20260101-000001-bbbbbb"]
    assert training_runs_on_gpu(ws, 2) == []
