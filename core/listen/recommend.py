"""One recommended checkpoint per run, from its eval-loss trend and its samples' scores, with the reason.

Eval loss measures how well the GPT predicts held-out audio tokens, not how the voice sounds, so
the scores decide when there are any, in this order:
1. A checkpoint whose samples have sanity problems (babbling, silence, clipping) is set aside
   while another scored one has none.
2. Intelligibility is a gate, not a goal: a checkpoint whose CER is more than CER_MARGIN above the
   best one's is set aside, however close its voice.
3. The highest mean speaker similarity wins; similarities within SIMILARITY_TIE of the best are a
   tie (a handful of samples cannot resolve less), broken by the lower CER (within CER_TIE, a tie
   again), then the lower eval loss, then the later step.
Without scores the lowest eval loss wins (ties: the later step), and the reason says the scores
are missing; with neither, the latest checkpoint. The trend clause says whether eval loss is still
falling or has risen past its lowest point (overfitting), whatever decided.
Pure Python over `CheckpointScores`: the page can call it on every rerun.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from core.listen.scores import CheckpointScores

SIMILARITY_TIE = 0.01
CER_TIE = 0.01  # one percentage point
CER_MARGIN = 0.05  # five points of CER above the best: words noticeably lost
LOSS_RISE = 0.02  # the last eval loss 2 % above the lowest: rising, not noise


class Basis(str, Enum):
    SCORES = "scores"  # speaker similarity and/or CER decided
    EVAL_LOSS = "eval_loss"  # no scores: the lowest eval loss
    LATEST = "latest"  # neither: the latest checkpoint


class Trend(str, Enum):
    FALLING = "falling"
    RISING = "rising"  # past its lowest point: overfitting
    FLAT = "flat"
    UNKNOWN = "unknown"  # fewer than two eval losses


@dataclass(frozen=True)
class LossTrend:
    trend: Trend
    best_step: int | None  # where eval loss was lowest
    best_eval_loss: float | None
    text: str  # the clause the reason carries


@dataclass(frozen=True)
class Recommendation:
    checkpoint: str
    step: int | None
    reason: str  # plain words, e.g. "step 1200: highest speaker similarity (0.83) with CER 4%; eval loss still falling"
    basis: Basis
    trend: LossTrend


def eval_loss_trend(checkpoints: Sequence[CheckpointScores]) -> LossTrend:
    """Whether eval loss, over the checkpoints' steps, is still falling or has turned up."""
    points = sorted((c.step or 0, c.eval_loss) for c in checkpoints if c.eval_loss is not None)
    if not points:
        return LossTrend(Trend.UNKNOWN, None, None, "no eval loss recorded")
    best_step, best_loss = min(points, key=lambda p: (p[1], p[0]))  # the first step to reach the lowest
    if len(points) == 1:
        return LossTrend(Trend.UNKNOWN, best_step, best_loss, "only one eval loss so far")
    (_, previous), (last_step, last) = points[-2], points[-1]
    if last_step > best_step and last > best_loss + abs(best_loss) * LOSS_RISE:
        return LossTrend(Trend.RISING, best_step, best_loss,
                         f"eval loss lowest at step {best_step} ({best_loss:.3f}) and rising since: overfitting")
    if last < previous:
        return LossTrend(Trend.FALLING, best_step, best_loss, "eval loss still falling")
    return LossTrend(Trend.FLAT, best_step, best_loss, "eval loss flat near its lowest")


def recommend_checkpoint(checkpoints: Sequence[CheckpointScores]) -> Recommendation | None:
    """The checkpoint to listen to first, and why; None for a run without checkpoints."""
    if not checkpoints:
        return None
    trend = eval_loss_trend(checkpoints)
    scored = [c for c in checkpoints if c.similarity is not None or c.cer is not None]
    if scored:
        return _by_scores(checkpoints, scored, trend)
    with_loss = [c for c in checkpoints if c.eval_loss is not None]
    if with_loss:
        chosen = min(with_loss, key=lambda c: (c.eval_loss, -_step(c)))
        clauses = [f"lowest eval loss ({chosen.eval_loss:.3f})",
                   "speaker similarity and CER are missing: score its samples to compare checkpoints by voice",
                   trend.text]
        return Recommendation(chosen.checkpoint, chosen.step, _reason(chosen, clauses), Basis.EVAL_LOSS, trend)
    chosen = max(checkpoints, key=_step)
    clauses = ["the latest checkpoint", "no eval loss and no scores to compare by"]
    return Recommendation(chosen.checkpoint, chosen.step, _reason(chosen, clauses), Basis.LATEST, trend)


