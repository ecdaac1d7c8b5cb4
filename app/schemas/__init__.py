"""Request bodies: the one :class:`Strict` base, and per-area request models as they move here.

Every JSON body the API reads is a :class:`Strict` model: unknown fields are refused (422)
and no value is coerced from another type.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    """Extra fields forbidden, no type coercion (``"3"`` is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)
