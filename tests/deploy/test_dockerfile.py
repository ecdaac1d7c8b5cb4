"""The image carries every package the project installs (no container runtime needed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _copied(stage: str) -> set[str]:
    return set(re.findall(r"^COPY (?!--from)(\S+) \1$", stage, flags=re.M))


def test_both_stages_copy_every_top_level_package():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    tops = {p.split(".")[0] for p in packages}
    builder, final = (ROOT / "deploy" / "Dockerfile").read_text().split("\nFROM ", 2)[1:]
    assert tops <= _copied(builder), f"builder stage lacks {sorted(tops - _copied(builder))}"
    needed = tops | {"templates", "static", "models"}
    assert needed <= _copied(final), f"final stage lacks {sorted(needed - _copied(final))}"
