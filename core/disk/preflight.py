"""The disk check before a launch: the same forecast as the Disk page, refusing what won't fit."""
from __future__ import annotations

from core.disk.plan import DiskPlan
from core.disk.planner import plan_run
from core.errors import LaunchRefused
from core.trainer.preflight import PreflightResult


class DiskWontFit(LaunchRefused):
    """The forecast peak is larger than the free space; carries the plan for the UI."""

    def __init__(self, plan: DiskPlan):
        self.plan = plan
        gb = 1e9
        fixes = "; ".join(plan.fixes) or "free some space or choose another output path"
        super().__init__(
            f"the run needs about {plan.total_bytes / gb:.2f} GB at its peak (step {plan.peak_step}) but only "
            f"{(plan.free_bytes or 0) / gb:.2f} GB are free at {plan.free_path}. To make it fit: {fixes}. "
            "Or start anyway with the disk override.")


def check_disk(checked: PreflightResult, *, override: bool = False) -> DiskPlan:
    """The plan; raises DiskWontFit when the peak exceeds free space and there is no override."""
    plan = plan_run(checked.config, base=checked.base, steps_per_epoch=checked.steps_per_epoch, train=checked.train)
    if not plan.fits and plan.free_bytes is not None and not override:
        raise DiskWontFit(plan)
    return plan
