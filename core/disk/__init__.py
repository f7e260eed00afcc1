"""Disk planning: how much a run will really take, before it starts and while it runs.

`checkpoint_size` computes a checkpoint's bytes from the architecture; `simulation` replays the
trainer's save sequence; `plan` turns it into a verdict with fixes; `planner.plan_run` is the one
entry point every caller uses (`page_inputs` resolves the Disk page's form, presets and a launched
run into its arguments; `preflight` refuses a launch that won't fit; `cli` is `python -m core.disk`).
`tracking` reads the disk history the training process writes.

May import: core.base, core.registry, core.checkpoints and core.trainer.
"""
