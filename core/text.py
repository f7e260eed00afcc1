"""Text helpers shared by log readers."""
import re

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove terminal colour and cursor codes (the trainer's log is coloured)."""
    return ANSI_ESCAPE.sub("", text)
