"""The disk check before a launch: the same forecast as the Disk page, refusing what won't fit."""
from __future__ import annotations

from core.disk.plan import DiskPlan
from core.disk.planner import plan_preflighted
from core.base.errors import LaunchRefused
from core.trainer.preflight import PreflightResult


class DiskWontFit(LaunchRefused):
    """The forecast peak is larger than the free space; carries the plan for the UI."""

    def __init__(self, plan: DiskPlan):
        self.plan = plan
        gb = 1e9
        super().__init__(
            f"the run needs about {plan.total_bytes / gb:.2f} GB at its peak (step {plan.peak_step}) but only "
            f"{(plan.free_bytes or 0) / gb:.2f} GB are free at {plan.free_path}. {fix_sentence(plan.fixes)} "
            "Or start anyway with the disk override (\"Start even if the disk forecast says it will not fit\" "
            "on the Train page, --disk-override in the CLI).")

    def __reduce__(self):  # rebuilt from its plan when it crosses a process line (core.offload)
        return type(self), (self.plan,)


def fix_sentence(fixes: tuple[str, ...]) -> str:
    """The plan's fixes as one sentence: "To make it fit, keep 1 checkpoint(s): ...; or free 1.62 GB on that disk."."""
    # plan.fixes lists alternatives and words the last one "or free ..."; the sentence adds its own "or".
    items = [fix.removeprefix("or ").strip() for fix in fixes] or ["free some space or choose another output path"]
    choices = items[0] if len(items) == 1 else "; ".join(items[:-1]) + "; or " + items[-1]
    return f"To make it fit, {choices}."


def check_disk(checked: PreflightResult, *, override: bool = False) -> DiskPlan:
    """The plan; raises DiskWontFit when the peak exceeds free space and there is no override."""
    plan = plan_preflighted(checked)
    if not plan.fits and plan.free_bytes is not None and not override:
        raise DiskWontFit(plan)
    return plan
