"""Heavy work done outside the dashboard's UI process.

The Streamlit server must stay light (no torch, coqui-tts or trainer in it: they cost about a GB
of resident memory and seconds of every cold start), yet its pages need answers only those
libraries give: checkpoint metadata through torch's weights-only unpickler, architecture size
estimates, dataset checks with coqui's tokenizer, launching (its preflight reads checkpoints),
promote, optimize. `pool` runs such calls, named as "module:function" strings so the UI never
imports the module, in a small pool of worker processes of ours; `worker` is the workers' side
(it points their on-disk caches at the workspace). A worker that dies is reported as
`WorkerDied`, never waited on forever.

May import: core.base only (the targets are named, not imported).
"""
from core.offload.pool import OffloadError, WorkerDied, WorkerTimedOut, answered_once, call, shutdown, warm_up

__all__ = ["OffloadError", "WorkerDied", "WorkerTimedOut", "answered_once", "call", "shutdown", "warm_up"]
