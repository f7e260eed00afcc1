"""The disk refusal reads as sentences: the numbers, then "To make it fit, ..." with the plan's fixes, then the override."""
from dataclasses import replace

from core.disk.plan import DiskInputs, plan_disk
from core.disk.preflight import DiskWontFit, fix_sentence
from core.disk.simulation import FileSizes, SaveSchedule


def test_fixes_become_one_sentence_with_a_single_or():
    assert fix_sentence(("or free 1.62 GB on that disk",)) == "To make it fit, free 1.62 GB on that disk."
    assert fix_sentence(("keep 1 checkpoint(s): save_n_checkpoints=1", "or free 1.62 GB on that disk")) == (
        "To make it fit, keep 1 checkpoint(s): save_n_checkpoints=1; or free 1.62 GB on that disk.")
    assert fix_sentence(()) == "To make it fit, free some space or choose another output path."


def test_the_refusal_of_a_plan_that_does_not_fit():
    gb = 10**9
    inputs = DiskInputs(SaveSchedule(steps_per_epoch=100, epochs=4, save_step=100, save_n_checkpoints=3),
                        FileSizes(checkpoint_bytes=gb, best_copy_bytes=gb // 2, unoptimized_bytes=gb // 2,
                                  optimized_bytes=gb // 4), output_path="/data/out", free_bytes=gb)
    plan = replace(plan_disk(inputs), free_path="/data")
    assert not plan.fits and plan.fixes[-1].startswith("or free ")  # the plan's own wording, unchanged
    message = str(DiskWontFit(plan))
    assert message.startswith(f"the run needs about {plan.total_bytes / gb:.2f} GB at its peak (step {plan.peak_step}) "
                              "but only 1.00 GB are free at /data. To make it fit, ")
    assert ": or" not in message and ("; or free " in message or "To make it fit, free " in message)
    assert message.endswith("Or start anyway with the disk override (\"Start even if the disk forecast says it will "
                            "not fit\" on the Train page, --disk-override in the CLI).")
