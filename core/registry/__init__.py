"""The run registry: what was launched and what it is doing, read from disk.

Holds run records (`records`: record.json, and the one place the run folder's file names are
spelled), the typed `RunStatus` the training process writes (`status`), the run state derived
from those files and the process table (`state`), process identity (pid + start time) and the
output-path lock. Low in the tree: disk, checkpoints and monitor read it.

May import: core.base only (config, errors, workspace, atomic_io, text).
"""
