"""Starting weights for a run, with the text vocabulary resized when it differs from vocab.json.

A checkpoint trained with a G2P-extended vocabulary (as in the original Amharic system) has more
text-embedding rows than the stock vocab.json, and the stock XTTS v2 model fewer than an
extended one. Loading either would fail with a size mismatch; we resize the text embedding and
text head (as coqui's GPTTrainer does for `gpt_checkpoint`) and say so.
"""
from __future__ import annotations

from pathlib import Path

from core.base.errors import FieldError
from core.checkpoints.files import read_checkpoint_info
from core.trainer.vocabulary import resize_text_vocab


def tokenizer_size(vocab_json: Path) -> int:
    """Text tokens the model gets from this vocab.json (VoiceBpeTokenizer.get_number_tokens)."""
    from tokenizers import Tokenizer

    return max(Tokenizer.from_file(str(vocab_json)).get_vocab().values()) + 1


def needs_resize(checkpoint: Path, vocab_json: Path) -> tuple[int | None, int]:
    """(checkpoint's text vocabulary size or None when unknown, tokenizer size)."""
    return read_checkpoint_info(checkpoint).text_vocab_size, tokenizer_size(vocab_json)


def load_resized(model, checkpoint: Path) -> str:
    """Load `checkpoint` into a GPTTrainer's XTTS model, resizing the text vocabulary; return a report."""
    state = model.xtts.get_compatible_checkpoint_state_dict(str(checkpoint))
    want = model.xtts.gpt.text_embedding.weight.shape[0]
    state, report = resize_text_vocab(state, want)
    # strict=False as GPTTrainer itself loads xtts checkpoints (inference-only keys may be absent).
    model.xtts.load_state_dict(state, strict=False)
    verb = "grown" if report.added_rows > 0 else "shrunk"
    return (f"text vocabulary of {checkpoint.name} {verb} from {report.old_vocab_size} to "
            f"{report.new_vocab_size} tokens to match the vocab.json in use")


def start_vocab_errors(start: Path, vocab_json: Path, field: str) -> list[FieldError]:
    """A start checkpoint trained with a bigger vocabulary than the one chosen: say which one it needs.

    Loading it would drop the rows of the tokens the chosen vocab.json lacks (a new language's, for
    one), so it is refused; a smaller checkpoint is grown on load instead (an extension), which is fine.
    """
    info = read_checkpoint_info(start)
    if not info.is_complete or info.text_vocab_size is None:
        return []  # an unreadable start file is reported by its own check
    want = tokenizer_size(vocab_json)
    if info.text_vocab_size <= want:
        return []
    needed = f" ({info.tokenizer_file})" if info.tokenizer_file else ""
    return [FieldError("vocab_path", (
        f"{vocab_json.name} has {want} text tokens but {Path(start).name} was trained with {info.text_vocab_size}"
        f"{needed}: loading it would drop {info.text_vocab_size - want} token rows. Choose the vocab.json it was "
        f"trained with{needed and ' as the extended vocabulary'}"))]
