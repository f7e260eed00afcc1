"""What continuing one run needs: its recorded settings, its own trainer folder and its ranks.

The Train page's Continue resumes the newest run folder of the form's output path; from the Runs
page the user points at one run, so this resumes that run's folder (the one its status names), even
when a later run of the same output path exists. The page starts it with
core.runs.launcher.start_run(mode="continue"), which runs every launch check (disk included).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.checkpoints.resume import intact_checkpoints
from core.base.config import RunConfig, validate_config
from core.base.errors import ConfigInvalid
from core.overview.deletion import RunActionRefused
from core.registry.state import read_run_state
from core.base.workspace import Workspace


@dataclass(frozen=True)
class ContinueRequest:
    run_id: str
    config: RunConfig  # as recorded when the run was launched
    resume_from: str  # the run's trainer folder
    newest_checkpoint: Path  # what the trainer will resume from
    world_size: int
    gpus: tuple[int, ...]


def continue_request(ws: Workspace, run_id: str) -> ContinueRequest:
    """The run's settings and resume point; RunActionRefused when it trains or saved nothing intact."""
    state = read_run_state(ws, run_id)
    record = state.record
    if record is None:
        raise RunActionRefused(f"Run {run_id} has no readable record, so its settings are unknown.",
                               "Start a new run from the Train page.")
    if state.phase.is_live:
        raise RunActionRefused(f"Run {run_id} is still {state.phase.value}.", "Continue it once it has ended.")
    folder = state.status.run_folder or (Path(record.resume_from) if record.mode == "continue" and record.resume_from
                                         else None)
    intact = intact_checkpoints(folder) if folder is not None and folder.is_dir() else []
    if not intact:
        raise RunActionRefused(f"Run {run_id} has no intact checkpoint to continue from"
                               + (f" in {folder}." if folder else " (the trainer never made its folder)."),
                               "Start a new run with its settings from the Train page.")
    try:
        config = validate_config(record.config)
    except ConfigInvalid as exc:
        raise RunActionRefused(f"Run {run_id}'s recorded settings are no longer valid: {exc}.",
                               "Start it from the Train page, where the settings can be corrected.") from None
    return ContinueRequest(run_id, config, str(folder), intact[0], record.world_size, tuple(record.gpus))
