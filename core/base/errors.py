"""Errors a user can fix: each names the field and says what is allowed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigInvalid(ValueError):
    """One or more settings are invalid; nothing was launched or written."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def __reduce__(self):  # rebuilt from its errors when it crosses a process line (core.offload)
        return type(self), (self.errors,)


class LaunchRefused(RuntimeError):
    """A run could not be started (another run holds the output path, disk, ...)."""
