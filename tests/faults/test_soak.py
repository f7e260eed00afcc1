"""The kill-and-continue soak, short: a mid-save kill, a continue to the end, no complete checkpoint lost.

The full soak (`make soak`, benchmarks/soak_kill.py) runs 20+ cycles at keep=1 and keep=3; kills at other
moments are in test_kill_during_checkpoint_write.py. Two cycles keep this one inside the suite's time.
"""
from __future__ import annotations

import importlib.util
import random
import shutil
import sys
from pathlib import Path

from core.base.workspace import Workspace

# By path: an unrelated `benchmarks` package in site-packages shadows the project's folder.
_SPEC = importlib.util.spec_from_file_location("soak_kill", Path(__file__).resolve().parents[2] / "benchmarks" / "soak_kill.py")
soak_kill = sys.modules.setdefault("soak_kill", importlib.util.module_from_spec(_SPEC))
_SPEC.loader.exec_module(soak_kill)


def test_a_kill_and_continue_cycle_loses_no_complete_checkpoint(tmp_path, demo_workspace):
    ws = Workspace.at(tmp_path / "soakws")
    # The demo files come from the session's workspace: no 18 s rebuild.
    shutil.copytree(demo_workspace[0].demo_dir, ws.demo_dir)
    soak = soak_kill.Soak(ws, keep=1, rng=random.Random(7))
    soak.run(epochs=2, save_step=100, max_cycles=2, mid_save_share=1.0, sigint_share=0.0, want_mid_save=1)
    assert soak.cycles == 2 and soak.mid_save_kills >= 1
    assert soak.good_lost == []
    assert soak.continues == 1 and soak.continued_from_intact == soak.continues
    assert soak.final_step >= soak.planned_steps  # the last cycle ran to the end
