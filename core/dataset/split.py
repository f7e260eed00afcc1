"""The eval split: deterministic (a hash of each clip's name, not a random draw) and speaker-aware."""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from typing import Sequence, TypeVar

Row = TypeVar("Row")
DEFAULT_EVAL_SHARE = 0.1


def split_rows(rows: Sequence[Row], *, key, speaker, eval_share: float = DEFAULT_EVAL_SHARE) -> tuple[list[Row], list[Row]]:
    """(train, eval): about `eval_share` of each speaker's clips, at least one per speaker with two or more.

    The same rows always give the same split, whatever their order, so re-making a dataset does
    not move clips between train and eval.
    """
    if not 0.0 < eval_share < 0.5:
        raise ValueError(f"the eval share must be between 0 and 50% (got {eval_share:.0%})")
    by_speaker: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_speaker[speaker(row)].append(row)
    chosen: set[int] = set()
    for members in by_speaker.values():
        if len(members) < 2:
            continue
        count = max(1, math.floor(len(members) * eval_share + 0.5))
        ordered = sorted(members, key=lambda r: hashlib.sha256(key(r).encode()).hexdigest())
        chosen.update(id(r) for r in ordered[:count])
    train = [r for r in rows if id(r) not in chosen]
    evaluation = [r for r in rows if id(r) in chosen]
    return train, evaluation
