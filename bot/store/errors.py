"""Store errors: one short sentence a handler can show, never a URL or a password."""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked; `message` is short and safe to show in Slack."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreUnavailable(StoreError):
    """The database cannot be reached (connection refused, lost, or file not openable)."""
