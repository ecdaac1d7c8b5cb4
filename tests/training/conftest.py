"""Fixtures for the training tests; the synthetic data writers live in tests/datasets/kit.py.

``make test-train`` sets ``CONVLAB_TRAIN_STRICT=1``: then PyTorch, onnx and
onnxruntime must import (a missing one is a collection error, not a skipped module)
and any test that skips fails instead, so CI cannot pass by skipping the training tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.datasets.kit import write_mnist

STRICT = os.environ.get("CONVLAB_TRAIN_STRICT") == "1"

if STRICT:
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under make test-train (CONVLAB_TRAIN_STRICT=1): {reason}"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def mnist_dir(tmp_path, cache) -> Path:
    root = tmp_path / "data"
    write_mnist(root / "mnist", gz=True)
    return root
