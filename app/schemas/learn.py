"""Request bodies of /api/learn: a run's options are built from course.learn's OPTIONS table,
so the bounds, choices and help in /docs are the ones the engine checks."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, create_model

from app.schemas import Strict
from app.schemas.choices import OneOf
from course.learn.recipes import OPTIONS

__all__ = ["MAX_STEPS_PER_CALL", "RunOptions", "StepRequest"]

#: Training steps one ``POST .../steps`` may ask for (the time budget stops it sooner).
MAX_STEPS_PER_CALL = 1000


def _field(name: str, spec: dict[str, Any]) -> tuple[Any, Any]:
    help_ = f"{spec['help']} (default: {spec['default']!r}" + (
        ", or the recipe's own)" if name != "recipe" else ")")
    if spec["kind"] == "choice":
        return Annotated[str, OneOf(spec["choices"])] | None, Field(None, description=help_)
    if spec["kind"] == "bool":
        return bool | None, Field(None, description=help_)
    if spec["kind"] == "int":
        return int | None, Field(None, ge=spec["min"], le=spec["max"], description=help_)
    return float | None, Field(None, ge=spec["min"], le=spec["max"], description=help_,
                               allow_inf_nan=False)


#: ``POST /api/learn/runs``: every option of course.learn.recipes.OPTIONS, all optional
#: (left out or null: the recipe's default, then the general default).
RunOptions = create_model(  # type: ignore[call-overload]
    "RunOptions", __base__=Strict,
    **{name: _field(name, spec) for name, spec in OPTIONS.items()})


class StepRequest(Strict):
    """``POST /api/learn/runs/{run}/steps``."""

    steps: int = Field(50, ge=1, le=MAX_STEPS_PER_CALL,
                       description="training steps wanted; the call stops after about a second")
    view: bool = Field(False, description="include what the page draws (as GET .../view)")
    since: int = Field(-1, ge=-1, le=10**9,
                       description="curve points with step > since (-1: no curves)")
