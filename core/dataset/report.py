"""What a dataset check found: one `DatasetIssue` per problem, gathered in a `DatasetReport`.

The report is a plain value (frozen, JSON round-trip) so the check can cache it by file content and
a page can render it without knowing how it was made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# Bump when the checks change, so cached reports made by older code are not served.
REPORT_VERSION = 1


class Severity(StrEnum):
    ERROR = "error"  # training would fail on it, or silently train on something else
    WARNING = "warning"  # the trainer drops the clip, or it will likely hurt the voice
    INFO = "info"  # fine as it is; worth knowing (e.g. resampled on every load)


class IssueKind(StrEnum):
    AUDIO_MISSING = "audio_missing"
    AUDIO_EMPTY = "audio_empty"
    AUDIO_UNREADABLE = "audio_unreadable"
    SAMPLE_RATE = "sample_rate"
    CHANNELS = "channels"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    LEADING_SILENCE = "leading_silence"
    TRAILING_SILENCE = "trailing_silence"
    CLIPPING = "clipping"
    NEAR_SILENT = "near_silent"
    EMPTY_TEXT = "empty_text"
    QUOTE_SPANS_LINES = "quote_spans_lines"
    DUPLICATE_TEXT = "duplicate_text"
    DUPLICATE_AUDIO = "duplicate_audio"
    TOO_MANY_TOKENS = "too_many_tokens"
    TOO_MANY_CHARS = "too_many_chars"
    UNKNOWN_CHARS = "unknown_chars"
    RATE_OUTLIER = "rate_outlier"
    IN_OTHER_CSV = "in_other_csv"
    NO_CLIPS_KEPT = "no_clips_kept"


@dataclass(frozen=True)
class DatasetIssue:
    line_no: int | None  # line in the CSV (the header is line 1); None for the dataset as a whole
    audio_file: str  # as written in the CSV
    kind: IssueKind
    severity: Severity
    message: str  # what is wrong and what to do about it, in plain words


@dataclass(frozen=True)
class DatasetReport:
    csv_path: str
    clips: int  # data rows in the CSV
    kept_clips: int  # rows the trainer would actually train on after its own filters
    total_s: float  # audio that could be decoded, in seconds
    kept_s: float  # of which the trainer would keep
    per_speaker_s: dict[str, float]
    unknown_chars: dict[str, int]  # character -> occurrences the vocabulary cannot encode
    issues: tuple[DatasetIssue, ...]
    # One entry per decodable clip, aligned, for the plots.
    clip_line_nos: tuple[int, ...] = ()
    durations_s: tuple[float, ...] = ()
    chars_per_s: tuple[float, ...] = ()
    median_chars_per_s: float | None = None
    from_cache: bool = field(default=False, compare=False)

    @property
    def errors(self) -> tuple[DatasetIssue, ...]:
        return self._of(Severity.ERROR)

    @property
    def warnings(self) -> tuple[DatasetIssue, ...]:
        return self._of(Severity.WARNING)

    @property
    def infos(self) -> tuple[DatasetIssue, ...]:
        return self._of(Severity.INFO)

    def _of(self, severity: Severity) -> tuple[DatasetIssue, ...]:
        return tuple(i for i in self.issues if i.severity == severity)

    def issues_at(self, line_no: int) -> tuple[DatasetIssue, ...]:
        return tuple(i for i in self.issues if i.line_no == line_no)

    def to_json(self) -> dict:
        return {
            "version": REPORT_VERSION,
            "csv_path": self.csv_path,
            "clips": self.clips,
            "kept_clips": self.kept_clips,
            "total_s": self.total_s,
            "kept_s": self.kept_s,
            "per_speaker_s": dict(self.per_speaker_s),
            "unknown_chars": dict(self.unknown_chars),
            "issues": [[i.line_no, i.audio_file, i.kind.value, i.severity.value, i.message] for i in self.issues],
            "clip_line_nos": list(self.clip_line_nos),
            "durations_s": list(self.durations_s),
            "chars_per_s": list(self.chars_per_s),
            "median_chars_per_s": self.median_chars_per_s,
        }

    @classmethod
    def from_json(cls, data: dict) -> "DatasetReport":
        """The report `to_json` wrote; ValueError when it is from another version or malformed."""
        try:
            if data["version"] != REPORT_VERSION:
                raise ValueError(f"report version {data['version']}, expected {REPORT_VERSION}")
            issues = tuple(DatasetIssue(line, audio, IssueKind(kind), Severity(severity), message)
                           for line, audio, kind, severity, message in data["issues"])
            return cls(
                csv_path=str(data["csv_path"]), clips=int(data["clips"]), kept_clips=int(data["kept_clips"]),
                total_s=float(data["total_s"]), kept_s=float(data["kept_s"]),
                per_speaker_s={str(k): float(v) for k, v in data["per_speaker_s"].items()},
                unknown_chars={str(k): int(v) for k, v in data["unknown_chars"].items()},
                issues=issues,
                clip_line_nos=tuple(int(x) for x in data["clip_line_nos"]),
                durations_s=tuple(float(x) for x in data["durations_s"]),
                chars_per_s=tuple(float(x) for x in data["chars_per_s"]),
                median_chars_per_s=data["median_chars_per_s"],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed dataset report ({exc})") from None
