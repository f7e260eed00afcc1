"""The base layer every other package stands on: facts and helpers with no opinion about training.

`config` (every run setting with its label, range, default and help; validation), `languages` (the
language codes), `errors` (errors a user can fix, carrying the fix), `workspace` (where records,
demo assets and caches live; passed in, never read from the environment at import time) and
`workspace_settings` (what the dashboard remembers across restarts), `atomic_io` (small files
written atomically), `path_guard` (UI file operations stay inside the configured roots), `text`
(terminal codes stripped, durations in words), `machine` (a free port, free disk) and `devices`
(GPUs through one NVML pass, without torch).

May import: core.base only (nothing above it; torch and coqui never at import time).
"""
