"""Start refuses a run whose forecast peak does not fit in the output path's free space."""
import subprocess

import pytest

from core.disk.preflight import DiskWontFit
from core.runs.launcher import start_run
from core.trainer.demo import demo_config


@pytest.fixture
def small_filesystem(tmp_path):
    """A real 300 MB file system (tmpfs), far smaller than the demo run's ~1.6 GB peak."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_start_is_refused_with_the_numbers_and_a_fix(workspace, demo_workspace, small_filesystem):
    config = demo_config(workspace, demo_workspace[1]).with_changes(output_path=str(small_filesystem / "out"))
    with pytest.raises(DiskWontFit) as refused:
        start_run(workspace, config)
    plan = refused.value.plan
    assert not plan.fits and plan.free_bytes <= 300 * 2**20 < plan.peak_bytes
    message = str(refused.value)
    assert "GB at its peak" in message and str(small_filesystem) in message and "override" in message
    assert list(workspace.runs_dir.iterdir()) == [] and not (small_filesystem / "out").exists()


def test_the_planner_cli_reports_the_same_verdict(demo_workspace, small_filesystem):
    import json
    import sys

    result = subprocess.run([sys.executable, "-m", "core.disk", "--base", "demo", "--workspace",
                             str(demo_workspace[0].root), "--save-step", "100", "--keep", "2", "--steps", "240",
                             "--output", str(small_filesystem), "--json"], capture_output=True, text=True, timeout=300)
    plan = json.loads(result.stdout)
    assert plan["fits"] is False and result.returncode == 1
    assert all(isinstance(plan[k], int) for k in ("checkpoint_bytes", "best_copy_bytes", "peak_bytes", "final_bytes", "free_bytes"))
