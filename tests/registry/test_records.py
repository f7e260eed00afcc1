"""Run records on real files: the record round trip, malformed records, run ids, file names, the log tail."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from core.base.config import RunConfig
from core.registry.records import (
    RunFiles,
    RunRecord,
    last_log_lines,
    list_run_ids,
    load_record,
    run_config,
    run_files,
    save_record,
)


def make_record(run_id: str = "20260101-120000-abcdef", **changes) -> RunRecord:
    config = RunConfig(epochs=3, output_path="/tmp/out", run_name="rec")
    values = dict(run_id=run_id, output_path="/tmp/out", config=config.to_dict(), command=["python", "-m", "x"],
                  pid=4321, process_start_time=1_700_000_000.25, started_at=1_700_000_001.5, mode="continue",
                  resume_from="/tmp/out/run/training/GPT-x", trainer_run_name=f"rec-{run_id}",
                  env_overrides={"CUDA_VISIBLE_DEVICES": "1"}, world_size=2, gpus=[0, 1])
    values.update(changes)
    return RunRecord(**values)


def write_raw_record(ws, run_id: str, text: str) -> None:
    folder = ws.runs_dir / run_id
    folder.mkdir(parents=True)
    (folder / "record.json").write_text(text)


def test_record_round_trip_keeps_every_field(workspace):
    record = make_record()
    save_record(workspace, record)
    loaded = load_record(workspace, record.run_id)
    assert loaded == record
    assert loaded.identity.pid == 4321 and loaded.identity.start_time == 1_700_000_000.25
    on_disk = json.loads((workspace.runs_dir / record.run_id / "record.json").read_text())
    assert on_disk["gpus"] == [0, 1] and on_disk["version"] == 1


def test_missing_record_reads_none(workspace):
    assert load_record(workspace, "no-such-run") is None


@pytest.mark.parametrize("text", [
    "",                                    # empty file
    "{not json",                           # cut off mid-write by another tool
    "[1, 2, 3]",                           # JSON, but not an object
    '{"run_id": "x"}',                     # required keys missing
    json.dumps({**asdict(make_record()), "surprise": 1}),   # a key this version does not know
    json.dumps({**asdict(make_record()), "pid": "4321"}),   # pid as text
    json.dumps({**asdict(make_record()), "pid": 0}),        # no process has pid 0
    json.dumps({**asdict(make_record()), "pid": -5}),
    json.dumps({**asdict(make_record()), "process_start_time": "yesterday"}),
])
def test_malformed_record_reads_none(workspace, text):
    write_raw_record(workspace, "bad", text)
    assert load_record(workspace, "bad") is None


@pytest.mark.parametrize("changes", [{"pid": True}, {"process_start_time": float("nan")},
                                     {"process_start_time": float("inf")}, {"process_start_time": True}])
def test_record_with_a_bool_pid_or_non_finite_start_time_reads_none(workspace, changes):
    write_raw_record(workspace, "odd", json.dumps({**asdict(make_record()), **changes}))
    assert load_record(workspace, "odd") is None


def test_list_run_ids_newest_first_and_only_folders_with_a_record(workspace):
    ids = ["20260101-120000-aaaaaa", "20260301-090000-bbbbbb", "20260201-235959-cccccc", "20260301-090000-000000"]
    for run_id in ids:
        save_record(workspace, make_record(run_id))
    (workspace.runs_dir / "20991231-000000-nofile").mkdir()  # prepared (launch.json only) or half-removed
    (workspace.runs_dir / "20991231-000000-nofile" / "launch.json").write_text("{}")
    (workspace.runs_dir / "stray.txt").write_text("not a run")
    assert list_run_ids(workspace) == ["20260301-090000-bbbbbb", "20260301-090000-000000",
                                       "20260201-235959-cccccc", "20260101-120000-aaaaaa"]


def test_list_run_ids_without_a_runs_folder(tmp_path):
    from core.base.workspace import Workspace

    ws = Workspace(root=tmp_path / "never-created")
    assert list_run_ids(ws) == []


def test_run_files_names(workspace):
    files = run_files(workspace, "r1")
    assert files == RunFiles(workspace.runs_dir / "r1")
    names = {
        files.record: "record.json", files.status: "status.json", files.outcome: "outcome.json",
        files.stop: "stop.json", files.launch: "launch.json", files.disk_samples: "disk_samples.jsonl",
        files.log(): "train.log", files.log(0): "train.log", files.log(1): "train.rank1.log",
        files.log(3): "train.rank3.log",
    }
    for path, name in names.items():
        assert path.parent == workspace.runs_dir / "r1"
        assert path.name == name


def test_last_log_lines_strips_colour_codes(workspace):
    files = run_files(workspace, "r1")
    files.folder.mkdir(parents=True)
    files.log().write_bytes(b"\x1b[1m > EPOCH: 0/4\x1b[0m\n"
                            b"   --> STEP: 7/60 -- \x1b[32mloss: 0.5\x1b[0m\n"
                            b"\x1b[4m\x1b[1m > EVALUATION \x1b[0m\n")
    assert last_log_lines(workspace, "r1") == [" > EPOCH: 0/4", "   --> STEP: 7/60 -- loss: 0.5", " > EVALUATION "]
    assert last_log_lines(workspace, "r1", count=1) == [" > EVALUATION "]


def test_last_log_lines_reads_only_the_tail(workspace):
    files = run_files(workspace, "r1")
    files.folder.mkdir(parents=True)
    lines = [f"line {i:05d}" for i in range(20_000)]  # 11 bytes a line with its newline
    files.log().write_text("\n".join(lines) + "\n")
    tail = last_log_lines(workspace, "r1", count=10_000, max_bytes=110)
    # 110 bytes hold exactly the last 10 lines: nothing from before the tail is read.
    assert tail == lines[-10:]
    partial = last_log_lines(workspace, "r1", count=10_000, max_bytes=115)
    assert partial[1:] == lines[-10:] and partial[0] == lines[-11][-4:]  # the cut line comes back cut


def test_last_log_lines_of_another_rank_and_of_a_missing_log(workspace):
    files = run_files(workspace, "r1")
    files.folder.mkdir(parents=True)
    files.log(2).write_text("rank two says hello\n")
    assert last_log_lines(workspace, "r1") == []
    assert last_log_lines(workspace, "r1", rank=2) == ["rank two says hello"]
    assert last_log_lines(workspace, "missing") == []


def test_last_log_lines_survives_bytes_that_are_not_utf8(workspace):
    files = run_files(workspace, "r1")
    files.folder.mkdir(parents=True)
    files.log().write_bytes(b"ok\n\xff\xfe broken\n")
    assert last_log_lines(workspace, "r1") == ["ok", "\ufffd\ufffd broken"]


def test_run_config_returns_the_recorded_config(workspace):
    record = make_record()
    save_record(workspace, record)
    config = run_config(workspace, record.run_id)
    assert isinstance(config, RunConfig)
    assert config == RunConfig(epochs=3, output_path="/tmp/out", run_name="rec")


def test_run_config_of_an_unreadable_record_raises_value_error(workspace):
    write_raw_record(workspace, "bad", "{")
    with pytest.raises(ValueError, match="no readable record"):
        run_config(workspace, "bad")
