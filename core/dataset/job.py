"""The dataset-making job: `python -m core.dataset.job <job folder>`, started by `start_make_dataset`."""
from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from core.dataset.create import CreateRequest, check_request, make_dataset
from core.jobs.files import JobRecord
from core.jobs.launcher import start_job
from core.jobs.worker import JobContext, run_job
from core.base.workspace import Workspace

KIND = "make_dataset"


def start_make_dataset(ws: Workspace, request: CreateRequest) -> JobRecord:
    """Check the request (ConfigInvalid on bad input, nothing started), then launch the job."""
    check_request(request)
    params = asdict(request)
    params["models_dir"] = str(ws.models_dir)
    return start_job(ws, kind=KIND, module="core.dataset.job", target=Path(request.output_dir).expanduser().resolve(),
                     params=params)


def _body(context: JobContext) -> dict:
    params = dict(context.record.params)
    models_dir = Path(params.pop("models_dir"))
    request = CreateRequest.from_dict(params)
    target = Path(context.record.target)
    partial = target.parent / f".{target.name}.partial-{context.record.job_id}"

    def transcriber():
        from core.dataset.transcribe import Transcriber, resolve_model

        folder = resolve_model(size=request.whisper_size, models_dir=models_dir, local_dir=request.whisper_local_dir)
        context.log(f"Whisper model: {folder}")
        return Transcriber(folder)

    def progress(done: int, total: int, message: str) -> None:
        context.log(message)
        context.progress(done, total, message)

    result = make_dataset(request, partial_dir=partial, transcriber_factory=transcriber, progress=progress)
    context.progress(result.recordings, result.recordings, "done", force=True)
    context.log(f"{result.clips} clips ({result.eval_clips} for evaluation), {result.total_s / 60:.1f} min, in {result.output_dir}")
    return asdict(result)


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1], _body))
