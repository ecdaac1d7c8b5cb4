"""The background precomputations of app/services/explain_data_jobs.py: once per key, 202
until done, bounded in bytes and in how many wait, a failure answered once."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from app.errors import ApiError
from app.services.explain_data_jobs import Computing, Jobs


def result(nbytes: int, value: str = "x"):
    return SimpleNamespace(nbytes=nbytes, value=value)


def test_a_key_is_computed_once_and_then_looked_up():
    jobs, calls = Jobs(), []

    def compute(p):
        calls.append(1)
        p.done = p.total
        return result(10)

    with pytest.raises(Computing) as first:
        jobs.get("k", compute, what="w", total=5)
    assert first.value.json()["status"] == "computing" and first.value.total == 5
    done = jobs.wait("k", compute, what="w", total=5, timeout=30)
    assert jobs.get("k", compute, what="w", total=5) is done and calls == [1]


def test_results_are_evicted_oldest_first_past_the_byte_bound():
    jobs = Jobs(max_bytes=100)
    for key in "abc":
        jobs.wait(key, lambda p, key=key: result(40, key), what="w", total=1, timeout=30)
    assert jobs.peek("a") is None and jobs.peek("b").value == "b" and jobs.held_bytes == 80


def test_a_failure_is_answered_once_then_computed_again():
    jobs, attempts = Jobs(), []

    def flaky(p):
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("no images")
        return result(1)

    with pytest.raises(ApiError) as failed:
        jobs.wait("k", flaky, what="Predicting", total=1, timeout=30)
    assert failed.value.status_code == 422 and "Predicting failed: no images" in failed.value.detail
    assert jobs.wait("k", flaky, what="Predicting", total=1, timeout=30).nbytes == 1


def test_too_many_waiting_precomputations_answer_503():
    jobs, gate = Jobs(max_queued=2), threading.Event()

    def slow(p):
        gate.wait(30)
        return result(1)

    for key in ("a", "b"):
        with pytest.raises(Computing):
            jobs.get(key, slow, what="w", total=1)
    with pytest.raises(ApiError) as busy:
        jobs.get("c", slow, what="w", total=1)
    assert busy.value.status_code == 503 and busy.value.headers == {"Retry-After": "10"}
    gate.set()
    assert jobs.wait("a", slow, what="w", total=1, timeout=30).nbytes == 1
