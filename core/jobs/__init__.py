"""Background jobs other than training (making a dataset, ...): detached, stoppable, from disk.

`files` names a job's files and holds its record; `launcher` starts a job as a detached process
group that outlives the dashboard (one job per target folder, an flock the job holds) and stops it
with SIGINT; `state` reads what a job is doing from its files and the process table; `worker` is
the job process's side: progress with ETA, the outcome, a clean exit on SIGINT. A job's code lives
in the package it serves and is started as `python -m <module> <job folder>`.

May import: core.base and core.registry.
"""
