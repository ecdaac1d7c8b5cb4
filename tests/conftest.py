"""Shared fixtures: the app with its lifespan run, as the server would."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="session")
def client():
    with TestClient(create_app()) as c:
        yield c
