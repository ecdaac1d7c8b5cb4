"""Uploaded files: the size limit for images, and reading an upload's bytes."""

from __future__ import annotations

from fastapi import UploadFile

from app.errors import ApiError, megabytes

UPLOAD_LIMIT = 10 * 1024 * 1024  # an uploaded image
#: The body limit of a route that takes one uploaded image (the multipart framing on top).
UPLOAD_BODY_LIMIT = UPLOAD_LIMIT + 64 * 1024


def read_upload(file: UploadFile, limit: int = UPLOAD_LIMIT) -> bytes:
    """The upload's bytes (the body limit already bounds them; this is a second guard)."""
    file.file.seek(0)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"The file is larger than {megabytes(limit)}.")
    return data
