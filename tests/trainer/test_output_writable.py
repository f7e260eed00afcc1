"""An output path where no file can be created is refused as "not writable", before the disk check.

Root passes os.access everywhere, and /proc reports 0 bytes free: without a real try, the launch blamed disk space.
"""
import pytest

from core.base.errors import ConfigInvalid
from core.runs.launcher import start_run
from core.trainer.demo import demo_config
from core.trainer.preflight import preflight


@pytest.mark.parametrize("output", ["/proc/xtts-dashboard-out", "/proc/xtts-dashboard-out/deeper", "/sys/xtts-out"])
def test_launch_says_not_writable_with_the_fix_and_not_disk_space(workspace, demo_workspace, output):
    config = demo_config(workspace, demo_workspace[1]).with_changes(output_path=output)
    with pytest.raises(ConfigInvalid) as refused:
        start_run(workspace, config)  # no disk override: the disk check would refuse too, but later
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("output_path", f"/{output.split('/')[1]} is not writable; choose a folder you can write to")]
    assert list(workspace.runs_dir.iterdir()) == []


def test_a_writable_folder_passes_and_keeps_no_probe_file(tmp_path, workspace, demo_workspace):
    out = tmp_path / "out"
    out.mkdir()
    preflight(demo_config(workspace, demo_workspace[1]).with_changes(output_path=str(out / "new" / "run")))
    assert list(out.iterdir()) == []  # the probe file had no name, or was removed
