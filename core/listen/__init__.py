"""Listen and choose: samples synthesised from any checkpoint, their scores, and a recommended checkpoint.

`speaker_similarity` embeds samples and references with one fixed XTTS speaker encoder (the base
model's, or for the demo one checkpoint's) and compares them by cosine; `intelligibility` is the
character error rate of a sample's Whisper transcript against its text; `sanity` measures duration
per character against the dataset's speaking rate, silence and clipping; `scores` puts the three
together per sample and per checkpoint; `recommend` picks a checkpoint per run and says why.
Scoring modules import torch, TTS and faster_whisper only inside functions: the pages stay light.

Synthesis: `synthesis` checks a request (checkpoints x sentences, references, language, sampling
settings), answers it from the cache or starts the detached synthesis job (`synthesis_job`, core.jobs)
for what is missing; `loader` loads any listed model file into coqui's Xtts reading only the
inference weights (mmap, parameters assigned, DVAE and optimizer state never read); `model_files`
finds the config, vocabulary, text rules and reference beside a model file; `samples` is the cache
(a WAV and a JSON per sample, filed by checkpoint content) with its orphan cleanup; `fingerprint`
hashes a checkpoint by its zip directory in microseconds; `sampling` is the frozen sampling settings
and seed of a comparison; `sentences` (with `sentence_defaults`) the per-language test sentences and
their limits. Only `loader` and `synthesis_job` import torch and coqui, inside functions.
The job scores each sample as it makes it; `score_files` keeps those scores beside the sample and
reads them back for the page; `preferences` records blind A/B picks per run and tallies them;
`choices` says what the view offers beside checkpoints (the base model's weights, the run's training clips).

May import: core.base, core.registry, core.jobs, core.language, core.dataset, core.checkpoints and
core.trainer.
"""
