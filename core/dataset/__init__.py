"""Datasets: from recordings to a coqui-format dataset, and the check before training.

`audio` decodes every accepted format and writes clips; `segment` cuts long recordings at pauses
(Silero VAD, word timestamps where there are some); `loudness` normalises clips and finds clipping;
`transcribe` runs faster-whisper on a local or downloaded model; `split` makes the deterministic,
speaker-aware eval split; `create` is the whole pipeline, run as a background job (`job`);
`check` builds the report on any metadata CSV (cached by file stamps) and `edit` fixes rows in
place (atomic, with a backup).

May import: core.base and core.registry.
"""
