"""The runs overview: every run of the workspace as one row, compared, sorted, continued or deleted.

`rows` builds a run's `RunRow` from its record, status and outcome (phase, base model, dataset,
steps, duration, best loss, disk used now, its ready/ bundle); `datasets` sums a metadata CSV's
clips and hours once per CSV version; `reader` keeps the rows cached by file stamps so a page
rerun reads only runs whose files changed; `table` filters, sorts and finds the settings that
differ between runs (named by their labels); `deletion` removes a run's folders, never while it
trains; `continue_request` gathers what continuing a run needs (the page starts it through
core.runs). The Runs page and `python -m core.cli list` both read rows from here.

May import: core.base, core.registry, core.checkpoints, core.trainer and core.disk; never
core.runs or core.monitor (the pages and the CLI sit above it).
"""
