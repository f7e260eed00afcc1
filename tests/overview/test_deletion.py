"""Deleting a run on real files: what goes, what stays and why, the bytes freed, and every refusal."""
from __future__ import annotations

import json
import os

import pytest

from core.base.atomic_io import write_json_atomic
from core.overview.continue_request import continue_request
from core.overview.deletion import RunActionRefused, delete_run, plan_run_deletion
from core.registry.output_lock import try_lock_output
from core.registry.records import list_run_ids
from core.base.workspace import Workspace
from tests.overview.fake_runs import ended_identity, fake_run, three_runs


@pytest.fixture
def runs(tmp_path):
    return three_runs(Workspace.at(tmp_path / "ws"))


def tree_bytes(*folders) -> int:
    """Every file once (by inode), as `du` counts."""
    seen, total = set(), 0
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            for name in names:
                st = os.lstat(os.path.join(root, name))
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


def test_a_finished_run_goes_with_its_trainer_folder_and_its_own_ready(runs):
    run = runs.finished
    expected = tree_bytes(run.files.folder, run.folder, run.output / "ready")
    plan = plan_run_deletion(runs.ws, run.run_id)
    assert plan.folders == (run.folder, run.output / "ready", run.files.folder)
    assert plan.bytes_freed == expected and plan.kept == ()
    deleted = delete_run(runs.ws, run.run_id)
    assert deleted.bytes_freed == expected
    assert not run.files.folder.exists() and not run.folder.exists() and not (run.output / "ready").exists()
    assert not (run.output / "run").exists()  # emptied run/training/ and run/ go too; the output folder stays
    assert run.output.is_dir() and run.run_id not in list_run_ids(runs.ws)
    assert runs.failed.folder.is_dir() and runs.failed.files.folder.is_dir()  # the others are untouched


def test_a_running_run_is_refused_and_nothing_is_removed(runs):
    run = runs.running
    with pytest.raises(RunActionRefused, match="is running; a run is never deleted while it trains") as refused:
        delete_run(runs.ws, run.run_id)
    assert "Stop it first" in refused.value.fix and f"core.cli stop {run.run_id}" in refused.value.fix
    with pytest.raises(RunActionRefused):
        plan_run_deletion(runs.ws, run.run_id)
    assert run.folder.is_dir() and run.files.record.is_file()


def test_another_run_training_in_the_output_folder_holds_it(runs):
    lock = try_lock_output(runs.failed.output, "20260101-130000-ffffff")  # as a training process holds it
    try:
        with pytest.raises(RunActionRefused, match="run 20260101-130000-ffffff is training in"):
            delete_run(runs.ws, runs.failed.run_id)
    finally:
        lock.release()
    assert runs.failed.folder.is_dir()
    delete_run(runs.ws, runs.failed.run_id)
    assert not runs.failed.folder.exists()


def test_ready_is_kept_while_another_run_uses_the_output_folder(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    first = fake_run(ws, "20260101-100000-aaaaaa", ended_identity(), output_name="shared")
    second = fake_run(ws, "20260101-110000-bbbbbb", ended_identity(), output_name="shared")
    plan = plan_run_deletion(ws, first.run_id)
    assert plan.ready_folder is None
    assert plan.kept == (f"{first.output / 'ready'} is kept: run {second.run_id} also uses this output folder.",)
    delete_run(ws, first.run_id)
    assert (first.output / "ready").is_dir() and second.folder.is_dir() and not first.folder.exists()
    assert delete_run(ws, second.run_id).removed[1] == second.output / "ready"  # now the last user: it goes


def test_a_trainer_folder_a_continue_trains_in_is_kept(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    original = fake_run(ws, "20260101-100000-aaaaaa", ended_identity())
    resumed = fake_run(ws, "20260101-110000-bbbbbb", ended_identity(), mode="continue", resume_from=str(original.folder),
                       status_folder=original.folder, ready=False)
    plan = plan_run_deletion(ws, original.run_id)
    assert plan.trainer_folders == () and plan.ready_folder is None
    assert f"{original.folder} is kept: run {resumed.run_id} trains or continues in it too." in plan.kept
    delete_run(ws, original.run_id)
    assert original.folder.is_dir()
    assert delete_run(ws, resumed.run_id).removed[0] == original.folder  # the last run that used it
    assert not original.folder.exists()


def test_a_status_pointing_outside_the_trainer_folders_is_left_alone(runs, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    status = runs.failed.files.status
    write_json_atomic(status, {**json.loads(status.read_text()), "trainer_run_folder": str(precious)})
    plan = plan_run_deletion(runs.ws, runs.failed.run_id)
    assert precious not in plan.folders and any("left alone" in k for k in plan.kept)
    delete_run(runs.ws, runs.failed.run_id)
    assert (precious / "keep.txt").read_text() == "mine"


def test_folders_outside_the_workspace_roots_are_refused(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    run = fake_run(ws, "20260101-100000-aaaaaa", ended_identity(), output_name="../../elsewhere")  # a CLI run
    with pytest.raises(RunActionRefused, match="outside the workspace roots") as refused:
        delete_run(ws, run.run_id)
    assert "XTTS_EXTRA_ROOTS" in refused.value.fix
    assert run.folder.is_dir() and run.files.record.is_file()
    wider = Workspace.at(ws.root, extra_roots=(tmp_path / "elsewhere",))
    delete_run(wider, run.run_id)
    assert not run.folder.exists()


def test_an_unknown_run_is_refused_with_where_to_look(runs):
    for run_id in ("no-such-run", "..", "../ws"):
        with pytest.raises(RunActionRefused, match="There is no run") as refused:
            delete_run(runs.ws, run_id)
        assert "core.cli list" in refused.value.fix


def test_continue_asks_for_an_intact_checkpoint_and_an_ended_run(runs):
    with pytest.raises(RunActionRefused, match="is still running"):
        continue_request(runs.ws, runs.running.run_id)
    with pytest.raises(RunActionRefused, match="no intact checkpoint to continue from") as refused:
        continue_request(runs.ws, runs.finished.run_id)  # fake checkpoints are not zip files
    assert "Train page" in refused.value.fix


def test_continue_request_of_the_real_demo_run(demo_run):
    request = continue_request(demo_run.ws, demo_run.record.run_id)
    assert request.resume_from == str(demo_run.run_folder) and request.config == demo_run.config
    assert request.newest_checkpoint.parent == demo_run.run_folder and request.world_size == 1
