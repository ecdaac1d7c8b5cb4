"""Request fields whose allowed values come from a table (the registry), not a ``Literal``.

``Annotated[str, OneOf(names)]`` validates exactly like ``Literal[*names]`` (the same
strictness, the same ``literal_error`` message listing the choices) and shows the choices
in /docs as an ``enum``, but its names are read from a table at import time, so a new
activation in :mod:`engine.registry` is accepted everywhere without editing a schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from engine import registry

__all__ = ["ActivationName", "OneOf"]


class OneOf:
    """Pydantic metadata: the value must be one of ``names`` (compared as ``Literal`` does)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        if not self.names:
            raise ValueError("OneOf needs at least one name")

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.literal_schema(list(self.names))

    def __repr__(self) -> str:
        return f"OneOf({self.names!r})"


#: An activation the course's menus offer (``lesson`` entries of :mod:`engine.registry`).
ActivationName = Annotated[str, OneOf(registry.names(lesson_only=True))]
