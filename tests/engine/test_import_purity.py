"""The engine is pure NumPy: importing it must not pull in the web stack, ONNX or torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("fastapi", "pydantic", "jinja2", "starlette", "onnx", "onnxruntime", "torch")
ENGINE_MODULES = ("activations", "conv", "dense", "pool", "reference", "shapes")

PROBE = f"""
import importlib, sys
import engine
for name in {ENGINE_MODULES!r}:
    importlib.import_module("engine." + name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
print(",".join(loaded))
"""


def test_importing_engine_loads_no_web_onnx_or_torch_modules():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"engine imported: {result.stdout.strip()}"


def test_the_probe_would_notice_a_forbidden_import():
    # the same probe, with numpy standing in for a forbidden package, must see it
    probe = PROBE.replace(repr(FORBIDDEN), repr(("numpy",)))
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "numpy" in result.stdout.split(",")
