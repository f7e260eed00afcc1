"""How big one training checkpoint is, computed from the architecture before any checkpoint exists.

The model is built on the meta device (no weights, no memory) from the same GPTTrainerConfig the
training process uses; the AdamW state the trainer saves is added per trainable parameter; then
the checkpoint dict is run through `torch.save` itself under `torch.serialization.skip_data`,
into a writer that only counts bytes. That way the zip layout (one 64-byte-aligned entry per
storage, local + central headers that grow with the entry name, zip64 records past 4 GB) and the
pickled config are exactly what torch writes, with no need to copy its format rules here.

Imports torch and TTS lazily: only callers that ask for a size pay for them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from core.base.atomic_io import read_json, write_json_atomic
from core.base.config import RunConfig
from core.trainer.base_model import BaseModelFiles
from core.trainer.gpt_config import GPT_SIZE_KEYS, build_gpt_trainer_config

# XTTS v2's real vocab.json holds 6681 text tokens; its other GPT sizes are GPTArgs' defaults.
XTTS_V2_TEXT_TOKENS = 6681
_BUILD_LOCK = threading.Lock()  # construction briefly patches two library globals


@dataclass(frozen=True)
class ArchitectureSpec:
    """What sizes the model: the base config's GPT size keys and the text vocabulary."""
    model_args: tuple[tuple[str, Any], ...] = ()  # sorted (key, value) pairs of GPT_SIZE_KEYS
    vocab_json: str = ""  # a real tokenizer file, or "" to use `text_tokens`
    text_tokens: int = XTTS_V2_TEXT_TOKENS
    label: str = "xtts_v2"


XTTS_V2_SPEC = ArchitectureSpec()


def spec_from_base(base: BaseModelFiles, vocab_path: str = "") -> ArchitectureSpec:
    """The architecture of a base-model folder (the demo or a local XTTS v2 copy)."""
    args = {k: v for k, v in base.model_args().items() if k in GPT_SIZE_KEYS}
    return ArchitectureSpec(tuple(sorted(args.items())), str(vocab_path or base.vocab_json), 0,
                            "demo" if base.is_demo else str(base.folder))


@dataclass(frozen=True)
class CheckpointSizes:
    """Bytes of every model file a run writes, for one architecture and run config."""
    checkpoint_bytes: int  # checkpoint_<step>.pth as torch.save writes it
    best_copy_bytes: int  # best_model_<step>.pth / best_model.pth (adds model_loss; same layout)
    model_state_bytes: int  # tensor data of model.state_dict()
    optimizer_state_bytes: int  # AdamW exp_avg + exp_avg_sq + step tensors
    dvae_state_bytes: int  # the part of the model state optimize() drops
    optimized_model_bytes: int  # ready/model.pth: no optimizer state, no dvae keys
    trainable_params: int
    tensor_records: int  # zip entries holding tensor data
    source: str = "architecture"  # or "measured"
    breakdown: tuple[tuple[str, int], ...] = field(default=())

    @property
    def overhead_bytes(self) -> int:
        """Zip headers and alignment, the pickled config and metadata."""
        return self.checkpoint_bytes - self.model_state_bytes - self.optimizer_state_bytes


class _CountingWriter(io.RawIOBase):
    """A seekable sink that keeps only the file length torch.save would produce."""

    def __init__(self) -> None:
        self.pos = 0
        self.end = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        self.pos += n
        self.end = max(self.end, self.pos)
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.end + offset
        return self.pos

    def tell(self) -> int:
        return self.pos


def saved_file_bytes(obj: Any) -> int:
    """Length of `torch.save(obj)` without writing (or reading) any tensor data."""
    import torch

    sink = _CountingWriter()
    with torch.serialization.skip_data():
        torch.save(obj, sink)
    return sink.end


class _Materializer:
    """Meta tensors -> CPU tensors on untouched storage, sharing kept.

    torch.save cannot size meta tensors (it pickles them without storage); untouched CPU pages
    cost no resident memory and skip_data never reads them.
    """

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.storages: dict[int, Any] = {}
        self.keep_alive: list[Any] = []  # a freed meta storage's address could be reused

    def __call__(self, t):
        torch = self.torch
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            return t
        meta_storage = t.untyped_storage()
        key = meta_storage._cdata
        self.keep_alive.append(t)
        if key not in self.storages:
            self.storages[key] = torch.empty(meta_storage.nbytes(), dtype=torch.uint8).untyped_storage()
        out = torch.empty(0, dtype=t.dtype)
        return out.set_(self.storages[key], t.storage_offset(), t.size(), t.stride())


