"""Errors a user can cause and fix: one clear sentence each, never a traceback.

The CLI and the Blender add-on catch `NormalgenError` and print `str(err)`; anything else that
escapes is a bug in normalgen.
"""

from __future__ import annotations


class NormalgenError(Exception):
    """Base of every user-caused error; str() is one sentence that says what to fix."""


class ModelError(NormalgenError):
    """The model file is missing, unreadable or not a normalgen .keras file."""


class ImageError(NormalgenError):
    """An input image is unreadable, empty or too large."""


class OutputError(NormalgenError):
    """An output file cannot be written (bad folder, format or permissions)."""


def one_clause(e: BaseException, limit: int = 200) -> str:
    """An exception as one short clause: whitespace folded, cut at `limit` characters (some
    library errors embed whole arrays in their message)."""
    text = " ".join(str(getattr(e, "strerror", None) or str(e) or type(e).__name__).split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"
