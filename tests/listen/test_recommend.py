"""The recommended checkpoint and its reason, on crafted per-checkpoint scores."""
from __future__ import annotations

from core.listen.recommend import Basis, Trend, eval_loss_trend, recommend_checkpoint
from core.listen.scores import CheckpointScores

NO_WHISPER = "no Whisper model: put one in /ws/models/whisper/small (see the Dataset page)"


def ckpt(step, eval_loss=None, similarity=None, cer=None, flags=(), **extra) -> CheckpointScores:
    return CheckpointScores(f"checkpoint_{step}.pth", step, eval_loss, similarity, cer, tuple(flags), **extra)


def test_highest_similarity_wins_and_the_reason_names_its_numbers():
    run = [ckpt(400, 2.5, 0.70, 0.10), ckpt(800, 2.3, 0.78, 0.06), ckpt(1200, 2.2, 0.83, 0.04)]
    chosen = recommend_checkpoint(run)
    assert (chosen.checkpoint, chosen.step, chosen.basis) == ("checkpoint_1200.pth", 1200, Basis.SCORES)
    assert chosen.reason == "step 1200: highest speaker similarity (0.83) with CER 4%; eval loss still falling"


def test_eval_loss_rising_late_is_called_overfitting_and_scores_still_decide():
    run = [ckpt(400, 2.40, 0.72, 0.05), ckpt(800, 2.10, 0.80, 0.04), ckpt(1200, 2.30, 0.79, 0.05),
           ckpt(1600, 2.60, 0.76, 0.08)]
    trend = eval_loss_trend(run)
    assert (trend.trend, trend.best_step, trend.best_eval_loss) == (Trend.RISING, 800, 2.10)
    chosen = recommend_checkpoint(run)
    # 0.80 and 0.79 tie; CER 4% vs 5% ties too (within one point): the lower eval loss breaks it.
    assert chosen.step == 800
    assert "rising since: overfitting" in chosen.reason
    assert "tied with step 1200 at 0.79" in chosen.reason
    assert "the lowest eval loss of those (2.100)" in chosen.reason


def test_overfitting_with_loss_only_picks_the_lowest_point_not_the_last():
    run = [ckpt(200, 3.0), ckpt(400, 2.5), ckpt(600, 2.6), ckpt(800, 2.9)]
    chosen = recommend_checkpoint(run)
    assert (chosen.step, chosen.basis) == (400, Basis.EVAL_LOSS)
    assert chosen.reason == ("step 400: lowest eval loss (2.500); speaker similarity and CER are missing: score its "
                             "samples to compare checkpoints by voice; eval loss lowest at step 400 (2.500) and "
                             "rising since: overfitting")


def test_a_checkpoint_that_loses_words_is_not_recommended_for_its_voice():
    run = [ckpt(1200, 2.2, 0.83, 0.04), ckpt(1600, 2.1, 0.88, 0.31)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 1200
    assert "step 1600 sounds closer (0.88) but its CER is 31%" in chosen.reason


def test_similarity_ties_are_broken_by_cer():
    run = [ckpt(100, 2.0, 0.800, 0.02), ckpt(200, 1.9, 0.805, 0.05)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 100
    assert chosen.reason.startswith("step 100: speaker similarity 0.80 (tied with step 200 at 0.81) and the "
                                    "lowest CER of those (2%)")


def test_a_full_tie_goes_to_the_later_step():
    run = [ckpt(100, 2.0, 0.80, 0.05), ckpt(200, 2.0, 0.80, 0.05), ckpt(300, None, 0.80, 0.05)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 200  # step 300 has no eval loss: equal scores, the known lower loss wins first
    assert "the later step of those (equal eval loss)" in chosen.reason
    assert recommend_checkpoint([ckpt(100, similarity=0.8), ckpt(200, similarity=0.8)]).step == 200


def test_loss_ties_go_to_the_later_step():
    assert recommend_checkpoint([ckpt(100, 2.0), ckpt(200, 2.0)]).step == 200


def test_sanity_problems_set_a_checkpoint_aside_while_a_sane_one_is_scored():
    run = [ckpt(100, 2.0, 0.90, 0.02, ["sentence 1: 70% silence", "sentence 3: 2.4x slower than the dataset"]),
           ckpt(200, 1.9, 0.76, 0.03)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 200
    assert "set aside for sanity problems: step 100 (sentence 1: 70% silence ...)" in chosen.reason
    # When every scored checkpoint has problems, they are compared anyway.
    flagged = [ckpt(100, 2.0, 0.90, 0.02, ["sentence 1: 70% silence"]), ckpt(200, 1.9, 0.76, 0.03, ["x"])]
    assert recommend_checkpoint(flagged).step == 100


def test_no_whisper_model_compares_by_similarity_and_says_so():
    run = [ckpt(100, 2.0, 0.80, cer_unavailable=NO_WHISPER), ckpt(200, 1.9, 0.76, cer_unavailable=NO_WHISPER)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 100
    assert chosen.reason == (f"step 100: highest speaker similarity (0.80); CER not measured ({NO_WHISPER}); "
                             "eval loss still falling")


def test_cer_alone_decides_without_similarity():
    chosen = recommend_checkpoint([ckpt(100, 2.0, cer=0.10), ckpt(200, 2.1, cer=0.03)])
    assert chosen.step == 200
    assert chosen.reason.startswith("step 200: lowest CER (3%); speaker similarity not measured")


def test_unscored_checkpoints_are_named_and_scores_still_decide():
    run = [ckpt(100, 2.0, 0.70, 0.05), ckpt(200, 1.5), ckpt(300, 1.4)]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 100
    assert chosen.reason.endswith("not scored yet: step 200, step 300")


def test_similarities_from_different_encoders_are_not_compared():
    run = [ckpt(100, 2.0, 0.95, 0.05, encoder_id="spectral-mfcc-v1"), ckpt(200, 1.9, 0.60, 0.05, encoder_id="xtts-a")]
    chosen = recommend_checkpoint(run)
    assert chosen.step == 200  # CER tie, then the lower eval loss
    assert "different encoders" in chosen.reason


def test_missing_everything():
    assert recommend_checkpoint([]) is None
    chosen = recommend_checkpoint([ckpt(100), ckpt(300), ckpt(200)])
    assert (chosen.step, chosen.basis) == (300, Basis.LATEST)
    assert chosen.reason == "step 300: the latest checkpoint; no eval loss and no scores to compare by"
    named = recommend_checkpoint([CheckpointScores("best_model.pth", None)])
    assert named.reason.startswith("best_model.pth: the latest checkpoint")


def test_eval_loss_trends():
    assert eval_loss_trend([]).trend is Trend.UNKNOWN
    assert eval_loss_trend([ckpt(100, 2.0)]).text == "only one eval loss so far"
    assert eval_loss_trend([ckpt(100, 2.0), ckpt(200, 1.8)]).trend is Trend.FALLING
    # Up by less than 2% of the lowest: noise, not overfitting.
    assert eval_loss_trend([ckpt(100, 2.0), ckpt(200, 1.8), ckpt(300, 1.81)]).trend is Trend.FLAT
    assert eval_loss_trend([ckpt(300, 1.9), ckpt(100, 2.0), ckpt(200, 1.8)]).trend is Trend.RISING  # any order in
