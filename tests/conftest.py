"""Shared fixtures: the app with its lifespan run, as the server would."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="session", autouse=True)
def own_runtime_dir(tmp_path_factory):
    """Each test process (one per pytest-xdist worker) keeps its embedded store in a folder
    of its own, unless a test names one: the default <tmp>/convlab-<uid> is shared by every
    process of this user, with one set of caps per network address."""
    before = os.environ.get("CONVLAB_RUNTIME_DIR")
    os.environ["CONVLAB_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    yield
    if before is None:
        os.environ.pop("CONVLAB_RUNTIME_DIR", None)
    else:
        os.environ["CONVLAB_RUNTIME_DIR"] = before


@pytest.fixture(scope="session")
def client():
    with TestClient(create_app()) as c:
        yield c