def _unique_bytes(tensors) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s._cdata] = s.nbytes()
    return sum(seen.values())


def _write_standins(folder: Path, spec: ArchitectureSpec) -> BaseModelFiles:
    """Tiny files GPTTrainer insists on opening; none of them changes a tensor's shape."""
    import torch

    (folder / "config.json").write_text(json.dumps({"model": "xtts", "model_args": dict(spec.model_args)}))
    torch.save({}, folder / "dvae.pth")  # loaded with strict=False: shapes come from the class
    torch.save(torch.ones(80), folder / "mel_stats.pth")
    vocab = folder / "vocab.json"
    if spec.vocab_json:
        vocab = Path(spec.vocab_json)
    else:
        # A word-level tokenizer whose ids reach text_tokens - 1, as XTTS v2's vocab does.
        special = ["[STOP]", "[UNK]", "[SPACE]", "[START]"]
        ids = {tok: i for i, tok in enumerate(special + [f"t{i}" for i in range(spec.text_tokens - len(special))])}
        vocab.write_text(json.dumps({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
                                     "normalizer": None, "pre_tokenizer": None, "post_processor": None,
                                     "decoder": None, "model": {"type": "WordLevel", "vocab": ids,
                                                                "unk_token": "[UNK]"}}))
    return BaseModelFiles(folder, folder / "config.json", vocab, folder / "dvae.pth", folder / "mel_stats.pth",
                          None, None, True)


def _build_on_meta(gpt_config):
    """GPTTrainer on the meta device; two init-time value checks are moved off it."""
    import torch
    import torchaudio.functional as taf
    from torch.distributions import Distribution
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    original_fbanks = taf.melscale_fbanks
    original_validate = Distribution._validate_args

    def fbanks_on_cpu(*args, **kwargs):  # it calls .item() to warn about empty filters
        with torch.device("cpu"):
            return original_fbanks(*args, **kwargs)

    with _BUILD_LOCK:
        taf.melscale_fbanks = fbanks_on_cpu
        Distribution.set_default_validate_args(False)  # DVAE's Normal() validates its scale
        try:
            with torch.device("meta"):
                return GPTTrainer(gpt_config)
        finally:
            taf.melscale_fbanks = original_fbanks
            Distribution.set_default_validate_args(original_validate)


_size_cache_dir: Path | None = None


def use_size_cache(folder: Path | None) -> None:
    """Keep estimates in `folder` too (a workspace's cache): building the model on meta takes seconds."""
    global _size_cache_dir
    _size_cache_dir = folder


@lru_cache(maxsize=16)
def estimate_checkpoint_sizes(spec: ArchitectureSpec, config: RunConfig = RunConfig(), *,
                              base: BaseModelFiles | None = None, step: int = 100_000) -> CheckpointSizes:
    """Sizes of the files a run of `config` writes for architecture `spec`, from shapes alone.

    `base` (when it exists) only makes the paths pickled into the checkpoint's config exact.
    `step` sizes the pickled step number (a few bytes). With `use_size_cache`, estimates are kept
    on disk by a hash of all four inputs and the library versions that shape the file.
    """
    cache_file = _size_cache_file(spec, config, base, step) if _size_cache_dir else None
    cached = _read_cached_sizes(cache_file) if cache_file else None
    if cached is not None:
        return cached
    sizes = _estimate_on_meta(spec, config, base, step)
    if cache_file:
        try:
            write_json_atomic(cache_file, dataclasses.asdict(sizes))
        except OSError:
            pass  # a cache: a full disk only costs a recomputation
    return sizes


def _size_cache_file(spec: ArchitectureSpec, config: RunConfig, base: BaseModelFiles | None, step: int) -> Path:
    from importlib.metadata import version

    stamp = repr((1, version("coqui-tts"), version("torch"), spec, config, base, step))
    return _size_cache_dir / (hashlib.sha256(stamp.encode()).hexdigest()[:32] + ".json")


def _read_cached_sizes(path: Path) -> CheckpointSizes | None:
    data = read_json(path)
    try:
        data["breakdown"] = tuple((str(label), int(n)) for label, n in data["breakdown"])
        return CheckpointSizes(**data)
    except (TypeError, KeyError, ValueError):
        return None


