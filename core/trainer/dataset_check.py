"""The dataset check before a launch: errors refuse Start, warnings are shown beside it.

XTTS hides bad clips (it swaps a clip it cannot load or tokenise for another, and drops clips that
are too long), so a run on a broken dataset trains on less than the user thinks without failing.
The check (core.dataset.check, cached by file stamps) runs on the train and eval CSVs with the
run's own vocabulary, language and longest-clip setting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.base.config import validate_config
from core.dataset.check import check_dataset
from core.dataset.report import DatasetReport
from core.base.errors import ConfigInvalid, FieldError
from core.trainer.preflight import preflight

MAX_LISTED = 5  # a refusal names a few rows and counts the rest


@dataclass(frozen=True)
class DatasetVerdict:
    reports: dict[str, DatasetReport] = field(default_factory=dict)  # "train_csv" / "eval_csv" -> report

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(name, _listed(report, "errors")) for name, report in self.reports.items() if report.errors]

    @property
    def warnings(self) -> list[str]:
        return [f"{Path(report.csv_path).name}: {len(report.warnings)} warnings, "
                f"the trainer keeps {report.kept_clips} of {report.clips} clips"
                for report in self.reports.values() if report.warnings]


def check_run_datasets(checked, cache_dir: Path | None) -> DatasetVerdict:
    """Check a preflighted run's datasets (`checked` is a core.trainer.preflight.PreflightResult)."""
    config = checked.config
    vocab = config.vocab_path or str(checked.base.vocab_json)
    reports = {}
    for name in ("train_csv", "eval_csv"):
        path = getattr(config, name)
        reports[name] = check_dataset(path, vocab_path=vocab, language=config.language,
                                      max_audio_length_s=config.max_audio_length_s, cache_dir=cache_dir,
                                      romanize=config.romanize)
    return DatasetVerdict(reports)


def refuse_on_dataset_errors(verdict: DatasetVerdict) -> None:
    """ConfigInvalid listing the rows to fix, when the check found errors."""
    if verdict.errors:
        raise ConfigInvalid(verdict.errors)


def _listed(report: DatasetReport, which: str) -> str:
    issues = getattr(report, which)
    named = "; ".join(f"line {i.line_no}: {i.message}" if i.line_no else i.message for i in issues[:MAX_LISTED])
    more = f"; and {len(issues) - MAX_LISTED} more" if len(issues) > MAX_LISTED else ""
    return (f"{Path(report.csv_path).name} has {len(issues)} rows the trainer cannot use ({named}{more}). "
            "Fix or exclude them on the Dataset page (Check and fix), or start anyway with the dataset override")


def check_form_datasets(raw: dict, cache_dir: Path | None) -> DatasetVerdict:
    """The dataset check of the Train form's values (validated and preflighted first, as Start does)."""
    return check_run_datasets(preflight(validate_config(dict(raw))), cache_dir)
