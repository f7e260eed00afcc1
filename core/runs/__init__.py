"""Launching and supervising training runs: processes that outlive the dashboard.

`launcher` starts, continues and stops runs; `train_process` is the detached training process
(`python -m core.runs.train_process <run folder>`), which alone writes status, outcome and disk
history through `status_reporter`; `rank_group` leads a multi-rank run; `distributed` is our own
gradient sync; `stopper` escalates a stop that SIGINT did not end; `overfit_watch` judges each
evaluation and stops a run that overfits (stop_on_overfit).

May import: everything below it (base, registry, notify, checkpoints, trainer, disk, and monitor for
the overfitting watch, which reads the run's own event files); nothing imports it but the CLI and
the pages.
"""
