"""app/config.py holds only settings something reads (issue 15: three were never read
while the real limits were constants elsewhere)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from app.config import Settings

APP = Path(__file__).resolve().parents[2] / "app"


def _attributes_read() -> set[str]:
    names: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names.add(node.attr)
    return names


def test_every_setting_is_read_somewhere():
    read = _attributes_read()
    unread = [f.name for f in dataclasses.fields(Settings) if f.name not in read]
    assert unread == [], f"settings nothing reads: {unread}"


def test_the_json_body_limit_is_read_from_settings():
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(Settings(json_body_limit=1000))) as c:
        r = c.post("/api/softmax", json={"scores": [1.0] * 300})
        assert r.status_code == 413, r.text
        assert "at most 1 kB" in r.json()["detail"]
        assert c.post("/api/softmax", json={"scores": [1.0, 2.0]}).status_code == 200
