"""The one kind of error a domain service raises when it cannot do what was asked: a stable
machine-readable ``code``, a message fit for the person who asked, and optional ``details``. It
carries no HTTP status: ``web/errors.py`` maps codes to statuses, in one place. Each package may
name its own subclass (``DraftError``, ``CurationError``, …) so callers can catch what they expect."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """``retry_after``: seconds after which trying again may succeed (None: not a matter of time)."""

    def __init__(self, code: str, message: str, details: Any = None, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)
