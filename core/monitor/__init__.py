"""Watching a run: TensorBoard event files (scalars and audio), loss curves, the test sentences to
listen to, the overfitting watch, the log tail, system load, TensorBoard itself.

Readers here work incrementally (from the last offset) and keep bounded memory, so a live page
costs little per refresh.

May import: core.base, core.registry and core.checkpoints (for file names).
"""
