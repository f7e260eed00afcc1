"""Checkpoint files: where they are, what is in them, and what may be done to them.

`layout` is the only module that knows the trainer's and our folder and file names; `files`
(with `torch_zip`) reads a checkpoint's metadata and integrity without loading its tensors; `ops`
promotes and optimizes without ever leaving half a file, `targets` refuses targets in the trainer's
reach, `deletion` deletes and counts what it really frees (hard links once); `ready_bundles` sets
an earlier ready/ bundle aside and writes each bundle's manifest; `retention` keeps best-K and
milestone copies in kept/; `resume` finds intact resume points and moves cut saves to incomplete/;
`gallery` lists every model file of the workspace; `leftovers` sweeps temp files of interrupted
writes at dashboard start.

May import: core.base and core.registry.
"""