def _by_scores(everything: Sequence[CheckpointScores], scored: list[CheckpointScores],
               trend: LossTrend) -> Recommendation:
    notes = []
    pool = scored
    sane = [c for c in pool if not c.sanity_flags]
    if sane and len(sane) < len(pool):
        notes.append("set aside for sanity problems: " + ", ".join(
            f"{_name(c)} ({c.sanity_flags[0]}{' ...' if len(c.sanity_flags) > 1 else ''})"
            for c in pool if c.sanity_flags))
        pool = sane

    use_similarity = any(c.similarity is not None for c in pool)
    if use_similarity and len({c.encoder_id for c in pool if c.similarity is not None}) > 1:
        use_similarity = False
        notes.append("speaker similarities come from different encoders and are not compared")
    use_cer = any(c.cer is not None for c in pool)

    if use_cer:
        best_cer = min(c.cer for c in pool if c.cer is not None)
        gated = [c for c in pool if c.cer is not None and c.cer <= best_cer + CER_MARGIN]
        if use_similarity:
            kept = {id(c) for c in gated}
            dropped = [c for c in pool if id(c) not in kept and c.similarity is not None]
            closest = max(dropped, key=lambda c: c.similarity, default=None)
            if closest is not None and closest.similarity > max(
                    (c.similarity for c in gated if c.similarity is not None), default=-2.0):
                cer_text = "not measured" if closest.cer is None else _percent(closest.cer)
                notes.append(f"{_name(closest)} sounds closer ({closest.similarity:.2f}) but its CER is {cer_text}")
        pool = gated

    clauses = []
    if use_similarity and any(c.similarity is not None for c in pool):
        pool = [c for c in pool if c.similarity is not None]
        best_similarity = max(c.similarity for c in pool)
        tied = [c for c in pool if c.similarity >= best_similarity - SIMILARITY_TIE]
        chosen, broke_by = _break_tie(tied, use_cer)
        if len(tied) == 1:
            clauses.append(f"highest speaker similarity ({chosen.similarity:.2f})" + _with_cer(chosen))
        else:
            others = ", ".join(f"{_name(c)} at {c.similarity:.2f}" for c in tied if c is not chosen)
            cer_text = "" if broke_by.startswith("the lowest CER") else _with_cer(chosen)
            clauses.append(f"speaker similarity {chosen.similarity:.2f}{cer_text} (tied with {others}) and {broke_by}")
    elif use_cer:
        best_cer = min(c.cer for c in pool)
        tied = [c for c in pool if c.cer <= best_cer + CER_TIE]
        chosen, broke_by = _break_tie(tied, use_cer=False)
        clauses.append(f"lowest CER ({_percent(chosen.cer)})" + (f", tied, and {broke_by}" if len(tied) > 1 else ""))
        if not any("encoders" in n for n in notes):
            clauses.append("speaker similarity not measured")
    else:  # only similarities, and those not comparable
        chosen, broke_by = _break_tie(pool, use_cer=False)
        clauses.append(broke_by.replace(" of those", "").removeprefix("the ") or "the only scored checkpoint")
    if chosen.cer is None and chosen.cer_unavailable:
        clauses.append(f"CER not measured ({chosen.cer_unavailable})")
    clauses.append(trend.text)
    scored_ids = {id(c) for c in scored}
    unscored = sorted((c for c in everything if id(c) not in scored_ids), key=_step)
    if unscored:
        notes.append("not scored yet: " + ", ".join(_name(c) for c in unscored))
    return Recommendation(chosen.checkpoint, chosen.step, _reason(chosen, clauses + notes), Basis.SCORES, trend)


def _break_tie(tied: list[CheckpointScores], use_cer: bool) -> tuple[CheckpointScores, str]:
    """The winner of a tie, and what decided it, in words."""
    if len(tied) == 1:
        return tied[0], ""
    if use_cer and any(c.cer is not None for c in tied):
        best_cer = min(c.cer for c in tied if c.cer is not None)
        by_cer = [c for c in tied if c.cer is not None and c.cer <= best_cer + CER_TIE]
        if len(by_cer) == 1:
            return by_cer[0], f"the lowest CER of those ({_percent(by_cer[0].cer)})"
        tied = by_cer
    with_loss = [c for c in tied if c.eval_loss is not None]
    if with_loss:
        lowest = min(c.eval_loss for c in with_loss)
        by_loss = [c for c in with_loss if c.eval_loss == lowest]
        chosen = max(by_loss, key=_step)
        if len(by_loss) == 1:
            return chosen, f"the lowest eval loss of those ({lowest:.3f})"
        return chosen, "the later step of those (equal eval loss)"
    return max(tied, key=_step), "the later step of those"


def _with_cer(c: CheckpointScores) -> str:
    return f" with CER {_percent(c.cer)}" if c.cer is not None else ""


def _percent(fraction: float) -> str:
    return f"{fraction:.1%}" if 0 < fraction < 0.01 else f"{fraction:.0%}"


def _step(c: CheckpointScores) -> int:
    return c.step if c.step is not None else -1


def _name(c: CheckpointScores) -> str:
    return f"step {c.step}" if c.step is not None else c.checkpoint


def _reason(chosen: CheckpointScores, clauses: list[str]) -> str:
    return f"{_name(chosen)}: " + "; ".join(clause for clause in clauses if clause)
