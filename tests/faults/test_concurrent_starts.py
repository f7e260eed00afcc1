"""Two Starts at the same moment, from two threads and from two processes, on one output path.

Exactly one run starts; the other is refused. The lock is free again once its holder is killed,
and SIGTERM (unlike the Stop button's SIGINT) ends the trainer without a save.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.base.errors import LaunchRefused
from core.runs.launcher import start_run, wait_until_ended
from core.registry.output_lock import output_holder
from core.registry.records import RunRecord, outcome_path
from core.registry.state import EXIT_INTERRUPTED, RunPhase, read_run_state
from core.trainer.demo import demo_config
from core.base.workspace import Workspace
from tests.conftest import wait_for

PROJECT = Path(__file__).resolve().parents[2]
# A second dashboard process: waits for the go file so both press Start together.
STARTER = """
import json, os, sys, time
from pathlib import Path
from core.base.config import RunConfig
from core.base.errors import LaunchRefused
from core.runs.launcher import start_run
from core.base.workspace import Workspace
ws, config = Workspace.at(sys.argv[1]), RunConfig(**json.loads(Path(sys.argv[2]).read_text()))
Path(sys.argv[3] + f".{os.getpid()}").touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.0005)
try:
    print("STARTED", start_run(ws, config).run_id, flush=True)
except LaunchRefused as refused:
    print("REFUSED", refused, flush=True)
"""


@dataclass
class Race:
    ws: Workspace
    started: list[RunRecord]
    refused: list[str]


def race_threads(ws: Workspace, config) -> Race:
    barrier = threading.Barrier(2)
    started, refused = [], []

    def press_start() -> None:
        barrier.wait()
        try:
            started.append(start_run(ws, config))
        except LaunchRefused as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=press_start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Race(ws, started, refused)


def race_processes(ws: Workspace, config, tmp: Path) -> Race:
    config_file, go = tmp / "config.json", tmp / "go"
    config_file.write_text(json.dumps(config.to_dict()))
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, str(ws.root), str(config_file), str(go)],
                              cwd=PROJECT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert wait_for(lambda: len(list(tmp.glob("go.*"))) == 2, 120), "starter processes did not come up"
    go.touch()
    lines = [p.communicate(timeout=120)[0].strip() for p in procs]
    from core.registry.records import load_record

    started = [load_record(ws, line.split()[1]) for line in lines if line.startswith("STARTED")]
    return Race(ws, started, [line for line in lines if line.startswith("REFUSED")])


def trainer_folder(ws: Workspace, run_id: str) -> Path:
    assert wait_for(lambda: read_run_state(ws, run_id).status.trainer_run_folder), \
        "\n".join(read_run_state(ws, run_id).last_lines)
    return Path(read_run_state(ws, run_id).status.trainer_run_folder)


@pytest.fixture(scope="module")
def races(tmp_path_factory, demo_workspace):
    tmp = tmp_path_factory.mktemp("race")
    ws = Workspace.at(tmp / "ws")
    config = demo_config(ws, demo_workspace[1]).with_changes(epochs=1, save_step=100)
    output = Path(config.output_path)

    by_threads = race_threads(ws, config)
    assert len(by_threads.started) == 1, by_threads.refused
    first = by_threads.started[0]
    first_folder = trainer_folder(ws, first.run_id)
    assert wait_for(lambda: read_run_state(ws, first.run_id).status.step >= 2)
    files_before_term = sorted(p.name for p in first_folder.iterdir())
    os.kill(first.pid, signal.SIGTERM)
    first_phase = wait_until_ended(ws, first.run_id, 60)
    first_files = sorted(p.name for p in first_folder.iterdir())
    assert wait_for(lambda: output_holder(output) is None, 30)

    by_processes = race_processes(ws, config, tmp)
    assert len(by_processes.started) == 1, by_processes.refused
    second = by_processes.started[0]
    second_folder = trainer_folder(ws, second.run_id)
    holder_while_running = output_holder(output)
    os.killpg(second.pid, signal.SIGKILL)
    assert wait_for(lambda: output_holder(output) is None, 30), "the lock outlived its SIGKILLed holder"
    second_phase = wait_until_ended(ws, second.run_id, 60)
    return dict(ws=ws, output=output, by_threads=by_threads, by_processes=by_processes,
                first=first, first_folder=first_folder, first_phase=first_phase,
                files_before_term=files_before_term, first_files=first_files,
                second=second, second_folder=second_folder, second_phase=second_phase,
                holder_while_running=holder_while_running)


def test_two_threads_pressing_start_together_start_exactly_one_run(races):
    race = races["by_threads"]
    assert len(race.started) == 1 and len(race.refused) == 1
    assert race.started[0].run_id in race.refused[0]


def test_two_processes_pressing_start_together_start_exactly_one_run(races):
    race = races["by_processes"]
    assert len(race.started) == 1 and len(race.refused) == 1
    assert race.started[0].run_id in race.refused[0]
    assert races["holder_while_running"] == race.started[0].run_id
    # Two launches in all, one record each: the refused ones wrote nothing.
    assert sorted(p.name for p in races["ws"].runs_dir.iterdir()) == sorted(
        [races["first"].run_id, races["second"].run_id])


def test_the_lock_is_free_after_its_holder_is_sigkilled_and_the_run_reads_failed(races):
    assert output_holder(races["output"]) is None
    assert races["second_phase"] is RunPhase.FAILED
    assert "killed or crashed" in read_run_state(races["ws"], races["second"].run_id).detail


def test_runs_of_one_output_path_never_share_a_trainer_run_folder(races):
    first, second = races["first"], races["second"]
    assert races["first_folder"] != races["second_folder"]
    assert races["first_folder"].parent == races["second_folder"].parent
    # The trainer names folders <run name>-<date to the minute>-<hash>; the run id in the run
    # name keeps two runs apart even when they start in the same minute.
    assert races["first_folder"].name.startswith(f"{first.trainer_run_name}-")
    assert races["second_folder"].name.startswith(f"{second.trainer_run_name}-")
    assert first.run_id in first.trainer_run_name and second.run_id in second.trainer_run_name
    assert first.run_id != second.run_id


def test_sigterm_ends_the_trainer_without_a_save(races):
    ws, first = races["ws"], races["first"]
    assert races["first_phase"] is RunPhase.FAILED
    state = read_run_state(ws, first.run_id)
    assert state.exit_code != EXIT_INTERRUPTED and not outcome_path(ws, first.run_id).exists()
    new = set(races["first_files"]) - set(races["files_before_term"])
    assert not [n for n in new if n.endswith(".pth")], f"SIGTERM made the trainer save: {new}"
    assert not list(races["first_folder"].glob("*.pth"))
