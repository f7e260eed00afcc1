"""Watching a run: TensorBoard event files, loss curves, the log tail, system load, TensorBoard itself.

Readers here work incrementally (from the last offset) and keep bounded memory, so a live page
costs little per refresh.

May import: base modules, core.registry and core.checkpoints (for file names).
"""
