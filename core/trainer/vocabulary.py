"""Resizing the GPT's text embedding and text head to another vocabulary size.

A checkpoint trained with one vocab.json can start a run with a larger (extended) or smaller one;
the rows the new vocabulary adds or drops are handled here, on the state dict, before loading.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time torch is imported by the call: the UI process imports this module's error type
    import torch

from core.checkpoints.files import CheckpointError


class VocabShrinkError(CheckpointError):
    pass


@dataclass(frozen=True)
class VocabResizeReport:
    key_prefix: str  # "xtts.gpt." or "gpt."
    old_vocab_size: int
    new_vocab_size: int
    added_rows: int


def resize_text_vocab(
    state_dict: dict[str, torch.Tensor], new_vocab_size: int, *, generator: torch.Generator | None = None,
    new_rows: str = "mean",
) -> tuple[dict[str, torch.Tensor], VocabResizeReport]:
    """Resize the GPT text embedding and text head to new_vocab_size rows.

    `new_rows="mean"` starts every added token at the mean of the learned rows (an extended vocabulary
    for a new language: its tokens start where an average token is, not at random points far from any
    the model has seen, so the first steps do not chase noise); `"random"` is coqui's own choice.

    Growing mirrors coqui's GPTTrainer; shrinking (a checkpoint trained with a larger, extended
    vocabulary loaded with a smaller vocab.json) keeps the first rows and the start token's row.

    Mirrors the "num_new_tokens" block of TTS/tts/layers/xtts/trainer/gpt_trainer.py: new rows are
    random (bias rows zero) and the last row, the start-text token, is also copied to the new end,
    so the start token keeps its learned vector at the index the bigger tokenizer gives it.
    Returns a new dict; the input is not modified.
    """
    import torch

    prefix = next((p for p in ("xtts.gpt.", "gpt.") if f"{p}text_embedding.weight" in state_dict), None)
    if prefix is None:
        raise CheckpointError("The state dict has no gpt.text_embedding.weight.", "Pass an XTTS model state dict.")
    emb_key, head_w_key, head_b_key = (f"{prefix}{k}" for k in ("text_embedding.weight", "text_head.weight", "text_head.bias"))
    old = state_dict[emb_key].shape[0]
    report = VocabResizeReport(prefix, old, new_vocab_size, new_vocab_size - old)
    if new_vocab_size == old:
        return dict(state_dict), report
    if new_vocab_size < 2:
        raise VocabShrinkError(f"A text vocabulary of {new_vocab_size} tokens is too small.",
                               "Use the vocab.json the checkpoint was trained with.")
    if new_vocab_size < old:
        # The vocab.json in use has fewer tokens than the checkpoint (trained with an extended one):
        # drop the rows it cannot address, keeping the start token's row at the new end.
        def shrink(t: torch.Tensor) -> torch.Tensor:
            return torch.cat([t[: new_vocab_size - 1], t[-1:]], dim=0)

        out = dict(state_dict)
        for key in (emb_key, head_w_key, head_b_key):
            if key in state_dict:
                out[key] = shrink(state_dict[key])
        return out, report

    def grow(t: torch.Tensor, new_rows: torch.Tensor) -> torch.Tensor:
        # dtype follows the checkpoint (coqui's float32 randn would upcast a half-precision one).
        grown = torch.cat([t, new_rows.to(t.dtype)], dim=0)
        grown[-1] = t[-1]
        return grown

    if new_rows not in ("mean", "random"):
        raise ValueError(f"new_rows is {new_rows!r}; use 'mean' or 'random'")

    def added_rows(t: torch.Tensor) -> torch.Tensor:
        if new_rows == "random":
            return torch.randn(added, t.shape[1], generator=generator)
        return t.float().mean(dim=0, keepdim=True).expand(added, -1).clone()

    added = new_vocab_size - old
    out = dict(state_dict)
    emb, head_w = state_dict[emb_key], state_dict[head_w_key]
    out[emb_key] = grow(emb, added_rows(emb))
    out[head_w_key] = grow(head_w, added_rows(head_w))
    if head_b_key in state_dict:
        out[head_b_key] = grow(state_dict[head_b_key], torch.zeros(added))
    return out, report
