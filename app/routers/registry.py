"""``GET /api/registry``: the activations and layers the engine knows, from one table.

Pages build their menus, labels and formulas from this answer (engine/registry.py), so a
new activation appears everywhere without touching a template or a script.
"""

from __future__ import annotations

from fastapi import APIRouter

from engine import registry

router = APIRouter(prefix="/api/registry", tags=["registry"])


@router.get("")
def get_registry() -> dict:
    """Every activation (name, title, formula, derivative, ONNX op, output range, whether the
    lessons offer it) and every layer kind (title, formula, ONNX ops, parameter count)."""
    return registry.as_json()