def _estimate_on_meta(spec: ArchitectureSpec, config: RunConfig, base: BaseModelFiles | None,
                      step: int) -> CheckpointSizes:
    import torch
    from trainer.trainer_utils import get_scheduler

    with tempfile.TemporaryDirectory(prefix="diskplan-") as tmp:
        standin = _write_standins(Path(tmp), spec)
        gpt_config = _trainer_config(config, standin)
        model = _build_on_meta(gpt_config)
        optimizer = model.get_optimizer()
        scheduler = get_scheduler(gpt_config.lr_scheduler, gpt_config.lr_scheduler_params, optimizer)
    if base is not None:  # paths as the real run pickles them
        gpt_config.model_args.dvae_checkpoint = str(base.dvae_pth)
        gpt_config.model_args.mel_norm_file = str(base.mel_stats_pth)
        gpt_config.model_args.tokenizer_file = config.vocab_path or str(base.vocab_json)
        gpt_config.model_args.xtts_checkpoint = config.custom_model_path or str(base.model_pth or "")
    materialize = _Materializer()
    model_state = {k: materialize(v) for k, v in model.state_dict().items()}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for p in params:  # what AdamW's first step creates for every parameter that got a gradient
        optimizer.state[p] = {"step": torch.tensor(float(step)),
                              "exp_avg": materialize(torch.empty_like(p)),
                              "exp_avg_sq": materialize(torch.empty_like(p))}
    optimizer_state = optimizer.state_dict()
    opt_tensors = [t for s in optimizer_state["state"].values() for t in s.values()]
    common = {"config": gpt_config.to_dict(), "scheduler": [scheduler.state_dict()], "scaler": None,
              "step": step, "epoch": 1000, "date": "September 30, 2026"}  # widest date
    # Periodic checkpoints are written mid-epoch, before any eval: their eval_loss is None.
    checkpoint = {"config": common["config"], "model": model_state, "optimizer": [optimizer_state],
                  **{k: v for k, v in common.items() if k != "config"},
                  "model_loss": {"train_loss": 1.0, "eval_loss": None}}
    checkpoint_bytes = saved_file_bytes(checkpoint)
    best_bytes = saved_file_bytes({**checkpoint, "model_loss": {"train_loss": 1.0, "eval_loss": 1.0}})
    # optimize() keeps every key but "optimizer" and drops model keys mentioning "dvae".
    kept_model = {k: v for k, v in model_state.items() if "dvae" not in k}
    optimized = {k: v for k, v in checkpoint.items() if k not in ("optimizer", "model")}
    optimized["model"] = kept_model
    model_bytes = _unique_bytes(model_state.values())
    dvae_bytes = model_bytes - _unique_bytes(kept_model.values())
    opt_bytes = _unique_bytes(opt_tensors)
    groups = _group_bytes(model_state)
    return CheckpointSizes(
        checkpoint_bytes=checkpoint_bytes, best_copy_bytes=best_bytes, model_state_bytes=model_bytes,
        optimizer_state_bytes=opt_bytes, dvae_state_bytes=dvae_bytes,
        optimized_model_bytes=saved_file_bytes(optimized), trainable_params=sum(p.numel() for p in params),
        tensor_records=len(materialize.storages) + len(params),  # + one `step` tensor per parameter
        breakdown=(*groups, ("AdamW state (exp_avg, exp_avg_sq, step)", opt_bytes),
                   ("zip headers + pickled config and metadata", checkpoint_bytes - model_bytes - opt_bytes)))


def _trainer_config(config: RunConfig, standin: BaseModelFiles):
    # No start weights and the stand-in vocab: random init on meta reads nothing.
    run_config = config.with_changes(custom_model_path="", vocab_path="")
    return build_gpt_trainer_config(run_config, standin, f"{config.run_name}-planned")


def _group_bytes(model_state: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """Model state split the way docs/trainer-facts.md reports it: GPT, HiFi-GAN decoder, DVAE, the rest."""
    names = (("xtts.gpt.", "GPT weights"), ("xtts.hifigan_decoder.", "HiFi-GAN decoder weights"),
             ("dvae.", "DVAE weights"))
    out = []
    rest = dict(model_state)
    for prefix, label in names:
        part = {k: v for k, v in model_state.items() if k.startswith(prefix)}
        out.append((label, _unique_bytes(part.values())))
        for k in part:
            rest.pop(k)
    out.append(("mel front-ends and buffers", _unique_bytes(rest.values())))
    return tuple(out)
