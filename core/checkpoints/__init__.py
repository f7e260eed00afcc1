"""Checkpoint files: where they are, what is in them, and what may be done to them.

`layout` is the only module that knows the trainer's and our folder and file names; `files`
reads a checkpoint's metadata and integrity without loading its tensors; `ops` promotes,
optimizes and deletes without ever leaving half a file; `retention` keeps best-K and milestone
copies in kept/; `resume` finds intact resume points; `gallery` lists every model file of the
workspace; `leftovers` sweeps temp files of interrupted writes at dashboard start.

May import: base modules and core.registry.
"""
