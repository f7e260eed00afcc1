"""core.offload: heavy calls in worker processes, their errors, deaths, timeouts, progress and disk caches."""
import os
import pickle
import signal

import pytest

from core import offload
from core.checkpoints.files import CheckpointError
from core.base.errors import ConfigInvalid, FieldError
from core.offload.progress import ProgressFile
from core.registry.output_lock import OutputBusy


@pytest.fixture(autouse=True, scope="module")
def stop_workers_after():
    yield
    offload.shutdown()


def test_a_call_runs_in_another_process_and_returns_its_value():
    assert offload.call("os:getpid") != os.getpid()
    assert offload.call("math:hypot", 3, 4) == 5.0


def test_a_warm_worker_is_reused():
    offload.call("core.offload.worker:preload")
    assert offload.answered_once()
    assert offload.call("os:getpid") == offload.call("os:getpid")


@pytest.mark.parametrize("error", [
    ConfigInvalid([FieldError("save_step", "must be 100 to 5000"), FieldError("epochs", "must be at least 1")]),
    CheckpointError("checkpoint_100.pth is cut off.", "Pick another checkpoint."),
    OutputBusy("/tmp/out", "20260101-000000-abcdef"),
])
def test_our_errors_come_back_as_themselves_with_their_fix(error):
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    with pytest.raises(type(error)) as raised:
        offload.call("tests.offload.test_pool:raise_it", error)
    assert str(raised.value) == str(error)
    if isinstance(error, ConfigInvalid):
        assert [e.field for e in raised.value.errors] == ["save_step", "epochs"]


def raise_it(error):
    raise error


class Unpicklable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


def raise_unpicklable():
    raise Unpicklable("one", "two")


def test_an_error_that_cannot_travel_comes_back_as_its_type_and_message():
    with pytest.raises(offload.OffloadError, match="Unpicklable: one and two"):
        offload.call("tests.offload.test_pool:raise_unpicklable")


def test_a_worker_that_dies_is_reported_and_the_next_call_gets_a_new_one():
    pid = offload.call("os:getpid")
    with pytest.raises(offload.WorkerDied, match="stopped while working on kill"):
        offload.call("os:kill", pid, signal.SIGKILL)
    assert offload.call("os:getpid") not in (pid, os.getpid())


def test_a_worker_that_hangs_is_stopped_after_its_timeout():
    with pytest.raises(offload.WorkerTimedOut, match="took over 1 s on sleep"):
        offload.call("time:sleep", 30, timeout_s=1)
    assert offload.call("math:sqrt", 9) == 3.0


def test_what_the_called_code_prints_goes_to_the_log_not_into_the_answer(tmp_path):
    assert offload.call("builtins:print", "hello from the worker", cache_root=tmp_path) is None
    offload.shutdown()  # the log is flushed when the worker ends
    assert "hello from the worker" in (tmp_path / "offload-worker.log").read_text()


def test_progress_travels_back_through_a_file(tmp_path):
    progress = ProgressFile(tmp_path / "progress", every_s=0)
    offload.call("tests.offload.test_pool:count_to", 5, progress=progress)
    assert progress.read() == (5, 5)


def count_to(n, *, progress):
    for i in range(1, n + 1):
        progress(i, n)


def test_checkpoint_metadata_is_kept_on_disk_for_the_next_worker(demo_run, tmp_path):
    checkpoint = next(demo_run.run_folder.glob("checkpoint_*.pth"))
    first = offload.call("core.checkpoints.files:read_checkpoint_info", checkpoint, cache_root=tmp_path)
    assert first.is_complete and first.step
    [cached] = list((tmp_path / "checkpoint-info").glob("*.json"))
    offload.shutdown()
    # A new worker answers from the file: the same info, even with the unpickler made unusable there.
    again = offload.call("tests.offload.test_pool:info_without_unpickling", checkpoint, cache_root=tmp_path)
    assert again == first
    cached.unlink()
    with pytest.raises(RuntimeError, match="unpickler was called"):
        offload.call("tests.offload.test_pool:info_without_unpickling", checkpoint, cache_root=tmp_path)


def info_without_unpickling(path):
    from core.checkpoints import files, torch_zip

    def refuse(*_args, **_kwargs):
        raise RuntimeError("the unpickler was called")

    torch_zip.unpickle_skeleton = refuse
    files.clear_info_cache()  # the memory cache: the disk one stays as the worker set it up
    return files.read_checkpoint_info(path)


def test_what_a_worker_starts_takes_sigint_as_a_training_run_must():
    # A training run started from a worker (Start on the Train page) is stopped with SIGINT: the
    # worker must not hand down an ignored SIGINT.
    assert offload.call("signal:getsignal", signal.SIGINT) is signal.default_int_handler
