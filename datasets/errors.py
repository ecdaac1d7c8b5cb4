"""The one error the readers raise."""

from __future__ import annotations


class DataError(RuntimeError):
    """A data directory or file is missing or malformed (the message says which and why)."""
