"""Where notifications live: `<workspace>/notify/`, the one place these file names are spelled.

    urls.json      the Apprise URLs (mode 0600: they carry tokens and passwords)
    history.jsonl  every event and every delivery attempt, appended (no secrets: channels are masked)
    .history.lock  flock held while the history is checked and appended to
    sender.log     the delivery processes' output (masked, redacted)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.base.workspace import Workspace

NOTIFY_DIR_NAME = "notify"


@dataclass(frozen=True)
class NotifyFiles:
    folder: Path

    @property
    def urls(self) -> Path:
        return self.folder / "urls.json"

    @property
    def history(self) -> Path:
        return self.folder / "history.jsonl"

    @property
    def lock(self) -> Path:
        return self.folder / ".history.lock"

    @property
    def sender_log(self) -> Path:
        return self.folder / "sender.log"

    def ensure(self) -> "NotifyFiles":
        # 0700: the history is not secret, but nobody else needs to list the folder that holds urls.json.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self


def notify_files(ws: Workspace) -> NotifyFiles:
    return NotifyFiles(ws.root / NOTIFY_DIR_NAME)


def notify_files_of_run(run_folder: Path) -> NotifyFiles:
    """The notify folder of the workspace a run folder (`<workspace>/runs/<run id>`) belongs to.

    The training process is handed only its run folder; the workspace is two levels up.
    """
    return NotifyFiles(Path(run_folder).resolve().parent.parent / NOTIFY_DIR_NAME)
